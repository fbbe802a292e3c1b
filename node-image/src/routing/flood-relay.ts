import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Messenger } from '../p2p/messenger.ts'
import { StreamRefusedError, type PeerAdmission } from '../p2p/peer-admission.ts'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { fanOut, openFloodReply, type FanOutLibp2p } from './flood-fan-out.ts'
import { encodeFound, encodeMiss, encodeRequestFrame, maxJsonInFrame, parseFloodBody, splitRequestFrame, type FloodBody, type FloodMissReason } from './flood-wire.ts'

/** One frame crossing this node: a request passed on, or a reply passed back. */
export interface RelayedFrame {
  direction: 'forward' | 'return'
  from: string
  to: string
  bytes: Uint8Array
}

export type FloodObserver = (frame: RelayedFrame) => void

export interface FloodRelayComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'> & FanOutLibp2p
  admission: PeerAdmission
  messenger: Messenger
  /** Members that proved membership both ways: the only peers a flood is passed to. */
  peers: () => string[]
  /** Runs a call that reached its node; returns the `toolcall.response` envelope (the call service's answer). */
  deliver: (envelope: Uint8Array, origin: string, signal: AbortSignal, maxResultBytes: number) => Promise<Uint8Array>
  metrics: NodeMetrics
  log: LogFn
  /** Sees every frame this node relays; tests record what an intermediate member carries. */
  observe?: FloodObserver
}

export interface FloodRelayInit {
  selfId: string
  protocol: string
  /** Hops this node lets a flood travel, whatever its origin signed (the lower of the two wins). */
  maxHops: number
  /** Largest request or reply frame, hop to hop. */
  maxFrameBytes: number
  /** Longest a flood is held open here, whatever its deadline says. */
  timeoutMs: number
  /** Floods one neighbour may have in flight through this node; more are answered busy unread. */
  maxInFlightPerPeer?: number
  /** Floods in flight through this node from all neighbours. */
  maxInFlight?: number
  /** How long a neighbour may take to send its frame, and to take the reply. */
  ioTimeoutMs?: number
}

type Drop = FloodMissReason | 'oversized' | 'malformed' | 'stream' | 'bad-reply'

/**
 * Serving side of the flood route. A frame from a verified member is opened
 * (the origin's signature; the messenger's replay memory is the de-duplication),
 * then delivered here if this node is the target, or passed to every other
 * verified member while hops remain. The stream it came on stays open until an
 * answer comes back, and carries that answer: the reverse path is the open streams.
 */
export class FloodRelay {
  private readonly components: FloodRelayComponents
  private readonly init: Required<FloodRelayInit>
  /** Floods in flight per neighbour; holds only neighbours with one open now. */
  private readonly inFlight = new Map<string, number>()
  private total = 0

  constructor (components: FloodRelayComponents, init: FloodRelayInit) {
    this.components = components
    this.init = { maxInFlightPerPeer: 16, maxInFlight: 128, ioTimeoutMs: 10_000, ...init }
  }

  async start (): Promise<void> {
    await this.components.libp2p.handle(this.init.protocol, async (stream, connection) => { await this.serve(stream, connection) }, {
      runOnLimitedConnection: true,
      // Past the busy answers, a neighbour's extra streams are reset by libp2p.
      maxInboundStreams: this.init.maxInFlightPerPeer * 2
    })
  }

  async stop (): Promise<void> {
    await this.components.libp2p.unhandle(this.init.protocol).catch(() => {})
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const admitted = this.components.admission.admit(stream, connection, 'flood')
    if (admitted === undefined) return
    const from = admitted.peer
    const gone = new AbortController()
    stream.addEventListener('close', () => { gone.abort(new Error('the previous hop closed the stream')) }, { once: true })
    const held = this.hold(from)
    try {
      let reply: Uint8Array
      if (held) {
        const frame = await admitted.readFrame(this.init.maxFrameBytes, AbortSignal.any([gone.signal, AbortSignal.timeout(this.init.ioTimeoutMs)]))
        reply = await this.handle(frame, from, gone.signal)
      } else {
        reply = this.miss('busy', 'busy')
      }
      await admitted.write(reply, AbortSignal.timeout(this.init.ioTimeoutMs))
      await stream.close().catch(() => {})
    } catch (err) {
      this.drop(err instanceof StreamRefusedError && err.reason === 'too-large' ? 'oversized' : 'stream')
      this.components.log('debug', 'flood stream failed', { peer: from, error: (err as Error).message })
      stream.abort(err as Error)
    } finally {
      if (held) this.release(from)
      admitted.release()
    }
  }

  /** One request frame in, one reply frame out; never throws for a peer's bad bytes. */
  private async handle (frame: Uint8Array, from: string, gone: AbortSignal): Promise<Uint8Array> {
    const { messenger } = this.components
    let hops: number
    let envelope: Uint8Array
    let body: FloodBody
    let origin: string
    let sealedAt: number
    try {
      ({ hops, envelope } = splitRequestFrame(frame))
      const opened = messenger.tryOpen(envelope, { type: 'flood.request' }, from)
      if ('reason' in opened) return opened.reason === 'replay' ? this.miss('duplicate', 'duplicate') : this.miss('rejected', 'rejected')
      origin = opened.envelope.from
      sealedAt = opened.envelope.ts
      // Our own flood coming back round a loop.
      if (origin === this.init.selfId) return this.miss('duplicate', 'duplicate')
      body = parseFloodBody(opened.envelope.body)
    } catch {
      return this.miss('malformed', 'rejected')
    }
    if (hops < 1 || hops > body.maxHops) return this.miss('hop-limit', 'hop-limit')
    // Measured on the origin's clock, like the call service does, so clock skew cannot shorten it.
    const remaining = body.deadline - sealedAt
    if (remaining <= 0) return this.miss('deadline', 'deadline')
    const signal = AbortSignal.any([gone, AbortSignal.timeout(Math.min(remaining, this.init.timeoutMs))])
    if (body.target === this.init.selfId) return await this.arrive(body, origin, hops, signal)
    if (hops >= Math.min(body.maxHops, this.init.maxHops)) return this.miss('hop-limit', 'hop-limit')
    return await this.forward(envelope, body, { origin, from, hops }, signal)
  }

  private async arrive (body: FloodBody, origin: string, hops: number, signal: AbortSignal): Promise<Uint8Array> {
    if (body.kind === 'probe') return encodeFound(hops, this.components.messenger.seal('flood.pong', body.payload))
    const reply = encodeFound(hops, await this.components.deliver(body.payload, origin, signal, maxJsonInFrame(this.init.maxFrameBytes)))
    if (reply.byteLength > this.init.maxFrameBytes) {
      this.components.log('warn', 'flood reply larger than a frame', { origin, bytes: reply.byteLength })
      return this.miss('oversized', 'rejected')
    }
    return reply
  }

  private async forward (envelope: Uint8Array, body: FloodBody, hop: { origin: string, from: string, hops: number }, signal: AbortSignal): Promise<Uint8Array> {
    const { metrics, messenger, observe } = this.components
    const neighbours = this.components.peers().filter(p => p !== hop.from && p !== hop.origin)
    const next = neighbours.includes(body.target) ? [body.target] : neighbours
    if (next.length === 0) {
      metrics.floodRelayed.inc({ result: 'no-route' })
      return encodeMiss('no-route')
    }
    const result = await fanOut(this.components.libp2p, { protocol: this.init.protocol, maxReplyBytes: this.init.maxFrameBytes }, {
      peers: next,
      frame: encodeRequestFrame(hop.hops + 1, envelope),
      signal,
      accept: reply => openFloodReply(messenger, body, reply, hop.from),
      ...(observe === undefined ? {} : { onSend: (to, bytes) => { observe({ direction: 'forward', from: hop.from, to, bytes }) } })
    })
    if (result.found !== undefined) {
      metrics.floodRelayed.inc({ result: 'found' })
      observe?.({ direction: 'return', from: result.from, to: hop.from, bytes: result.reply })
      return result.reply
    }
    const bad = result.misses['bad-reply'] ?? 0
    if (bad > 0) metrics.floodDropped.inc({ reason: 'bad-reply' }, bad)
    // Passed back as the reason when it is the only one, so the origin learns its limit was too low.
    const onlyHopLimit = Object.keys(result.misses).every(r => r === 'hop-limit')
    const reason = signal.aborted ? 'deadline' : onlyHopLimit ? 'hop-limit' : 'no-route'
    metrics.floodRelayed.inc({ result: reason })
    return encodeMiss(reason)
  }

  private miss (drop: Drop, reason: FloodMissReason): Uint8Array {
    this.drop(drop)
    return encodeMiss(reason)
  }

  private drop (reason: Drop): void {
    this.components.metrics.floodDropped.inc({ reason })
  }

  private hold (peer: string): boolean {
    const mine = this.inFlight.get(peer) ?? 0
    if (mine >= this.init.maxInFlightPerPeer || this.total >= this.init.maxInFlight) return false
    this.inFlight.set(peer, mine + 1)
    this.total++
    this.components.metrics.floodInFlight.set(this.total)
    return true
  }

  private release (peer: string): void {
    const mine = (this.inFlight.get(peer) ?? 1) - 1
    if (mine <= 0) this.inFlight.delete(peer)
    else this.inFlight.set(peer, mine)
    this.total--
    this.components.metrics.floodInFlight.set(this.total)
  }
}
