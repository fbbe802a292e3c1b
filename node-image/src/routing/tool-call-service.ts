import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Messenger } from '../p2p/messenger.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { inRemoteChildSpan, inSpan } from '../tracing/spans.ts'
import { E2EError, type E2ECipher } from './e2e-cipher.ts'
import { AgentFailedError, DeadlineExceededError, ToolCallError, type CallErrorCode } from './errors.ts'
import { subjectOf, type EncryptionPolicy, type LocalAgents } from './tool-router.ts'
import { callAad, encodeJson, FRAME_EVENT, FRAME_RESPONSE, MalformedCallError, MODE_E2E, MODE_PLAIN, parseRequest, splitMode, withKind, withMode, type WireRequest, type WireResponse } from './tool-call-wire.ts'
import type { CallEvent } from './types.ts'
import type { TraceCarrier } from '../tracing/trace-context.ts'

export interface ToolCallServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  admission: PeerAdmission
  messenger: Messenger
  cipher: E2ECipher
  local: LocalAgents
  metrics: NodeMetrics
  log: LogFn
}

export interface ToolCallServiceInit {
  selfId: string
  network: string
  protocol: string
  encryption: EncryptionPolicy
  maxBytes: number
  maxConcurrent: number
  /** How long a caller may take to send its request once the stream is open. */
  readTimeoutMs?: number
}

/** A frame refused before it reached an agent; `reason` is the metric label. */
class Refusal extends Error {
  readonly reason: string
  readonly code: CallErrorCode
  constructor (reason: string, code: CallErrorCode, message: string) {
    super(message)
    this.name = 'Refusal'
    this.reason = reason
    this.code = code
  }
}

const NO_ID = '0'.repeat(32)

/**
 * Hosting side of mesh routing: opens the signed envelope, decrypts, checks the
 * request, runs it on a local agent within its deadline and answers encrypted.
 * Whatever a peer sends, only its own stream is affected.
 */
export class ToolCallService {
  private readonly components: ToolCallServiceComponents
  private readonly init: ToolCallServiceInit
  private readonly aad: Uint8Array
  private inFlight = 0

  constructor (components: ToolCallServiceComponents, init: ToolCallServiceInit) {
    this.components = components
    this.init = init
    this.aad = callAad(init.network)
  }

  async start (): Promise<void> {
    await this.components.libp2p.handle(this.init.protocol, async (stream, connection) => { await this.serve(stream, connection) }, {
      runOnLimitedConnection: true,
      maxInboundStreams: this.init.maxConcurrent
    })
  }

  async stop (): Promise<void> {
    await this.components.libp2p.unhandle(this.init.protocol).catch(() => {})
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const admitted = this.components.admission.admit(stream, connection, 'toolcall')
    if (admitted === undefined) return
    const from = admitted.peer
    const { messenger, metrics } = this.components
    const gone = new AbortController()
    stream.addEventListener('close', () => { gone.abort(new Error('caller closed the stream')) }, { once: true })
    const writeTimeout = (): AbortSignal => AbortSignal.any([gone.signal, AbortSignal.timeout(this.init.readTimeoutMs ?? 30_000)])
    // Events and the response go out one after another, in the order they were made.
    let writing = Promise.resolve()
    const send = (kind: number, envelope: Uint8Array): Promise<void> => {
      writing = writing.then(async () => { await admitted.write(withKind(kind, envelope), writeTimeout()) })
      return writing
    }
    try {
      const frame = await admitted.readFrame(messenger.maxBytesFor('toolcall.request'), AbortSignal.timeout(this.init.readTimeoutMs ?? 30_000))
      const reply = await this.answer(frame, from, gone.signal, this.init.maxBytes, (event) => {
        send(FRAME_EVENT, event).catch((err: unknown) => { stream.abort(err as Error) })
      })
      await send(FRAME_RESPONSE, reply)
      await stream.close().catch(() => {})
    } catch (err) {
      metrics.toolCallsRejected.inc({ reason: 'stream' })
      this.components.log('debug', 'call stream failed', { peer: from, error: (err as Error).message })
      stream.abort(err as Error)
    } finally {
      admitted.release()
    }
  }

  /**
   * Turns one request envelope from `from` into one response envelope; never
   * throws for a peer's bad bytes. The flood route delivers here too, with the
   * origin as `from` and a smaller result limit so the reply fits its frames, and
   * no `sendEvent`: the flood route carries the response only.
   */
  async answer (frame: Uint8Array, from: string, gone: AbortSignal, maxResultBytes = this.init.maxBytes, sendEvent?: (envelope: Uint8Array) => void): Promise<Uint8Array> {
    const { messenger } = this.components
    const opened = messenger.tryOpen(frame, { type: 'toolcall.request', from }, from)
    const body = 'reason' in opened
      ? this.refusal(new Refusal(opened.reason, 'rejected', `request refused: ${opened.reason}`), from)
      : await this.answerBody(opened.envelope.body, opened.envelope.ts, opened.envelope.trace, from, gone, maxResultBytes,
        sendEvent === undefined ? undefined : (event) => { sendEvent(messenger.seal('toolcall.event', event)) })
    return messenger.seal('toolcall.response', body)
  }

  /**
   * The call inside an authenticated request from `from` (its envelope, or a frame of a warm
   * channel): `body` is mode || payload, `ts` the caller's clock when it sent it. Returns the
   * response body; events go out as bodies through `sendEvent`.
   */
  async answerBody (body: Uint8Array, ts: number, trace: TraceCarrier | undefined, from: string, gone: AbortSignal, maxResultBytes = this.init.maxBytes, sendEvent?: (event: Uint8Array) => void): Promise<Uint8Array> {
    let sealResponse: ((plaintext: Uint8Array) => Uint8Array) | undefined
    let request: WireRequest
    let budgetMs: number
    const received = performance.now()
    try {
      const { mode, payload } = splitMode(body)
      let plaintext = payload
      if (mode === MODE_E2E) {
        const opening = this.components.cipher.openRequest(from, payload, this.aad)
        plaintext = opening.plaintext
        sealResponse = opening.sealResponse
      } else if (this.init.encryption === 'required') {
        throw new Refusal('plaintext', 'rejected', 'this node requires end-to-end encrypted calls')
      }
      request = parseRequest(plaintext)
      // The caller's budget on the caller's own clock, so a skewed clock on either side cannot shorten it.
      budgetMs = request.deadline - ts
      if (request.to !== this.init.selfId) throw new Refusal('misdelivered', 'rejected', `request is for ${request.to}`)
    } catch (err) {
      return this.refusal(err, from)
    }

    const onEvent = request.events === true && sendEvent !== undefined ? this.eventSender(request.id, sealResponse, sendEvent) : undefined
    const response = await inRemoteChildSpan('dawn serve ' + request.op, 'server', trace, { 'dawn.caller': from, 'dawn.agent': request.agentId }, async () => await this.run(request, from, gone, Math.floor(budgetMs - (performance.now() - received)), onEvent))
    let json = encodeJson(response)
    const limit = Math.min(this.init.maxBytes, maxResultBytes)
    if (json.byteLength > limit) {
      json = encodeJson({ id: request.id, ok: false, code: 'too-large', message: `result is ${json.byteLength} bytes, limit ${limit}` })
    }
    return sealResponse === undefined ? withMode(MODE_PLAIN, json) : withMode(MODE_E2E, sealResponse(json))
  }

  /** Counts and logs a refused request; the answer is never encrypted: the request may not have decrypted, and it carries no data. */
  private refusal (err: unknown, from: string): Uint8Array {
    const refusal = asRefusal(err)
    this.components.metrics.toolCallsRejected.inc({ reason: refusal.reason })
    this.components.log('warn', 'tool call refused', { peer: from, reason: refusal.reason })
    return withMode(MODE_PLAIN, encodeJson({ id: NO_ID, ok: false, code: refusal.code, message: refusal.message }))
  }

  /** Seals each agent notification as an event frame of this call; an oversized one is dropped. */
  private eventSender (id: string, seal: ((plaintext: Uint8Array) => Uint8Array) | undefined, sendEvent: (event: Uint8Array) => void): (event: CallEvent) => void {
    const limit = this.components.messenger.maxBytesFor('toolcall.event') - 1024
    let seq = 0
    return (event) => {
      const json = encodeJson({ id, seq: seq + 1, ...event })
      if (json.byteLength > limit) {
        this.components.log('debug', 'agent notification too large for an event frame; dropped', { method: event.method, bytes: json.byteLength })
        return
      }
      seq++
      sendEvent(seal === undefined ? withMode(MODE_PLAIN, json) : withMode(MODE_E2E, seal(json)))
    }
  }

  private async run (request: WireRequest, from: string, gone: AbortSignal, remaining: number, onEvent: ((event: CallEvent) => void) | undefined): Promise<WireResponse> {
    const { metrics, log } = this.components
    const started = performance.now()
    const subject = subjectOf(request.op, request.params)
    let outcome: string = 'ok'
    // A session stream lives as long as its caller's session: no deadline, and no call slot.
    const lasting = request.op === 'session/open'
    if (!lasting && this.inFlight >= this.init.maxConcurrent) {
      outcome = 'busy'
      metrics.toolCallsServed.inc({ result: outcome })
      return { id: request.id, ok: false, code: 'busy', message: `node is serving ${this.inFlight} calls, limit ${this.init.maxConcurrent}` }
    }
    if (!lasting) this.inFlight++
    metrics.toolCallsInFlight.set(this.inFlight)
    try {
      if (remaining <= 0 && !lasting) throw new DeadlineExceededError('deadline passed before the call started')
      const signal = lasting ? gone : AbortSignal.any([gone, AbortSignal.timeout(remaining)])
      const result = await inSpan(`agent ${request.op}`, 'client', { 'dawn.agent': request.agentId, 'dawn.subject': subject }, async () => await this.components.local.call(request.agentId, request.op, request.params, signal, {
        caller: from,
        ...(request.session === undefined ? {} : { session: request.session }),
        ...(request.context === undefined ? {} : { context: request.context }),
        ...(onEvent === undefined ? {} : { onEvent })
      }))
      return { id: request.id, ok: true, result }
    } catch (err) {
      const failure = err instanceof ToolCallError ? err : new ToolCallError('agent-failed', (err as Error).message)
      outcome = failure.code
      const rpcCode = failure instanceof AgentFailedError ? failure.rpcCode : undefined
      return { id: request.id, ok: false, code: failure.code, message: failure.message.slice(0, 4096), ...(rpcCode === undefined ? {} : { rpcCode }) }
    } finally {
      if (!lasting) this.inFlight--
      metrics.toolCallsInFlight.set(this.inFlight)
      metrics.toolCallsServed.inc({ result: outcome })
      // Audit: who called what and how it ended; never the arguments or the result.
      log('info', 'tool call served', { audit: true, caller: from, agentId: request.agentId, op: request.op, subject, outcome, durationMs: Math.round(performance.now() - started) })
    }
  }
}

function asRefusal (err: unknown): Refusal {
  if (err instanceof Refusal) return err
  if (err instanceof E2EError) return new Refusal(err.reason, 'rejected', `request refused: ${err.reason}`)
  if (err instanceof MalformedCallError) return new Refusal('malformed', 'bad-request', err.message)
  return new Refusal('malformed', 'bad-request', (err as Error).message)
}

