/**
 * Agent sessions for calls whose caller can be asked things or wants logs. An agent must see
 * exactly the client capabilities of the caller driving it, and in 2025-11-25 those are fixed
 * at `initialize`; its questions and log lines carry no call id. So such a call leases a session
 * of its own, opened with the caller's capabilities and used by one call at a time, which makes
 * every question and log line belong to that call. Sessions are kept per capability set and
 * reused; calls from callers with no capabilities and no log level share the main session.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  PromptListChangedNotificationSchema,
  ResourceListChangedNotificationSchema,
  ResourceUpdatedNotificationSchema,
  ToolListChangedNotificationSchema
} from '@modelcontextprotocol/sdk/types.js'
import { canonicalJson } from '../registry/canonical-json.ts'
import { LOG_LEVELS, type CallEvent, type LogLevel } from '../routing/types.ts'
import type { InputRequest } from './input-rounds.ts'

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
  close: () => Promise<void>
}

export interface Lease {
  client: Client
  /** Sets the agent's log level for this session if it differs; ignores agents without logging. */
  useLogLevel: (level: LogLevel, signal: AbortSignal) => Promise<void>
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
    return {
      client: call.client,
      handle: (handlers) => { pooled.handlers = handlers },
      useLogLevel: async (level, levelSignal) => {
        if (pooled.level === level || call.client.getServerCapabilities()?.logging === undefined) return
        await call.client.setLoggingLevel(level, { signal: levelSignal })
        pooled.level = level
      },
      close: async () => {
        this.dedicatedSessions.delete(call)
        pooled.handlers = {}
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
      useLogLevel: async (level, signal) => {
        if (pooled.level === level || call.client.getServerCapabilities()?.logging === undefined) return
        await call.client.setLoggingLevel(level, { signal })
        pooled.level = level
      },
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

  /** The agent's questions and log lines go to whichever call holds the session now. */
  private listen (pooled: Pooled, client: Client, capabilities: Record<string, unknown>): void {
    const ask = async (request: InputRequest, signal: AbortSignal): Promise<Record<string, unknown>> => {
      const onRequest = pooled.handlers.onRequest
      if (onRequest === undefined) throw new Error('no call is waiting for this answer')
      return await onRequest(request, signal)
    }
    const asked = (method: InputRequest['method']) => async (request: { params?: Record<string, unknown> }, extra: { signal: AbortSignal }) =>
      await ask({ method, ...(request.params === undefined ? {} : { params: stripMeta(request.params) }) }, extra.signal) as never
    if (capabilities.elicitation !== undefined) client.setRequestHandler(ElicitRequestSchema, asked('elicitation/create'))
    if (capabilities.sampling !== undefined) client.setRequestHandler(CreateMessageRequestSchema, asked('sampling/createMessage'))
    if (capabilities.roots !== undefined) client.setRequestHandler(ListRootsRequestSchema, asked('roots/list'))
    client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
      const { onEvent, logLevel } = pooled.handlers
      const { level, logger, data } = notification.params
      if (onEvent === undefined || logLevel === undefined || LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(logLevel)) return
      onEvent({ method: 'notifications/message', params: { level, data, ...(logger === undefined ? {} : { logger }) } })
    })
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
      pooled.handlers.onEvent?.({ method: 'notifications/resources/updated', params: { uri: notification.params.uri } })
    })
    for (const [schema, method] of [
      [ToolListChangedNotificationSchema, 'notifications/tools/list_changed'],
      [PromptListChangedNotificationSchema, 'notifications/prompts/list_changed'],
      [ResourceListChangedNotificationSchema, 'notifications/resources/list_changed']
    ] as const) {
      client.setNotificationHandler(schema, () => { pooled.handlers.onEvent?.({ method }) })
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

/** The agent's `_meta` (e.g. its progress token for the question) is its own, not the caller's. */
function stripMeta (params: Record<string, unknown>): Record<string, unknown> {
  const { _meta: _, ...rest } = params
  return rest
}
