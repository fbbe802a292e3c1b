/**
 * How anti-entropy is going, for /readyz, metrics and logs. One failed round
 * never makes a node unready: only when every verified peer has failed its
 * last FAILED_ROUNDS_BEFORE_NOT_READY rounds with us does the node stop
 * claiming it is ready, because then its registry may be stale for good.
 */
import { LruMap } from '../p2p/lru-map.ts'
import type { SyncFailureReason } from './sync-wire.ts'

export const FAILED_ROUNDS_BEFORE_NOT_READY = 3
/** At most one warning per this interval; the rest are counted and go to debug. */
const WARN_INTERVAL_MS = 60_000

export interface SyncFailure {
  peer: string
  reason: SyncFailureReason
  message: string
  at: string
}

export interface RegistrySyncStatus {
  /** ISO time of the last round that completed with any peer */
  lastSuccessAt?: string
  /** rounds failed since the last success, with any peer */
  consecutiveFailures: number
  /** verified peers whose last FAILED_ROUNDS_BEFORE_NOT_READY rounds all failed */
  failingPeers: number
  lastError?: SyncFailure
}

export interface SyncHealthInit {
  now?: () => number
  /** Peers remembered (they come and go; the map must stay bounded). */
  maxPeers?: number
}

export class SyncHealth {
  private readonly now: () => number
  private readonly failuresByPeer: LruMap<string, number>
  private consecutive = 0
  private lastSuccess?: number
  private lastError?: SyncFailure
  private lastWarn = -Infinity
  private suppressed = 0

  constructor (init: SyncHealthInit = {}) {
    this.now = init.now ?? Date.now
    this.failuresByPeer = new LruMap(init.maxPeers ?? 1024)
  }

  succeeded (peer: string): void {
    this.consecutive = 0
    this.lastSuccess = this.now()
    this.failuresByPeer.set(peer, 0)
  }

  /** Records a failed round. */
  failed (peer: string, reason: SyncFailureReason, message: string): void {
    this.consecutive++
    this.failuresByPeer.set(peer, (this.failuresByPeer.get(peer) ?? 0) + 1)
    this.lastError = { peer, reason, message, at: new Date(this.now()).toISOString() }
  }

  /** Whether a problem may be logged at warn now (one per minute), and how many were held back since. */
  warnAllowed (): { warn: boolean, suppressed: number } {
    const now = this.now()
    if (now - this.lastWarn < WARN_INTERVAL_MS) {
      this.suppressed++
      return { warn: false, suppressed: this.suppressed }
    }
    const suppressed = this.suppressed
    this.lastWarn = now
    this.suppressed = 0
    return { warn: true, suppressed }
  }

  get consecutiveFailures (): number {
    return this.consecutive
  }

  status (verifiedPeers: readonly string[]): RegistrySyncStatus {
    return {
      ...(this.lastSuccess === undefined ? {} : { lastSuccessAt: new Date(this.lastSuccess).toISOString() }),
      consecutiveFailures: this.consecutive,
      failingPeers: verifiedPeers.filter(p => this.isFailing(p)).length,
      ...(this.lastError === undefined ? {} : { lastError: this.lastError })
    }
  }

  /** Unhealthy only when peers exist and sync has failed with every one of them for several rounds. */
  healthy (verifiedPeers: readonly string[]): boolean {
    return verifiedPeers.length === 0 || !verifiedPeers.every(p => this.isFailing(p))
  }

  private isFailing (peer: string): boolean {
    return (this.failuresByPeer.get(peer) ?? 0) >= FAILED_ROUNDS_BEFORE_NOT_READY
  }
}
