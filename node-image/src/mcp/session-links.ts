/**
 * The entry side of caller sessions (SESSION_OPS): one per 2025-11-25 client session. The
 * first time the session reaches an agent, it opens a `session/open` stream to that agent's
 * node and names the session on every call, so the client has one agent session per agent,
 * as it would connecting directly. The stream brings back what the agent says outside calls:
 * log lines, resource updates, and questions, which the client answers as server→client requests.
 */
import type { LogFn } from '../logging/json-logger.ts'
import type { InputRequest } from '../agents/input-rounds.ts'
import { randomBytes } from 'node:crypto'
import { AgentFailedError } from '../routing/errors.ts'
import { formatTarget, type AgentTarget, type CallContext, type CallEvent, type LogLevel, type MeshCaller } from '../routing/types.ts'

export interface SessionLinksComponents {
  caller: MeshCaller
  /** The client's capabilities and current log level. */
  context: () => CallContext
  /** A log line, resource update or list change from an agent, for the client. */
  deliver: (target: AgentTarget, event: SessionEvent) => void
  /** Asks the client as a server→client request. */
  ask: (request: InputRequest, signal: AbortSignal) => Promise<Record<string, unknown>>
  log: LogFn
}

/** What an agent says on a caller's session outside any call. */
export type SessionEvent = Exclude<CallEvent, { method: 'notifications/progress' | 'dawn/question' }>

interface Link {
  id: string
  target: AgentTarget
  controller: AbortController
  /** Until when the agent is called without a session: it could not have one (stdio, static, a node reached by flood only). */
  unavailableUntil?: number
}

/** How long a failed session/open keeps calls to that agent sessionless before trying again. */
const RETRY_MS = 30_000

export class SessionLinks {
  private readonly components: SessionLinksComponents
  private readonly links = new Map<string, Link>()
  private closed = false

  constructor (components: SessionLinksComponents) {
    this.components = components
  }

  /** The node of this session's live agent session with `agentId`, if it has one: calls by the agent's logical name stay there. */
  linkedTo (agentId: string): string | undefined {
    for (const link of this.links.values()) {
      if (link.target.agentId === agentId && link.unavailableUntil === undefined) return link.target.nodeId
    }
    return undefined
  }

  /** The session id to name on a call to `target`, opening the link on first use; undefined when the agent cannot have one. */
  idFor (target: AgentTarget): string | undefined {
    if (this.closed) return undefined
    const key = formatTarget(target)
    let link = this.links.get(key)
    if (link?.unavailableUntil !== undefined && link.unavailableUntil <= Date.now()) {
      this.links.delete(key)
      link = undefined
    }
    link ??= this.open(target)
    return link.unavailableUntil === undefined ? link.id : undefined
  }

  async subscribe (target: AgentTarget, uri: string, subscribe: boolean, signal: AbortSignal): Promise<void> {
    const session = this.idFor(target)
    if (session === undefined) throw new AgentFailedError(`agent ${formatTarget(target)} cannot keep subscriptions for this session`)
    await this.components.caller.call(target, subscribe ? 'resources/subscribe' : 'resources/unsubscribe', { uri }, { session, context: this.components.context(), signal })
  }

  /** Applies the client's new level to every agent session it has. */
  async setLevel (level: LogLevel, signal: AbortSignal): Promise<void> {
    await Promise.all([...this.links.values()].filter((l) => l.unavailableUntil === undefined).map(async (link) => {
      await this.components.caller.call(link.target, 'logging/setLevel', { level }, { session: link.id, context: this.components.context(), signal })
        .catch((err: unknown) => { this.components.log('debug', 'agent session level not set', { target: formatTarget(link.target), error: (err as Error).message }) })
    }))
  }

  close (): void {
    this.closed = true
    for (const link of this.links.values()) link.controller.abort()
    this.links.clear()
  }

  private open (target: AgentTarget): Link {
    const link: Link = { id: randomBytes(16).toString('hex'), target, controller: new AbortController() }
    const key = formatTarget(target)
    this.links.set(key, link)
    const { caller, context, deliver, log } = this.components
    const onEvent = (event: CallEvent): void => {
      if (event.method === 'dawn/question') {
        void this.answer(link, event.params)
        return
      }
      if (event.method !== 'notifications/progress') deliver(target, event)
    }
    caller.call(target, 'session/open', {}, { session: link.id, context: context(), onEvent, signal: link.controller.signal })
      .then(() => { this.drop(key, link) }, (err: unknown) => {
        if (link.controller.signal.aborted) return
        log('debug', 'agent session ended', { target: key, error: (err as Error).message })
        // Calls go sessionless for a while rather than retrying the stream on each one.
        link.unavailableUntil = Date.now() + RETRY_MS
      })
    return link
  }

  private drop (key: string, link: Link): void {
    if (this.links.get(key) === link) this.links.delete(key)
  }

  private async answer (link: Link, question: Extract<CallEvent, { method: 'dawn/question' }>['params']): Promise<void> {
    const { caller, context, ask } = this.components
    const signal = link.controller.signal
    let reply: Record<string, unknown>
    try {
      reply = { id: question.id, result: await ask({ method: question.method, ...(question.params === undefined ? {} : { params: question.params }) }, signal) }
    } catch (err) {
      reply = { id: question.id, error: (err as Error).message.slice(0, 1024) }
    }
    await caller.call(link.target, 'session/answer', reply, { session: link.id, context: context(), signal })
      .catch((err: unknown) => { this.components.log('debug', 'answer to an agent question not delivered', { target: formatTarget(link.target), error: (err as Error).message }) })
  }
}
