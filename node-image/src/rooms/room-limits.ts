/**
 * Every bound of the rooms layer in one place, and the token buckets that
 * enforce the rate limits. Buckets are kept in LruMaps: their keys (authors,
 * replicas) come from peers.
 */
import { LruMap } from '../p2p/lru-map.ts'

export const ROOM_LIMITS = {
  /** one signed record as JSON */
  maxRecordBytes: 24 * 1024,
  /** UTF-8 bytes of a message's text */
  maxTextBytes: 16 * 1024,
  maxFiles: 8,
  maxNick: 64,
  maxFileName: 255,
  /** a record stamped further ahead of local time is refused as `future` (anti-entropy retries it later) */
  futureSkewMs: 60_000,
  /** received this much after it was stamped: shown as "arrived late" */
  lateAfterMs: 60_000,
  /** one author's share of a room's retained messages */
  authorShare: 0.2,
  /** page -> node: messages per second and burst, per node */
  postRate: { perSecond: 5, burst: 20 },
  /** live gossip: messages per second and burst, per author replica */
  gossipRate: { perSecond: 10, burst: 50 },
  /** typing notices: one per this many ms per node */
  typingGapMs: 3000,
  /** rooms this node tracks at once (the network room plus DMs) */
  maxRooms: 1024,
  /** DM rooms an unknown peer may open per hour */
  newDmRoomsPerHour: 64,
  /** buckets remembered per limiter */
  maxBuckets: 4096,
  /** own nonces remembered per room for idempotent posts */
  maxNonces: 10_000,
  /** messages per page of GET /messages */
  maxPage: 200
} as const

export interface RateInit {
  perSecond: number
  burst: number
}

/** Token buckets per key; `take` answers how long to wait when a key is over its rate. */
export class RateLimiter {
  private readonly init: RateInit
  private readonly now: () => number
  private readonly buckets: LruMap<string, { tokens: number, at: number }>

  constructor (init: RateInit, opts: { now?: () => number, maxKeys?: number } = {}) {
    this.init = init
    this.now = opts.now ?? Date.now
    this.buckets = new LruMap(opts.maxKeys ?? ROOM_LIMITS.maxBuckets)
  }

  /** Takes one token for `key`: 0 when allowed, otherwise the milliseconds until one is free. */
  take (key: string): number {
    const now = this.now()
    const prev = this.buckets.get(key)
    const refilled = prev === undefined ? this.init.burst : Math.min(this.init.burst, prev.tokens + (now - prev.at) * this.init.perSecond / 1000)
    if (refilled >= 1) {
      this.buckets.set(key, { tokens: refilled - 1, at: now })
      return 0
    }
    this.buckets.set(key, { tokens: refilled, at: now })
    return Math.ceil((1 - refilled) * 1000 / this.init.perSecond)
  }
}
