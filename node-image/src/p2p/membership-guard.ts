import { TypedEventEmitter } from 'main-event'
import type { Connection, ConnectionGater, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Messenger, MessengerComponents } from './messenger.ts'
import { request, serve } from './lp-rpc.ts'

export interface MembershipGuardInit {
  protocol: string
  /** A peer must prove membership this soon after connecting. */
  handshakeTimeoutMs?: number
  /** How long a refused peer stays refused. */
  denyMs?: number
}

export interface MembershipGuardEvents {
  'peer:verified': CustomEvent<string>
  'peer:left': CustomEvent<string>
}

const EMPTY = new Uint8Array(0)

/**
 * Admits only peers holding a membership certificate from the network CA.
 * The PSK keeps strangers out of the transport; this keeps out anyone who has
 * the PSK but no certificate (Sybil resistance for the fleet).
 */
export class MembershipGuard extends TypedEventEmitter<MembershipGuardEvents> {
  private readonly init: Required<MembershipGuardInit>
  private readonly components: MessengerComponents & { messenger: Messenger }
  private libp2p?: Libp2p
  private readonly verified = new Set<string>()
  private readonly denied = new Map<string, number>()
  private readonly timers = new Map<string, NodeJS.Timeout>()

  constructor (components: MessengerComponents & { messenger: Messenger }, init: MembershipGuardInit) {
    super()
    this.components = components
    this.init = { handshakeTimeoutMs: 10_000, denyMs: 60_000, ...init }
  }

  /** Refuses peers recently rejected, before any stream is opened. */
  gater (): ConnectionGater {
    const isDenied = (peer: PeerId): boolean => {
      const until = this.denied.get(peer.toString())
      if (until === undefined) return false
      if (until > Date.now()) return true
      this.denied.delete(peer.toString())
      return false
    }
    return {
      denyDialPeer: isDenied,
      denyInboundEncryptedConnection: isDenied,
      denyOutboundEncryptedConnection: isDenied,
      // Pods talk over private addresses; libp2p must be allowed to dial them.
      denyDialMultiaddr: () => false
    }
  }

  isVerified (peer: string): boolean {
    return this.verified.has(peer)
  }

  verifiedPeers (): string[] {
    return [...this.verified]
  }

  async start (libp2p: Libp2p): Promise<void> {
    this.libp2p = libp2p
    const { messenger } = this.components
    await serve(libp2p, this.init.protocol, (body, connection) => {
      const peer = connection.remotePeer.toString()
      const hello = messenger.open(body, { type: 'membership.hello', from: peer }, peer)
      if (hello === undefined) {
        this.reject(peer, 'invalid-certificate')
        throw new Error('membership refused')
      }
      this.admit(peer)
      return Promise.resolve(messenger.seal('membership.hello', EMPTY))
    }, { maxBytes: 16 * 1024, timeoutMs: this.init.handshakeTimeoutMs })
    libp2p.addEventListener('peer:connect', this.onConnect)
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    this.libp2p?.removeEventListener('peer:connect', this.onConnect)
    this.libp2p?.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const t of this.timers.values()) clearTimeout(t)
    this.timers.clear()
    await this.libp2p?.unhandle(this.init.protocol).catch(() => {})
  }

  private readonly onConnect = (evt: CustomEvent<PeerId>): void => {
    const peerId = evt.detail
    const peer = peerId.toString()
    if (this.verified.has(peer)) return
    this.timers.set(peer, setTimeout(() => {
      if (!this.verified.has(peer)) this.reject(peer, 'handshake-timeout')
    }, this.init.handshakeTimeoutMs))
    // Exactly one side opens the handshake: the dialer. It covers both directions.
    const conns: Connection[] = this.libp2p?.getConnections(peerId) ?? []
    if (conns.some(c => c.direction === 'outbound')) void this.greet(peerId)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    const peer = evt.detail.toString()
    clearTimeout(this.timers.get(peer))
    this.timers.delete(peer)
    if (this.verified.delete(peer)) {
      this.components.metrics.peers.set(this.verified.size)
      this.safeDispatch('peer:left', peer)
    }
  }

  private async greet (peerId: PeerId): Promise<void> {
    const libp2p = this.libp2p
    if (libp2p === undefined) return
    const peer = peerId.toString()
    const { messenger } = this.components
    let reply: Uint8Array
    try {
      reply = await request(libp2p, peerId, this.init.protocol, messenger.seal('membership.hello', EMPTY), {
        maxBytes: 16 * 1024,
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
    this.admit(peer)
  }

  private admit (peer: string): void {
    clearTimeout(this.timers.get(peer))
    this.timers.delete(peer)
    if (this.verified.has(peer)) return
    this.verified.add(peer)
    this.components.metrics.peers.set(this.verified.size)
    this.components.log('info', 'peer admitted', { peer })
    this.safeDispatch('peer:verified', peer)
  }

  private reject (peer: string, reason: 'invalid-certificate' | 'handshake-timeout'): void {
    this.components.metrics.membershipRejected.inc({ reason })
    if (reason === 'invalid-certificate') {
      this.components.log('warn', 'peer refused: no valid membership certificate', { peer, reason })
      this.denied.set(peer, Date.now() + this.init.denyMs)
    } else {
      // A slow handshake (a busy peer, a lost stream) is not a forged one: drop the
      // connection but let the peer or our bootstrapper try again at once.
      this.components.log('info', 'peer dropped: membership handshake timed out', { peer, reason })
    }
    const conns = this.libp2p?.getConnections().filter(c => c.remotePeer.toString() === peer) ?? []
    for (const c of conns) void c.close().catch(() => c.abort(new Error('membership refused')))
  }

  private safeDispatch (type: keyof MembershipGuardEvents, peer: string): void {
    try {
      this.safeDispatchEvent(type, { detail: peer })
    } catch (err) {
      this.components.log('error', 'listener failed', { event: type, error: (err as Error).message })
    }
  }
}
