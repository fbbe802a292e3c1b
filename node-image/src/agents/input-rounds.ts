/**
 * Bridges an agent that asks its caller mid-call (2025-11-25: `elicitation/create`,
 * `sampling/createMessage`, `roots/list` as server→client requests) to callers that answer
 * in rounds (2026-07-28 MRTR). When the agent asks, the call is parked on this node and the
 * request that drove it returns `input_required` with the questions and a sealed
 * `requestState`. The retry, arriving through any node with `inputResponses`, resumes the
 * parked call here. The entry node turns rounds back into server→client requests for a
 * 2025-11-25 caller, so every caller and every agent meet in this one shape.
 */
import { randomBytes } from 'node:crypto'
import { DeadlineExceededError, InvalidRequestStateError, ToolCallError } from '../routing/errors.ts'
import type { LocalCallOptions } from '../routing/tool-router.ts'
import type { AgentOp, CallEvent } from '../routing/types.ts'
import { RequestStateCodec } from './request-state.ts'
import type { DedicatedSession } from './call-sessions.ts'
import { isRecord } from '../validation/is-record.ts'

/** What an agent may ask its caller during a call. */
export const INPUT_METHODS = ['elicitation/create', 'sampling/createMessage', 'roots/list'] as const
export type InputMethod = typeof INPUT_METHODS[number]
export interface InputRequest { method: InputMethod, params?: Record<string, unknown> }

export interface AgentCallOptions extends LocalCallOptions {
  /** The agent asked its caller something; resolves with the caller's answer (an MCP result object). */
  onRequest?: (request: InputRequest, signal: AbortSignal) => Promise<Record<string, unknown>>
  /** Run on this caller session's agent session instead of a per-call one. */
  dedicated?: DedicatedSession
}

export interface InputRoundsComponents {
  agents: { call: (agentId: string, op: AgentOp, params: Record<string, unknown>, signal: AbortSignal, opts?: AgentCallOptions) => Promise<Record<string, unknown>> }
}

export interface InputRoundsInit {
  selfId: string
  /** How long a parked call waits for the caller's retry. */
  stateTtlMs?: number
  /** Parked calls held at once; an agent that asks beyond it gets an error. */
  maxParked?: number
}

interface Question {
  request: InputRequest
  resolve: (answer: Record<string, unknown>) => void
  reject: (err: Error) => void
}

interface Parked {
  id: string
  bind: string
  controller: AbortController
  /** Questions the caller has not answered yet, by the key the caller sees. */
  questions: Map<string, Question>
  nextKey: number
  outcome?: { result: Record<string, unknown> } | { error: unknown }
  /** Wakes the request waiting on this call, if any. */
  wake?: () => void
  /** Events go to the request currently driving the call; between rounds they are dropped. */
  onEvent?: (event: CallEvent) => void
  expiry?: NodeJS.Timeout
}

const DEFAULT_TTL_MS = 10 * 60 * 1000
const DEFAULT_MAX_PARKED = 1024

export class InputRounds {
  private readonly agents: InputRoundsComponents['agents']
  private readonly codec: RequestStateCodec
  private readonly ttlMs: number
  private readonly maxParked: number
  private readonly parked = new Map<string, Parked>()

  constructor (components: InputRoundsComponents, init: InputRoundsInit) {
    this.agents = components.agents
    this.codec = new RequestStateCodec(init.selfId)
    this.ttlMs = init.stateTtlMs ?? DEFAULT_TTL_MS
    this.maxParked = init.maxParked ?? DEFAULT_MAX_PARKED
  }

  /** Calls in flight or waiting for a retry; for tests and metrics. */
  get size (): number {
    return this.parked.size
  }

  async call (agentId: string, op: AgentOp, params: Record<string, unknown>, signal: AbortSignal, opts: LocalCallOptions = {}): Promise<Record<string, unknown>> {
    const { requestState, inputResponses, ...agentParams } = params
    const bind = `${agentId}\n${op}\n${subjectKey(agentParams)}`
    if (requestState !== undefined || inputResponses !== undefined) return await this.resume(bind, requestState, inputResponses, signal, opts)
    if (!canBeAsked(opts.context?.capabilities)) return await this.agents.call(agentId, op, agentParams, signal, opts)

    const parked: Parked = { id: randomBytes(16).toString('hex'), bind, controller: new AbortController(), questions: new Map(), nextKey: 1 }
    this.parked.set(parked.id, parked)
    const onRequest = async (request: InputRequest, asked: AbortSignal): Promise<Record<string, unknown>> => await this.ask(parked, request, asked)
    this.agents.call(agentId, op, agentParams, parked.controller.signal, { ...opts, onEvent: (event) => { parked.onEvent?.(event) }, onRequest })
      .then((result) => { parked.outcome = { result } }, (error: unknown) => { parked.outcome = { error } })
      .finally(() => { parked.wake?.() })
    return await this.drive(parked, signal, opts.onEvent)
  }

  /** Ends every parked call (node shutdown). */
  stop (): void {
    for (const parked of this.parked.values()) this.cancel(parked, new ToolCallError('agent-failed', 'node is shutting down'))
  }

  private async resume (bind: string, state: unknown, responses: unknown, signal: AbortSignal, opts: LocalCallOptions): Promise<Record<string, unknown>> {
    if (typeof state !== 'string') throw new InvalidRequestStateError('inputResponses came without the requestState they answer')
    const claims = this.codec.verify(state, bind)
    if ('reason' in claims) throw new InvalidRequestStateError(`requestState refused: ${claims.reason}`)
    const parked = this.parked.get(claims.parkId)
    if (parked === undefined) throw new InvalidRequestStateError('the call this requestState continues has ended or expired')
    if (parked.wake !== undefined) throw new InvalidRequestStateError('this requestState is already being answered by another request')
    if (responses !== undefined && !isRecord(responses)) throw new ToolCallError('bad-request', 'inputResponses must be an object keyed by the input request keys')
    clearTimeout(parked.expiry)
    parked.expiry = undefined
    // Keys never asked are ignored, as the specification says; unanswered ones are asked again.
    for (const [key, answer] of Object.entries(responses ?? {})) {
      const question = parked.questions.get(key)
      if (question === undefined || !isRecord(answer)) continue
      parked.questions.delete(key)
      question.resolve(answer)
    }
    return await this.drive(parked, signal, opts.onEvent)
  }

  /** Waits for the agent's result or its next questions, whichever comes first. */
  private async drive (parked: Parked, signal: AbortSignal, onEvent: ((event: CallEvent) => void) | undefined): Promise<Record<string, unknown>> {
    parked.onEvent = onEvent
    try {
      for (;;) {
        if (parked.outcome !== undefined) {
          this.forget(parked)
          if ('error' in parked.outcome) throw parked.outcome.error
          return parked.outcome.result
        }
        if (parked.questions.size > 0) {
          // Questions asked together go out together.
          await new Promise((resolve) => setImmediate(resolve))
          if (!settled(parked)) return this.inputRequired(parked)
        }
        signal.throwIfAborted()
        await new Promise<void>((resolve) => {
          const done = (): void => { signal.removeEventListener('abort', done); parked.wake = undefined; resolve() }
          parked.wake = done
          signal.addEventListener('abort', done, { once: true })
        })
        // Closing the request's stream cancels the call in 2026-07-28, and a deadline ends it either way.
        if (signal.aborted) {
          const err = new DeadlineExceededError('the call was cancelled or ran past its deadline while waiting for the agent')
          this.cancel(parked, err)
          throw err
        }
      }
    } finally {
      parked.onEvent = undefined
      parked.wake = undefined
    }
  }

  private inputRequired (parked: Parked): Record<string, unknown> {
    const waiting = [...this.parked.values()].filter((p) => p.expiry !== undefined).length
    if (waiting >= this.maxParked) {
      const err = new ToolCallError('busy', `${waiting} calls are waiting for their callers' input, limit ${this.maxParked}`)
      this.cancel(parked, err)
      throw err
    }
    const expiresAt = Date.now() + this.ttlMs
    parked.expiry = setTimeout(() => { this.cancel(parked, new DeadlineExceededError('no retry answered the input request in time')) }, this.ttlMs)
    parked.expiry.unref()
    const inputRequests = Object.fromEntries([...parked.questions].map(([key, q]) => [key, q.request.params === undefined ? { method: q.request.method } : q.request]))
    return { resultType: 'input_required', inputRequests, requestState: this.codec.mint(parked.id, expiresAt, parked.bind) }
  }

  private async ask (parked: Parked, request: InputRequest, asked: AbortSignal): Promise<Record<string, unknown>> {
    if (!this.parked.has(parked.id)) throw new ToolCallError('agent-failed', 'the call ended')
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      const key = `q${parked.nextKey++}`
      const drop = (): void => {
        parked.questions.delete(key)
        reject(asked.reason instanceof Error ? asked.reason : new Error('the agent withdrew its request'))
      }
      asked.addEventListener('abort', drop, { once: true })
      parked.questions.set(key, {
        request,
        resolve: (answer) => { asked.removeEventListener('abort', drop); resolve(answer) },
        reject: (err) => { asked.removeEventListener('abort', drop); reject(err) }
      })
      parked.wake?.()
    })
  }

  private cancel (parked: Parked, err: ToolCallError): void {
    this.forget(parked)
    for (const question of parked.questions.values()) question.reject(err)
    parked.questions.clear()
    parked.controller.abort(err)
  }

  private forget (parked: Parked): void {
    clearTimeout(parked.expiry)
    parked.expiry = undefined
    this.parked.delete(parked.id)
  }
}

/** Read through a call: the agent may have answered while we awaited. */
function settled (parked: Parked): boolean {
  return parked.outcome !== undefined
}

/** Only a caller that declared elicitation, sampling or roots can be asked anything. */
export function canBeAsked (capabilities: Record<string, unknown> | undefined): boolean {
  return capabilities !== undefined && ['elicitation', 'sampling', 'roots'].some((k) => capabilities[k] !== undefined)
}

function subjectKey (params: Record<string, unknown>): string {
  const value = typeof params.name === 'string' ? params.name : params.uri
  return typeof value === 'string' ? value : ''
}
