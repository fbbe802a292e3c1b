import Type from 'typebox'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { GossipChannel } from './gossip-channel.ts'
import type { OpenedEnvelope } from './envelope.ts'
import { compileParser } from '../validation/schema-error.ts'

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
   * The periodic announcement waits this long per connected peer (at least intervalMs),
   * so a mesh of N nodes sends about one announcement per perPeerMs in all, not N per intervalMs.
   */
  perPeerMs?: number
  /** After the first announcement, a second one this much later, in case gossipsub had not grafted us yet. */
  joinRepeatMs?: number
  /** Coalescing delay of announceSoon(). */
  coalesceMs?: number
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
 * after intervalMs has passed, and its period grows with its peer count.
 */
export class PeerAnnouncer {
  private readonly components: { libp2p: Pick<Libp2p, 'dial' | 'getConnections' | 'getMultiaddrs'>, channel: () => GossipChannel }
  private readonly init: Required<PeerAnnouncerInit>
  private timer?: NodeJS.Timeout
  private pending?: NodeJS.Timeout
  private running = false
  /** Announcements sent, and when the last one was. */
  sent = 0
  private lastAt = -Infinity

  constructor (components: PeerAnnouncer['components'], init: PeerAnnouncerInit) {
    this.components = components
    this.init = { intervalMs: 15_000, perPeerMs: 1000, joinRepeatMs: 3000, coalesceMs: 200, ...init }
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

  /** The wait before the next periodic announcement: the period for this many peers, jittered by +-25 %. */
  periodMs (): number {
    const base = Math.max(this.init.intervalMs, this.components.libp2p.getConnections().length * this.init.perPeerMs)
    return base * (0.75 + Math.random() * 0.5)
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
    const { libp2p } = this.components
    const peerId = peerIdFromString(env.from)
    if (libp2p.getConnections(peerId).length > 0) return
    if (libp2p.getConnections().length >= this.init.targetPeers) return
    // Only addresses that name the announcing peer itself: a member cannot point us at a third party.
    const mine = addrs.map(a => multiaddr(a)).filter(a => a.getComponents().findLast(c => c.name === 'p2p')?.value === env.from)
    if (mine.length === 0) return
    void libp2p.dial(mine, { signal: AbortSignal.timeout(5000) }).catch(() => {})
  }
}
