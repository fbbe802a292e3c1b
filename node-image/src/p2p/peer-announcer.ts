import Type from 'typebox'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { GossipChannel } from './gossip-channel.ts'
import type { OpenedEnvelope } from './envelope.ts'
import { compileParser } from '../validation/schema-error.ts'
import { meshPeriodMs } from '../timing/mesh-period.ts'
import { LruMap } from './lru-map.ts'

/** The mesh size estimate counts at most this many members. */
const MAX_MEMBERS_HEARD = 10_000

export const PeerAnnouncement = Type.Object({
  addrs: Type.Array(Type.String({ minLength: 3, maxLength: 1024, pattern: '^/' }), { maxItems: 32 })
}, { additionalProperties: false })

const parseAnnouncement = compileParser(PeerAnnouncement, 'peer announcement')

export interface PeerAnnouncerInit {
  /** Dial announced peers only while below this many connections. */
  targetPeers: number
  /** Shortest time between two announcements of this node (a join's second one aside). */
  intervalMs?: number
  /**
   * The periodic announcement waits this long per member (at least intervalMs),
   * so a mesh of N nodes sends about one announcement per perPeerMs in all, not N per intervalMs.
   */
  perPeerMs?: number
  /** After the first announcement, a second one this much later, in case gossipsub had not grafted us yet. */
  joinRepeatMs?: number
  /** Coalescing delay of announceSoon(). */
  coalesceMs?: number
  /** How long one dial may take (see BootstrapperInit.dialTimeoutMs). */
  dialTimeoutMs?: number
}

/**
 * Gossip announcements: a member says where it listens when it joins (its first
 * verified peer), once more shortly after, and then periodically; members below
 * their peer target dial it. With bootstrap this gives a full mesh for fleet-sized
 * networks without waiting on DHT walks.
 *
 * Every announcement reaches every member, so the cost is announcements x members.
 * A member therefore does not re-announce for every peer that joins (that made a
 * mesh's start cubic in its size: 100 joins x 100 announcers x 100 receivers), only
 * after intervalMs has passed, and its period grows with the mesh (timing/mesh-period.ts).
 */
export class PeerAnnouncer {
  private readonly components: { libp2p: Pick<Libp2p, 'dial' | 'getConnections' | 'getMultiaddrs' | 'peerStore'>, channel: () => GossipChannel }
  private readonly init: Required<PeerAnnouncerInit>
  private timer?: NodeJS.Timeout
  private pending?: NodeJS.Timeout
  private running = false
  /** Announcements sent, and when the last one was. */
  sent = 0
  private lastAt = -Infinity
  /** Members whose announcements arrived (only signed, certified ones reach handle()); bounded. */
  private readonly heardFrom = new LruMap<string, true>(MAX_MEMBERS_HEARD)

  constructor (components: PeerAnnouncer['components'], init: PeerAnnouncerInit) {
    this.components = components
    this.init = { intervalMs: 15_000, perPeerMs: 1000, joinRepeatMs: 3000, coalesceMs: 200, dialTimeoutMs: 10_000, ...init }
  }

  start (): void {
    this.running = true
    this.schedule(this.init.intervalMs)
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
    clearTimeout(this.pending)
  }

  /**
   * A peer was verified: announce soon if this node has not announced for intervalMs
   * (a node that just joined always has not). Bursts coalesce into one announcement.
   */
  announceSoon (): void {
    if (!this.running || this.pending !== undefined) return
    if (performance.now() - this.lastAt < this.init.intervalMs) return
    this.pending = setTimeout(() => {
      this.pending = undefined
      this.announce()
    }, this.init.coalesceMs)
    this.pending.unref()
  }

  /**
   * Members this node knows of: every member announces, so those heard from (plus
   * this node), or its connections if more. In a partial mesh connections undercount.
   */
  meshSize (): number {
    return Math.max(this.components.libp2p.getConnections().length, this.heardFrom.size + 1)
  }

  /** The wait before the next periodic announcement: the period for a mesh of this size, jittered by +-25 %. */
  periodMs (): number {
    return meshPeriodMs(this.meshSize(), { minMs: this.init.intervalMs, perNodeMs: this.init.perPeerMs })
  }

  private schedule (ms: number): void {
    clearTimeout(this.timer)
    if (!this.running) return
    this.timer = setTimeout(() => { this.announce() }, ms)
    this.timer.unref()
  }

  private announce (): void {
    if (!this.running) return
    const addrs = this.components.libp2p.getMultiaddrs().map(a => a.toString()).slice(0, 32)
    if (addrs.length > 0 && this.components.libp2p.getConnections().length > 0) {
      this.sent++
      this.lastAt = performance.now()
      void this.components.channel().publish(new TextEncoder().encode(JSON.stringify({ addrs })))
    }
    this.schedule(this.sent === 1 ? this.init.joinRepeatMs : this.periodMs())
  }

  /** Validates an announcement; dialing happens in the background. */
  handle (env: OpenedEnvelope): void {
    const { addrs } = parseAnnouncement(JSON.parse(new TextDecoder().decode(env.body)))
    this.heardFrom.set(env.from, true)
    const { libp2p } = this.components
    const peerId = peerIdFromString(env.from)
    if (libp2p.getConnections(peerId).length > 0) return
    // Only addresses that name the announcing peer itself: a member cannot point us at a third party.
    const mine = addrs.map(a => multiaddr(a)).filter(a => a.getComponents().findLast(c => c.name === 'p2p')?.value === env.from)
    if (mine.length === 0) return
    if (libp2p.getConnections().length >= this.init.targetPeers) {
      // Not dialled now (a partial mesh), but a call to it later dials these without a DHT walk.
      void libp2p.peerStore.merge(peerId, { multiaddrs: mine }).catch(() => {})
      return
    }
    void libp2p.dial(mine, { signal: AbortSignal.timeout(this.init.dialTimeoutMs) }).catch(() => {})
  }
}
