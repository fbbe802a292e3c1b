import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { LruMap } from './lru-map.ts'

export interface DenyListInit {
  /** How long a refused peer stays refused. */
  denyMs?: number
  /** Peers remembered at once; the oldest refusal is forgotten first. */
  maxEntries?: number
}

/**
 * Peers refused for a while: an invalid certificate or a membership handshake
 * that timed out. Bounded, because a PSK holder can mint peer ids at will.
 */
export class DenyList {
  /** Connections and dials refused because the peer was denied. */
  refused = 0
  private readonly denyMs: number
  private readonly until: LruMap<string, number>

  constructor (init: DenyListInit = {}) {
    this.denyMs = init.denyMs ?? 60_000
    this.until = new LruMap(init.maxEntries ?? 4096)
  }

  deny (peer: string, ms: number = this.denyMs): void {
    this.until.set(peer, Date.now() + ms)
  }

  isDenied (peer: string): boolean {
    const until = this.until.get(peer)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.until.delete(peer)
    return false
  }

  get size (): number {
    return this.until.size
  }

  /** Refuses denied peers before any stream is opened, in both directions. */
  gater (): ConnectionGater {
    const denied = (peer: PeerId): boolean => {
      if (!this.isDenied(peer.toString())) return false
      this.refused++
      return true
    }
    return {
      denyDialPeer: denied,
      denyInboundEncryptedConnection: denied,
      denyOutboundEncryptedConnection: denied,
      // Pods talk over private addresses; libp2p must be allowed to dial them.
      denyDialMultiaddr: () => false
    }
  }
}
