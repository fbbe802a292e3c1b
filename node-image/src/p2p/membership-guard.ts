import { TypedEventEmitter } from 'main-event'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Messenger, MessengerComponents } from './messenger.ts'
import type { DenyList } from './deny-list.ts'
import { request, serveHandshake } from './lp-rpc.ts'

export interface MembershipGuardInit {
  protocol: string
  /** A peer must prove membership this soon after connecting. */
  handshakeTimeoutMs?: number
  /** How long a peer that let the handshake time out stays refused (a bad certificate: the deny list's default). */
  timeoutDenyMs?: number
}

export interface MembershipGuardEvents {
  'peer:verified': CustomEvent<string>
  'peer:left': CustomEvent<string>
}

/** The parts of libp2p the guard uses. */
export type GuardLibp2p = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections' | 'addEventListener' | 'removeEventListener'>

export interface MembershipGuardComponents extends MessengerComponents {
  libp2p: GuardLibp2p
  messenger: Messenger
  denyList: DenyList
}

export const REJECT_REASONS = ['invalid-certificate', 'handshake-timeout'] as const
export type RejectReason = typeof REJECT_REASONS[number]

const EMPTY = new Uint8Array(0)
const HELLO_MAX_BYTES = 16 * 1024

/**
 * Admits only peers holding a membership certificate from the network CA.
 * The PSK keeps strangers out of the transport; this keeps out anyone who has
 * the PSK but no certificate (Sybil resistance for the fleet). A peer that sends
 * a bad certificate, or none in time, is disconnected and denied for a while.
 */
export class MembershipGuard extends TypedEventEmitter<MembershipGuardEvents> {
  private readonly init: Required<MembershipGuardInit>
  private readonly components: MembershipGuardComponents
  // All keyed by connected peers only, so the connection limit bounds them.
  /** Proved membership to us: their streams are served. */
  private readonly accepted = new Set<string>()
  /** Also know that we proved ours: safe to open streams to; the peer:verified event. */
  private readonly verified = new Set<string>()
  private readonly timers = new Map<string, NodeJS.Timeout>()

  constructor (components: MembershipGuardComponents, init: MembershipGuardInit) {
    super()
    this.components = components
    this.init = { handshakeTimeoutMs: 10_000, timeoutDenyMs: 15_000, ...init }
    // Every reason at zero from the start: a dashboard or alert sees 0, not "no data".
    for (const reason of REJECT_REASONS) components.metrics.membershipRejected.inc({ reason }, 0)
  }

  /** True once the peer proved membership: its streams may be read. */
  isVerified (peer: string): boolean {
    return this.accepted.has(peer)
  }

  /** True once the peer proved membership and accepted ours: a stream opened to it is served. */
  isVerifiedBothWays (peer: string): boolean {
    return this.verified.has(peer)
  }

  /** Peers that proved membership and have accepted ours, so our streams to them are served. */
  verifiedPeers (): string[] {
    return [...this.verified]
  }

  /**
   * Resolves once both sides of the handshake are done with `peer`; a stream
   * opened before that could reach a node that has not yet admitted us.
   */
  async whenVerified (peer: string, signal: AbortSignal): Promise<void> {
    if (this.verified.has(peer)) return
    await new Promise<void>((resolve, reject) => {
      const settle = (evt?: CustomEvent<string>): void => {
        if (evt !== undefined && evt.detail !== peer) return
        this.removeEventListener('peer:verified', settle)
        signal.removeEventListener('abort', abort)
        resolve()
      }
      const abort = (): void => {
        this.removeEventListener('peer:verified', settle)
        reject(signal.reason as Error)
      }
      this.addEventListener('peer:verified', settle)
      signal.addEventListener('abort', abort, { once: true })
    })
  }

  async start (): Promise<void> {
    const { libp2p, messenger } = this.components
    await serveHandshake(libp2p, this.init.protocol, (body, connection) => {
      const peer = connection.remotePeer.toString()
      const hello = messenger.open(body, { type: 'membership.hello', from: peer }, peer)
      if (hello === undefined) {
        this.reject(peer, 'invalid-certificate')
        throw new Error('membership refused')
      }
      // Their streams are served from now on; ours wait until they have read our reply.
      this.accept(peer)
      return Promise.resolve(messenger.seal('membership.hello', EMPTY))
    }, {
      maxBytes: HELLO_MAX_BYTES,
      timeoutMs: this.init.handshakeTimeoutMs,
      onReplyRead: connection => { this.confirm(connection.remotePeer.toString()) }
    })
    libp2p.addEventListener('peer:connect', this.onConnect)
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    const { libp2p } = this.components
    libp2p.removeEventListener('peer:connect', this.onConnect)
    libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    await libp2p.unhandle(this.init.protocol).catch(() => {})
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const peerId = evt.detail
    const peer = peerId.toString()
    if (this.verified.has(peer)) return
    clearTimeout(this.timers.get(peer))
    this.timers.set(peer, setTimeout(() => {
      this.timers.delete(peer)
      if (!this.verified.has(peer)) this.reject(peer, 'handshake-timeout')
    }, this.init.handshakeTimeoutMs))
    // Exactly one side opens the handshake: the dialer. It covers both directions.
    const conns: Connection[] = this.components.libp2p.getConnections(peerId)
    if (conns.some(c => c.direction === 'outbound')) void this.greet(peerId)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    clearTimeout(this.timers.get(peer))
    this.timers.delete(peer)
    this.accepted.delete(peer)
    if (this.verified.delete(peer)) {
      this.components.metrics.peers.set(this.verified.size)
      this.safeDispatch('peer:left', peer)
    }
  }

  private async greet (peerId: PeerId): Promise<void> {
    const { libp2p, messenger } = this.components
    const peer = peerId.toString()
    let reply: Uint8Array
    try {
      reply = await request(libp2p, peerId, this.init.protocol, messenger.seal('membership.hello', EMPTY), {
        maxBytes: HELLO_MAX_BYTES,
        signal: AbortSignal.timeout(this.init.handshakeTimeoutMs)
      })
    } catch (err) {
      // The listener refused us or the peer went away: the timer decides.
      this.components.log('debug', 'membership handshake failed', { peer, error: (err as Error).message })
      return
    }
    if (messenger.open(reply, { type: 'membership.hello', from: peer }, peer) === undefined) {
      this.reject(peer, 'invalid-certificate')
      return
    }
    // The listener admitted us before it replied: both sides are done.
    this.accept(peer)
    this.confirm(peer)
  }

  private accept (peer: string): void {
    this.accepted.add(peer)
  }

  private confirm (peer: string): void {
    if (!this.accepted.has(peer)) return
    clearTimeout(this.timers.get(peer))
    this.timers.delete(peer)
    if (this.verified.has(peer)) return
    this.verified.add(peer)
    this.components.metrics.peers.set(this.verified.size)
    this.components.log('info', 'peer admitted', { peer })
    this.safeDispatch('peer:verified', peer)
  }

  private reject (peer: string, reason: RejectReason): void {
    this.components.metrics.membershipRejected.inc({ reason })
    if (reason === 'invalid-certificate') {
      this.components.denyList.deny(peer)
      this.components.log('warn', 'peer refused: no valid membership certificate', { peer, reason })
    } else {
      // Shorter: a busy peer or a lost stream looks the same as a silent stranger.
      this.components.denyList.deny(peer, this.init.timeoutDenyMs)
      this.components.log('info', 'peer refused: membership handshake timed out', { peer, reason })
    }
    const conns = this.components.libp2p.getConnections().filter(c => c.remotePeer.toString() === peer)
    for (const c of conns) void c.close().catch(() => { c.abort(new Error('membership refused')) })
  }

  private safeDispatch (type: keyof MembershipGuardEvents, peer: string): void {
    try {
      this.safeDispatchEvent(type, { detail: peer })
    } catch (err) {
      this.components.log('error', 'listener failed', { event: type, error: (err as Error).message })
    }
  }
}
