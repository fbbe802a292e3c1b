import { TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import type { Messenger, MessengerComponents } from './messenger.ts'
import type { MessageType } from './protocols.ts'
import type { OpenedEnvelope } from './envelope.ts'
import { inSpan, inRemoteChildSpan } from '../tracing/spans.ts'

export interface GossipChannelInit {
  topic: string
  type: MessageType
  /** Runs inside gossipsub's validator: a throw drops the message without forwarding it. */
  onMessage: (envelope: OpenedEnvelope) => void
}

// Clock skew or a late duplicate is not the sender's fault; anything else is, and lowers its score.
const IGNORABLE = new Set(['stale', 'replay'])

/**
 * A gossipsub topic carrying signed envelopes of one type. Validation happens in
 * the topic validator, so a bad message is neither delivered nor forwarded.
 */
export class GossipChannel {
  private readonly components: MessengerComponents & { messenger: Messenger, pubsub: GossipSub, selfId: string }
  private readonly init: GossipChannelInit

  constructor (components: MessengerComponents & { messenger: Messenger, pubsub: GossipSub, selfId: string }, init: GossipChannelInit) {
    this.components = components
    this.init = init
  }

  start (): void {
    const { pubsub, messenger, metrics, log } = this.components
    pubsub.topicValidators.set(this.init.topic, (peer, msg) => {
      const result = messenger.tryOpen(msg.data, { type: this.init.type }, peer.toString())
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
    })
    pubsub.subscribe(this.init.topic)
  }

  stop (): void {
    this.components.pubsub.unsubscribe(this.init.topic)
    this.components.pubsub.topicValidators.delete(this.init.topic)
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
}
