import type { LogFn } from '../logging/json-logger.ts'
import { EnvelopeSigner, EnvelopeOpener, EnvelopeRejectedError, type OpenedEnvelope } from './envelope.ts'
import type { MembershipCertificate } from '../identity/membership.ts'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { MessageType } from './protocols.ts'
import { currentTraceCarrier } from '../tracing/trace-context.ts'

export interface MessengerInit {
  network: string
  peerId: string
  /** 32-byte Ed25519 seed of the node key. */
  seed: Uint8Array
  certificate: MembershipCertificate
  caPublicKey: Uint8Array
  maxMessageBytes: number
  replayWindowMs: number
  /** Types allowed to be larger than maxMessageBytes (tool calls carry results of many MiB). */
  large?: { types: MessageType[], maxBytes: number }
}

export interface MessengerComponents {
  metrics: NodeMetrics
  log: LogFn
}

/**
 * Seals and opens signed envelopes and counts both. Every mesh message goes
 * through here, so every one is signed, replay-checked and accounted for.
 */
export class Messenger {
  private readonly init: MessengerInit
  private readonly components: MessengerComponents
  private readonly opener: EnvelopeOpener
  private readonly largeOpener?: EnvelopeOpener
  private readonly signer: EnvelopeSigner

  constructor (components: MessengerComponents, init: MessengerInit) {
    this.init = init
    this.components = components
    this.signer = new EnvelopeSigner(init.seed, init.peerId)
    const opener = (maxBytes: number): EnvelopeOpener => new EnvelopeOpener({ network: init.network, caPublicKey: init.caPublicKey, maxBytes, replayWindowMs: init.replayWindowMs })
    this.opener = opener(init.maxMessageBytes)
    if (init.large !== undefined) this.largeOpener = opener(init.large.maxBytes)
  }

  /** Largest envelope accepted for this type. */
  maxBytesFor (type: MessageType): number {
    return this.init.large?.types.includes(type) === true ? this.init.large.maxBytes : this.init.maxMessageBytes
  }

  get maxMessageBytes (): number {
    return this.init.maxMessageBytes
  }

  seal (type: MessageType, body: Uint8Array): Uint8Array {
    const trace = currentTraceCarrier()
    const bytes = this.signer.seal({
      type,
      network: this.init.network,
      body,
      cert: this.init.certificate,
      ...(trace === undefined ? {} : { trace })
    })
    this.components.metrics.messagesOut.inc({ type })
    return bytes
  }

  /** Opens an envelope, or returns why it was dropped (already counted and logged). */
  tryOpen (bytes: Uint8Array, expect: { type: MessageType, from?: string }, source?: string): { envelope: OpenedEnvelope } | { reason: string } {
    try {
      const opener = this.largeOpener !== undefined && this.init.large?.types.includes(expect.type) === true ? this.largeOpener : this.opener
      const envelope = opener.open(bytes, expect.from === undefined ? { type: expect.type } : { type: expect.type, from: expect.from })
      this.components.metrics.messagesIn.inc({ type: expect.type })
      return { envelope }
    } catch (err: unknown) {
      const reason = err instanceof EnvelopeRejectedError ? err.reason : 'malformed'
      this.components.metrics.messagesRejected.inc({ reason })
      this.components.log('debug', 'message dropped', { reason, type: expect.type, source })
      return { reason }
    }
  }

  /** Drops the signing key when the node stops; sealing afterwards throws. */
  forget (): void {
    this.signer.forget()
  }

  open (bytes: Uint8Array, expect: { type: MessageType, from?: string }, source?: string): OpenedEnvelope | undefined {
    const result = this.tryOpen(bytes, expect, source)
    return 'envelope' in result ? result.envelope : undefined
  }
}
