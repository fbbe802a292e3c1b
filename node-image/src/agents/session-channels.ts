/**
 * The host side of caller sessions (SESSION_OPS): for each 2025-11-25 client session that
 * reaches one of this node's agents, one agent session of its own, opened with that client's
 * capabilities. Calls of that session run on it; its log level and subscriptions are set on
 * it; what the agent sends on it (log lines, resource updates, questions) goes back on the
 * `session/open` stream. A channel is named by the calling peer and an id that peer chose,
 * so one peer can never touch another's.
 */
import type { DedicatedSession } from './call-sessions.ts'
import type { InputMethod } from './input-rounds.ts'
import { AgentFailedError, ToolCallError } from '../routing/errors.ts'
import { LOG_LEVELS, type CallContext, type CallEvent, type SessionOp } from '../routing/types.ts'
import { isRecord } from '../validation/is-record.ts'
import { sleep } from '../timing/backoff.ts'

export interface SessionChannelsComponents {
  agents: {
    openSession: (agentId: string, capabilities: Record<string, unknown>, signal: AbortSignal, onClose: () => void) => Promise<DedicatedSession>
  }
}

export interface SessionChannelsInit {
  maxPerPeer?: number
  maxTotal?: number
  /** A channel with no stream and no request for this long is closed. */
  idleMs?: number
  /** How long the agent waits for the caller's answer to a question. */
  answerTimeoutMs?: number
  /**
   * How long a question waits for the caller's `session/open` stream. The entry node
   * opens that stream and sends the session's first call at once, on different streams,
   * so the call (and an agent's first question) can arrive before the stream does.
   */
  attachGraceMs?: number
}

interface Question { resolve: (answer: Record<string, unknown>) => void, reject: (err: Error) => void }

interface Channel {
  key: string
  peer: string
  agentId: string
  opening: Promise<DedicatedSession>
  sink?: (event: CallEvent) => void
  /** Resolves when a session/open stream attaches (markAttached). */
  attached: Promise<void>
  markAttached: () => void
  questions: Map<string, Question>
  nextQuestion: number
  idle?: NodeJS.Timeout
  closed: AbortController
}

const MAX_QUESTIONS = 32

export class SessionChannels {
  private readonly agents: SessionChannelsComponents['agents']
  private readonly init: Required<SessionChannelsInit>
  private readonly channels = new Map<string, Channel>()

  constructor (components: SessionChannelsComponents, init: SessionChannelsInit = {}) {
    this.agents = components.agents
    this.init = { maxPerPeer: 256, maxTotal: 4096, idleMs: 10 * 60_000, answerTimeoutMs: 10 * 60_000, attachGraceMs: 10_000, ...init }
  }

  get size (): number {
    return this.channels.size
  }

  /** `session/open`: attaches the stream that carries the session's notifications, until it closes. */
  async open (peer: string, id: string, agentId: string, context: CallContext | undefined, onEvent: ((event: CallEvent) => void) | undefined, signal: AbortSignal): Promise<Record<string, unknown>> {
    if (onEvent === undefined) throw new ToolCallError('bad-request', 'session/open needs a stream that carries events')
    const channel = this.channel(peer, id, agentId, context)
    await channel.opening
    channel.sink = onEvent
    channel.markAttached()
    clearTimeout(channel.idle)
    await new Promise<void>((resolve) => {
      if (signal.aborted || channel.closed.signal.aborted) { resolve(); return }
      signal.addEventListener('abort', () => { resolve() }, { once: true })
      channel.closed.signal.addEventListener('abort', () => { resolve() }, { once: true })
    })
    this.close(channel)
    return {}
  }

  /** The agent session a call naming this caller session runs on; undefined when the agent cannot have one. */
  async sessionFor (peer: string, id: string, agentId: string, context: CallContext | undefined): Promise<DedicatedSession | undefined> {
    const channel = this.channel(peer, id, agentId, context)
    this.touch(channel)
    return await channel.opening.catch(() => undefined)
  }

  /** The session ops other than `session/open`. */
  async request (peer: string, id: string, agentId: string, op: SessionOp, params: Record<string, unknown>, signal: AbortSignal, context: CallContext | undefined): Promise<Record<string, unknown>> {
    const channel = this.channel(peer, id, agentId, context)
    const session = await channel.opening
    this.touch(channel)
    switch (op) {
      case 'session/open': throw new ToolCallError('bad-request', 'session/open is served by open()')
      case 'session/answer': return this.answer(channel, params)
      case 'logging/setLevel': {
        const level = LOG_LEVELS.find((l) => l === params.level)
        if (level === undefined) throw new ToolCallError('bad-request', 'logging/setLevel needs a valid level')
        session.handle(this.handlers(channel, level))
        await session.useLogLevel(level, signal)
        return {}
      }
      case 'resources/subscribe':
      case 'resources/unsubscribe': {
        if (typeof params.uri !== 'string') throw new ToolCallError('bad-request', `${op} needs a uri`)
        const uri = params.uri
        await (op === 'resources/subscribe' ? session.subscribe(uri, signal) : session.unsubscribe(uri, signal))
        return {}
      }
    }
  }

  stop (): void {
    for (const channel of [...this.channels.values()]) this.close(channel)
  }

  private channel (peer: string, id: string, agentId: string, context: CallContext | undefined): Channel {
    const key = `${peer}\n${id}`
    const existing = this.channels.get(key)
    if (existing !== undefined) {
      if (existing.agentId !== agentId) throw new ToolCallError('bad-request', 'this session belongs to another agent')
      return existing
    }
    const mine = [...this.channels.values()].filter((c) => c.peer === peer).length
    if (mine >= this.init.maxPerPeer || this.channels.size >= this.init.maxTotal) {
      throw new ToolCallError('busy', `too many caller sessions (${mine} from this node, ${this.channels.size} in all)`)
    }
    const closed = new AbortController()
    let markAttached = (): void => {}
    const attached = new Promise<void>((resolve) => { markAttached = resolve })
    const channel: Channel = { key, peer, agentId, opening: undefined as unknown as Promise<DedicatedSession>, attached, markAttached, questions: new Map(), nextQuestion: 1, closed }
    channel.opening = this.agents.openSession(agentId, context?.capabilities ?? {}, closed.signal, () => { this.close(channel) })
      .then(async (session) => {
        const level = context?.logLevel
        session.handle(this.handlers(channel, level))
        if (level !== undefined) await session.useLogLevel(level, closed.signal).catch(() => {})
        return session
      })
    channel.opening.catch(() => { this.channels.delete(key) })
    this.channels.set(key, channel)
    this.touch(channel)
    return channel
  }

  /** Log lines pass the session's level; questions go to the caller's stream and wait for its answer. */
  private handlers (channel: Channel, logLevel: CallContext['logLevel']): Parameters<DedicatedSession['handle']>[0] {
    return {
      ...(logLevel === undefined ? {} : { logLevel }),
      onEvent: (event) => { channel.sink?.(event) },
      onRequest: async (request, signal) => await this.ask(channel, request.method, request.params, signal)
    }
  }

  private async ask (channel: Channel, method: InputMethod, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<Record<string, unknown>> {
    const sink = channel.sink ?? await this.streamOf(channel, signal)
    if (sink === undefined) throw new AgentFailedError('the caller has no open session stream to answer on')
    if (channel.questions.size >= MAX_QUESTIONS) throw new AgentFailedError(`${MAX_QUESTIONS} questions are already waiting for the caller`)
    const id = `q${channel.nextQuestion++}`
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timeout = setTimeout(() => { done(); reject(new AgentFailedError('the caller did not answer in time')) }, this.init.answerTimeoutMs)
      const abort = (): void => { done(); reject(new AgentFailedError('the question was withdrawn')) }
      const done = (): void => {
        clearTimeout(timeout)
        signal.removeEventListener('abort', abort)
        channel.questions.delete(id)
      }
      signal.addEventListener('abort', abort, { once: true })
      channel.questions.set(id, { resolve: (answer) => { done(); resolve(answer) }, reject: (err) => { done(); reject(err) } })
      sink({ method: 'dawn/question', params: { id, method, ...(params === undefined ? {} : { params }) } })
    })
  }

  /** The caller's stream once it attaches, or undefined after attachGraceMs (or when the question or the channel ends first). */
  private async streamOf (channel: Channel, signal: AbortSignal): Promise<((event: CallEvent) => void) | undefined> {
    const stop = new AbortController()
    try {
      await Promise.race([channel.attached, sleep(this.init.attachGraceMs, AbortSignal.any([signal, channel.closed.signal, stop.signal]))])
    } finally {
      stop.abort()
    }
    return channel.sink
  }

  private answer (channel: Channel, params: Record<string, unknown>): Record<string, unknown> {
    const question = typeof params.id === 'string' ? channel.questions.get(params.id) : undefined
    if (question === undefined) throw new ToolCallError('bad-request', 'no question with this id is waiting on this session')
    const { result, error } = params
    if (typeof error === 'string') question.reject(new AgentFailedError(error.slice(0, 1024)))
    else if (isRecord(result)) question.resolve(result)
    else throw new ToolCallError('bad-request', 'session/answer needs a result object or an error')
    return {}
  }

  private touch (channel: Channel): void {
    clearTimeout(channel.idle)
    if (channel.sink !== undefined) return
    channel.idle = setTimeout(() => { this.close(channel) }, this.init.idleMs)
    channel.idle.unref()
  }

  private close (channel: Channel): void {
    if (this.channels.get(channel.key) !== channel) return
    this.channels.delete(channel.key)
    clearTimeout(channel.idle)
    channel.closed.abort()
    for (const question of channel.questions.values()) question.reject(new AgentFailedError('the caller session ended'))
    channel.opening.then(async (session) => { await session.close() }, () => {})
  }
}
