/**
 * Agent sessions for calls whose caller can be asked things or wants logs. An agent must see
 * exactly the client capabilities of the caller driving it, and in 2025-11-25 those are fixed
 * at `initialize`; its questions and log lines carry no call id. So such a call leases a session
 * of its own, opened with the caller's capabilities and used by one call at a time, which makes
 * every question and log line belong to that call. Sessions are kept per capability set and
 * reused; calls from callers with no capabilities and no log level share the main session.
 *
 * On a 2026-07-28 agent the same shape holds at no cost: a "session" is a Client adopting the
 * agent's discover result (no round trip), whose envelope carries the caller's capabilities on
 * every request; questions arrive as `input_required` results that the Client hands to the same
 * handlers; log lines come on the request's own stream but reach only the Client-wide handler,
 * hence still one call per Client. The log level travels per request (`requestMeta`).
 */
import { LOG_LEVEL_META_KEY, type Client } from '@modelcontextprotocol/client'
import { canonicalJson } from '../registry/canonical-json.ts'
import { LOG_LEVELS, type CallEvent, type LogLevel } from '../routing/types.ts'
import type { InputRequest } from './input-rounds.ts'
import { ResourceListen } from './resource-listen.ts'

export interface CallClient {
  client: Client
  close: () => Promise<void>
}

export interface CallSessionsInit {
  /** Opens a new connected client to the agent that declares `capabilities`. */
  open: (capabilities: Record<string, unknown>, signal: AbortSignal) => Promise<CallClient>
  /** Sessions per capability set; more calls wait for one to be released. */
  maxPerKey: number
  /** An unused session is closed after this long. */
  idleMs?: number
}

/** What the call (or caller session) holding a session hears from the agent. */
export interface LeaseHandlers {
  onRequest?: (request: InputRequest, signal: AbortSignal) => Promise<Record<string, unknown>>
  onEvent?: (event: CallEvent) => void
  logLevel?: LogLevel
}

/** A session held for a caller's whole session (see SESSION_OPS), outside the pools. */
export interface DedicatedSession {
  client: Client
  /** Replaces what the holder hears; log lines pass the level set here. */
  handle: (handlers: LeaseHandlers) => void
  useLogLevel: (level: LogLevel, signal: AbortSignal) => Promise<void>
  /** `_meta` every request on this session carries (see Lease.requestMeta). */
  requestMeta: () => Record<string, unknown>
  /** resources/subscribe on 2025-11-25; on 2026-07-28 the URI joins this session's listen stream. */
  subscribe: (uri: string, signal: AbortSignal) => Promise<void>
  unsubscribe: (uri: string, signal: AbortSignal) => Promise<void>
  close: () => Promise<void>
}

export interface Lease {
  client: Client
  /** Sets the agent's log level for this session if it differs; ignores agents without logging. */
  useLogLevel: (level: LogLevel, signal: AbortSignal) => Promise<void>
  /**
   * `_meta` each request on this lease carries: on 2026-07-28, which has no logging/setLevel,
   * the holder's log level (`io.modelcontextprotocol/logLevel`); nothing on 2025-11-25.
   */
  requestMeta: () => Record<string, unknown>
  release: (broken?: boolean) => void
}

interface Pooled {
  key: string
  /** Undefined while it opens. */
  call?: CallClient
  opened?: Promise<CallClient>
  handlers: LeaseHandlers
  busy: boolean
  level?: LogLevel
  idle?: NodeJS.Timeout
}

const DEFAULT_IDLE_MS = 60_000

export class CallSessions {
  private readonly init: CallSessionsInit
  private readonly pools = new Map<string, Pooled[]>()
  private readonly waiting = new Map<string, Array<() => void>>()
  private closed = false
  private readonly dedicatedSessions = new Set<CallClient>()

  constructor (init: CallSessionsInit) {
    this.init = init
  }

  /**
   * A session for one call. `shared`: the call can be asked nothing and wants no logs, so it
   * may run beside others on one session; such sessions never serve exclusive calls.
   */
  async lease (capabilities: Record<string, unknown>, handlers: LeaseHandlers, signal: AbortSignal, shared = false): Promise<Lease> {
    const key = `${shared ? 'shared' : 'own'}:${canonicalJson(capabilities)}`
    for (;;) {
      if (this.closed) throw new Error('agent connection stopped')
      const pool = this.pools.get(key) ?? []
      // One shared session per capability set serves every such call, even while it opens.
      const first = shared ? pool[0] : undefined
      if (first?.opened !== undefined) {
        const call = await first.opened.catch(() => undefined)
        if (call !== undefined) return this.share(first, call)
        continue // its opener failed and removed it: try again, opening it ourselves
      }
      for (const p of pool) {
        if (p.call === undefined || p.busy) continue
        return this.hand(p, p.call, handlers)
      }
      if (pool.length < (shared ? 1 : this.init.maxPerKey)) {
        const opened = this.init.open(capabilities, signal)
        const pooled: Pooled = { key, handlers: {}, busy: true, opened }
        pool.push(pooled)
        this.pools.set(key, pool)
        let call: CallClient
        try {
          call = await opened
        } catch (err) {
          this.remove(pooled)
          this.waiting.get(key)?.shift()?.()
          throw err
        }
        pooled.call = call
        this.listen(pooled, call.client, capabilities)
        if (shared) {
          pooled.busy = false
          return this.share(pooled, call)
        }
        return this.hand(pooled, call, handlers)
      }
      await new Promise<void>((resolve, reject) => {
        const queue = this.waiting.get(key) ?? []
        const wake = (): void => { signal.removeEventListener('abort', abort); resolve() }
        const abort = (): void => {
          const at = queue.indexOf(wake)
          if (at >= 0) queue.splice(at, 1)
          reject(signal.reason instanceof Error ? signal.reason : new Error('the call was cancelled while waiting for an agent session'))
        }
        queue.push(wake)
        this.waiting.set(key, queue)
        signal.addEventListener('abort', abort, { once: true })
      })
    }
  }

  /** Opens a session outside the pools, for one holder until it closes it. */
  async dedicated (capabilities: Record<string, unknown>, signal: AbortSignal, onClose: () => void): Promise<DedicatedSession> {
    if (this.closed) throw new Error('agent connection stopped')
    const call = await this.init.open(capabilities, signal)
    // The agent went away (or restarted): its session state is gone, so the holder must know.
    call.client.onclose = onClose
    const pooled: Pooled = { key: 'dedicated', call, handlers: {}, busy: true }
    this.listen(pooled, call.client, capabilities)
    this.dedicatedSessions.add(call)
    // A lost listen stream loses the session's subscriptions, as a dropped 2025-11-25 session would.
    const listened = new ResourceListen(call.client, onClose)
    return {
      client: call.client,
      handle: (handlers) => { pooled.handlers = handlers },
      useLogLevel: async (level, levelSignal) => { await this.useLogLevel(pooled, call.client, level, levelSignal) },
      requestMeta: () => requestMeta(pooled, call.client),
      subscribe: async (uri, subscribeSignal) => {
        if (!isModern(call.client)) await call.client.subscribeResource({ uri }, { signal: subscribeSignal })
        else await listened.subscribe(uri, subscribeSignal)
      },
      unsubscribe: async (uri, unsubscribeSignal) => {
        if (!isModern(call.client)) await call.client.unsubscribeResource({ uri }, { signal: unsubscribeSignal })
        else await listened.unsubscribe(uri, unsubscribeSignal)
      },
      close: async () => {
        this.dedicatedSessions.delete(call)
        pooled.handlers = {}
        await listened.close()
        await call.close().catch(() => {})
      }
    }
  }

  /** Closes every session (e.g. the agent's main connection dropped, so these are suspect too). */
  async reset (): Promise<void> {
    const all = [...this.pools.values()].flat()
    this.pools.clear()
    await Promise.all(all.map(async (p) => { clearTimeout(p.idle); await p.call?.close().catch(() => {}) }))
  }

  async closeAll (): Promise<void> {
    this.closed = true
    const dedicated = [...this.dedicatedSessions]
    this.dedicatedSessions.clear()
    await Promise.all(dedicated.map(async (call) => { await call.close().catch(() => {}) }))
    const all = [...this.pools.values()].flat()
    this.pools.clear()
    for (const queue of this.waiting.values()) for (const wake of queue) wake()
    this.waiting.clear()
    await Promise.all(all.map(async (p) => { clearTimeout(p.idle); await p.call?.close().catch(() => {}) }))
  }

  /** A shared session stays open while the connection lives; its users hold no lock. */
  private share (pooled: Pooled, call: CallClient): Lease {
    return {
      client: call.client,
      useLogLevel: async () => {},
      requestMeta: () => ({}),
      release: (broken = false) => {
        if (!broken) return
        this.remove(pooled)
        void call.close().catch(() => {})
      }
    }
  }

  private hand (pooled: Pooled, call: CallClient, handlers: LeaseHandlers): Lease {
    clearTimeout(pooled.idle)
    pooled.busy = true
    pooled.handlers = handlers
    let released = false
    return {
      client: call.client,
      useLogLevel: async (level, signal) => { await this.useLogLevel(pooled, call.client, level, signal) },
      requestMeta: () => requestMeta(pooled, call.client),
      release: (broken = false) => {
        if (released) return
        released = true
        pooled.handlers = {}
        pooled.busy = false
        if (broken || this.closed) {
          this.remove(pooled)
          void call.close().catch(() => {})
        } else {
          pooled.idle = setTimeout(() => {
            if (pooled.busy) return
            this.remove(pooled)
            void call.close().catch(() => {})
          }, this.init.idleMs ?? DEFAULT_IDLE_MS)
          pooled.idle.unref()
        }
        this.waiting.get(pooled.key)?.shift()?.()
      }
    }
  }

  /** 2025-11-25 keeps the level in the agent's session; 2026-07-28 sends it with each request instead. */
  private async useLogLevel (pooled: Pooled, client: Client, level: LogLevel, signal: AbortSignal): Promise<void> {
    if (isModern(client) || pooled.level === level || client.getServerCapabilities()?.logging === undefined) return
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- what a 2025-11-25 agent understands; 2026-07-28 returned above
    await client.setLoggingLevel(level, { signal })
    pooled.level = level
  }

  /** The agent's questions and log lines go to whichever call holds the session now. */
  private listen (pooled: Pooled, client: Client, capabilities: Record<string, unknown>): void {
    const ask = async (request: InputRequest, signal: AbortSignal): Promise<Record<string, unknown>> => {
      const onRequest = pooled.handlers.onRequest
      if (onRequest === undefined) throw new Error('no call is waiting for this answer')
      return await onRequest(request, signal)
    }
    // Serves both a 2025-11-25 agent's server→client request and a 2026-07-28 agent's embedded
    // input request, which the Client's input-required driver dispatches to these same handlers.
    const asked = (method: InputRequest['method']) => async (request: { params?: Record<string, unknown> }, ctx: { mcpReq: { signal: AbortSignal } }) =>
      await ask({ method, ...(request.params === undefined ? {} : { params: stripMeta(request.params) }) }, ctx.mcpReq.signal) as never
    if (capabilities.elicitation !== undefined) client.setRequestHandler('elicitation/create', asked('elicitation/create'))
    if (capabilities.sampling !== undefined) client.setRequestHandler('sampling/createMessage', asked('sampling/createMessage'))
    if (capabilities.roots !== undefined) client.setRequestHandler('roots/list', asked('roots/list'))
    client.setNotificationHandler('notifications/message', (notification) => {
      const { onEvent, logLevel } = pooled.handlers
      const { level, logger, data } = notification.params
      if (onEvent === undefined || logLevel === undefined || LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(logLevel)) return
      onEvent({ method: 'notifications/message', params: { level, data, ...(logger === undefined ? {} : { logger }) } })
    })
    client.setNotificationHandler('notifications/resources/updated', (notification) => {
      pooled.handlers.onEvent?.({ method: 'notifications/resources/updated', params: { uri: notification.params.uri } })
    })
    for (const method of ['notifications/tools/list_changed', 'notifications/prompts/list_changed', 'notifications/resources/list_changed'] as const) {
      client.setNotificationHandler(method, () => { pooled.handlers.onEvent?.({ method }) })
    }
  }

  private remove (pooled: Pooled): void {
    clearTimeout(pooled.idle)
    const pool = this.pools.get(pooled.key)
    if (pool === undefined) return
    const at = pool.indexOf(pooled)
    if (at >= 0) pool.splice(at, 1)
    if (pool.length === 0) this.pools.delete(pooled.key)
  }
}

function isModern (client: Client): boolean {
  return client.getProtocolEra() === 'modern'
}

function requestMeta (pooled: Pooled, client: Client): Record<string, unknown> {
  const level = pooled.handlers.logLevel
  return isModern(client) && level !== undefined ? { [LOG_LEVEL_META_KEY]: level } : {}
}

/** The agent's `_meta` (e.g. its progress token for the question) is its own, not the caller's. */
function stripMeta (params: Record<string, unknown>): Record<string, unknown> {
  const { _meta: _, ...rest } = params
  return rest
}
