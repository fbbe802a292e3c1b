import { TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { Messenger, MessengerComponents } from './messenger.ts'
import type { MessageType } from './protocols.ts'
import type { OpenedEnvelope } from './envelope.ts'
import type { PeerAdmission } from './peer-admission.ts'
import { request, serve } from './lp-rpc.ts'
import { inSpan, inRemoteChildSpan } from '../tracing/spans.ts'

export interface GossipChannelInit {
  topic: string
  type: MessageType
  /** Runs inside gossipsub's validator: a throw drops the message without forwarding it. */
  onMessage: (envelope: OpenedEnvelope) => void
  /**
   * Also carry this channel's envelopes to one member at a time, on this protocol:
   * what a newcomer must learn from each member goes to it alone (a broadcast on
   * every join reaches every member, and a mesh's start then costs joins x members x members).
   */
  direct?: { protocol: string, /** label of the refusal metric */ service: string, timeoutMs?: number }
}

export interface GossipChannelComponents extends MessengerComponents {
  messenger: Messenger
  pubsub: GossipSub
  selfId: string
  /** Needed with `direct` only. */
  libp2p?: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  admission?: PeerAdmission
}

// Clock skew or a late duplicate is not the sender's fault; anything else is, and lowers its score.
const IGNORABLE = new Set(['stale', 'replay'])
const EMPTY = new Uint8Array(0)
/** A direct send's whole exchange, unless `direct.timeoutMs` says otherwise. */
const DIRECT_TIMEOUT_MS = 10_000

export class DirectSendError extends Error {
  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DirectSendError'
  }
}

/**
 * A gossipsub topic carrying signed envelopes of one type. Validation happens in
 * the topic validator, so a bad message is neither delivered nor forwarded. With
 * `direct`, sendTo() hands one member the same envelope, checked the same way and
 * accepted only from the member that signed it.
 */
export class GossipChannel {
  private readonly components: GossipChannelComponents
  private readonly init: GossipChannelInit

  constructor (components: GossipChannelComponents, init: GossipChannelInit) {
    this.components = components
    this.init = init
    if (init.direct !== undefined && (components.libp2p === undefined || components.admission === undefined)) {
      throw new TypeError(`the direct path of ${init.topic} needs libp2p and admission`)
    }
  }

  async start (): Promise<void> {
    const { pubsub, libp2p, admission, messenger } = this.components
    pubsub.topicValidators.set(this.init.topic, (peer, msg) => this.receive(msg.data, peer.toString()))
    pubsub.subscribe(this.init.topic)
    const direct = this.init.direct
    if (direct === undefined || libp2p === undefined || admission === undefined) return
    await serve(libp2p, direct.protocol, admission, async (body, connection) => {
      const from = connection.remotePeer.toString()
      const result = this.receive(body, from, from)
      if (result === TopicValidatorResult.Reject) throw new DirectSendError(`${this.init.type} from ${from} refused`)
      return await Promise.resolve(EMPTY)
    }, { maxBytes: messenger.maxBytesFor(this.init.type), timeoutMs: direct.timeoutMs ?? DIRECT_TIMEOUT_MS, service: direct.service })
  }

  async stop (): Promise<void> {
    this.components.pubsub.unsubscribe(this.init.topic)
    this.components.pubsub.topicValidators.delete(this.init.topic)
    if (this.init.direct !== undefined) await this.components.libp2p?.unhandle(this.init.direct.protocol)
  }

  async publish (body: Uint8Array): Promise<void> {
    try {
      await inSpan(`publish ${this.init.type}`, 'producer', { 'dawn.topic': this.init.topic }, async () => {
        await this.components.pubsub.publish(this.init.topic, this.components.messenger.seal(this.init.type, body))
      })
    } catch (err) {
      // No subscribed peers yet is normal for the first node; anti-entropy covers the gap.
      this.components.log('debug', 'gossip publish failed', { topic: this.init.topic, error: (err as Error).message })
    }
  }

  /** Sends one envelope to one verified member; a failure is logged and left to the periodic gossip. */
  async sendTo (peer: string, body: Uint8Array, signal?: AbortSignal): Promise<void> {
    const { libp2p, messenger, log } = this.components
    const direct = this.init.direct
    if (direct === undefined || libp2p === undefined) throw new TypeError(`${this.init.topic} has no direct path`)
    try {
      const timeout = AbortSignal.timeout(direct.timeoutMs ?? DIRECT_TIMEOUT_MS)
      await inSpan(`send ${this.init.type}`, 'producer', { 'dawn.peer': peer }, async () => {
        await request(libp2p, peerIdFromString(peer), direct.protocol, messenger.seal(this.init.type, body), {
          maxBytes: messenger.maxBytesFor(this.init.type),
          signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout])
        })
      })
    } catch (err) {
      log('debug', 'direct send failed', { type: this.init.type, peer, error: (err as Error).message })
    }
  }

  private receive (data: Uint8Array, source: string, signer?: string): TopicValidatorResult {
    const { messenger, metrics, log } = this.components
    const result = messenger.tryOpen(data, signer === undefined ? { type: this.init.type } : { type: this.init.type, from: signer }, source)
    if ('reason' in result) return IGNORABLE.has(result.reason) ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject
    const env = result.envelope
    if (env.from === this.components.selfId) return TopicValidatorResult.Ignore
    metrics.gossipDelay.observe(Math.max(0, Date.now() - env.ts) / 1000)
    try {
      inRemoteChildSpan(`receive ${this.init.type}`, 'consumer', env.trace, { 'dawn.from': env.from }, () => { this.init.onMessage(env) })
    } catch (err) {
      metrics.messagesRejected.inc({ reason: 'invalid-body' })
      log('debug', 'gossip body rejected', { type: this.init.type, from: env.from, error: (err as Error).message })
      return TopicValidatorResult.Reject
    }
    return TopicValidatorResult.Accept
  }
}
