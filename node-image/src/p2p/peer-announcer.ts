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
  intervalMs?: number
}

/**
 * Gossip announcements: every member periodically says where it listens, and
 * members below their peer target dial it. With bootstrap this gives a full mesh
 * for fleet-sized networks without waiting on DHT walks.
 */
export class PeerAnnouncer {
  private readonly components: { libp2p: Pick<Libp2p, 'dial' | 'getConnections' | 'getMultiaddrs'>, channel: () => GossipChannel }
  private readonly init: Required<PeerAnnouncerInit>
  private timer?: NodeJS.Timeout
  private pending?: NodeJS.Timeout

  constructor (components: PeerAnnouncer['components'], init: PeerAnnouncerInit) {
    this.components = components
    this.init = { intervalMs: 15_000, ...init }
  }

  start (): void {
    this.timer = setInterval(() => { this.announceSoon() }, this.init.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    clearTimeout(this.pending)
  }

  /** Coalesces bursts (many peers joining at once) into one announcement. */
  announceSoon (): void {
    if (this.pending !== undefined) return
    this.pending = setTimeout(() => {
      this.pending = undefined
      const addrs = this.components.libp2p.getMultiaddrs().map(a => a.toString()).slice(0, 32)
      if (addrs.length > 0) void this.components.channel().publish(new TextEncoder().encode(JSON.stringify({ addrs })))
    }, 200)
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
