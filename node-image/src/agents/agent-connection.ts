/**
 * One configured agent (builtin, remote or stdio) as a connected MCP Client: connects,
 * keeps its lists (ListSync), and reconnects with backoff when connecting fails or the
 * connection drops, until stop(). A remote agent offering 2026-07-28 is spoken to in it
 * (see versionNegotiation); the loss of its listen stream counts as a dropped connection.
 */
import { backoffDelay, sleep } from '../timing/backoff.ts'
import {
  Client,
  ProtocolError,
  SdkHttpError,
  UnauthorizedError,
  type McpSubscription,
  type PriorDiscovery,
  type Transport
} from '@modelcontextprotocol/client'
import { TypedEventEmitter } from 'main-event'
import type { LogFn } from '../logging/json-logger.ts'
import { VERSION } from '../version.ts'
import type { AgentPrompt, AgentResource, AgentResourceTemplate, AgentTool } from '../registry/agent-record.ts'
import type { AgentOp } from '../routing/types.ts'
import { CallSessions, type CallClient, type DedicatedSession } from './call-sessions.ts'
import { RELAYABLE_CAPABILITIES, runAgentRequest } from './agent-requests.ts'
import type { AgentCallOptions } from './input-rounds.ts'
import { BuiltinConfigError, createBuiltinSpec } from './builtin/index.ts'
import type { MeshFacade } from './builtin/mesh.ts'
import type { ContentFacade } from '../storage/content-api.ts'
import { callSpecTool, type ServerSpec } from './define-server.ts'
import { endRemoteSession, openTransport, transportPid, versionNegotiation } from './agent-transports.ts'
import type { BuiltinAgentConfig, RuntimeAgentConfig } from './agent-transports.ts'
import { errorMessage } from './error-message.ts'
import { clip } from './list-mapper.ts'
import { ListSync } from './list-sync.ts'
import { SessionHealth } from './session-health.ts'

export type AgentState = 'connecting' | 'connected' | 'failed' | 'stopped'

export interface AgentStatus {
  state: AgentState
  /** Why the last attempt failed or the connection dropped. */
  error?: string
  /** The child process of a connected stdio agent. */
  pid?: number
}

export interface AgentConnectionInit {
  config: RuntimeAgentConfig
  dataDir: string
  /** First reconnect delay; doubles per failure up to maxBackoffMs, ±20 % jitter. */
  minBackoffMs?: number
  maxBackoffMs?: number
  /** Limit for initialize, each list page and health pings. */
  requestTimeoutMs?: number
  /** start() waits at most this long for the first attempt. */
  firstAttemptMs?: number
  /** Remote agents are pinged this often while connected. */
  healthCheckMs?: number
}

export interface AgentConnectionComponents {
  log: LogFn
  mesh?: MeshFacade
  content?: ContentFacade
}

export interface AgentConnectionEvents {
  /** A tool, resource or prompt list changed. */
  change: CustomEvent<void>
  status: CustomEvent<AgentStatus>
}

/** The agent has no live connection right now (connecting, failed or stopped). */
export class AgentNotConnectedError extends Error {
  readonly status: AgentStatus
  constructor (agentId: string, status: AgentStatus) {
    super(`agent ${agentId} is not connected (${status.state}${status.error === undefined ? '' : `: ${status.error}`})`)
    this.name = 'AgentNotConnectedError'
    this.status = status
  }
}

/** A connection must stay up this long before the backoff starts over at its minimum. */
const STABLE_MS = 10_000
const MAX_STDERR_LINE = 2000
const CLOSE_TIMEOUT_MS = 2000

interface Session {
  client: Client
  transport: Transport
  /** Resolves with the reason once the connection is gone. */
  closed: Promise<string>
  connectedAt: number
  pid?: number
  closing?: Promise<void>
  /** Remote agents only. */
  health?: SessionHealth
  /** 2026-07-28: the stream that carries the agent's list changes. */
  listen?: McpSubscription
}

export class AgentConnection extends TypedEventEmitter<AgentConnectionEvents> {
  readonly config: RuntimeAgentConfig
  private readonly log: LogFn
  private readonly mesh: MeshFacade | undefined
  private readonly content: ContentFacade | undefined
  private readonly dataDir: string
  private readonly minBackoffMs: number
  private readonly maxBackoffMs: number
  private readonly requestTimeoutMs: number
  private readonly firstAttemptMs: number
  private readonly healthCheckMs: number
  private readonly stopController = new AbortController()
  private current: AgentStatus = { state: 'connecting' }
  private readonly listSync: ListSync
  private session: Session | undefined
  /** Sessions leased by calls whose caller can be asked things or wants logs. */
  private readonly calls = new CallSessions({
    open: async (capabilities, signal) => await this.openCallClient(capabilities, signal),
    maxPerKey: 8
  })
  private running: Promise<void> | undefined
  private settleFirst: (() => void) | undefined
  private readonly stderrTail: string[] = []
  /** Built once: a built-in's state (e.g. the notes store) outlives reconnects and is shared by every transport. */
  private builtinSpec: ServerSpec | undefined
  /** What the main session negotiated; call sessions adopt it, so a 2026-07-28 one opens with no round trip. */
  private prior: PriorDiscovery | undefined

  constructor (components: AgentConnectionComponents, init: AgentConnectionInit) {
    super()
    this.log = components.log
    this.mesh = components.mesh
    this.content = components.content
    this.config = init.config
    this.dataDir = init.dataDir
    this.minBackoffMs = init.minBackoffMs ?? 1000
    this.maxBackoffMs = init.maxBackoffMs ?? 30_000
    this.requestTimeoutMs = init.requestTimeoutMs ?? 10_000
    this.firstAttemptMs = init.firstAttemptMs ?? 10_000
    this.healthCheckMs = init.healthCheckMs ?? 30_000
    this.listSync = new ListSync({ log: this.log }, {
      agentId: this.id,
      requestTimeoutMs: this.requestTimeoutMs,
      signal: this.stopController.signal,
      onChange: () => this.safeDispatchEvent('change')
    })
  }

  get id (): string {
    return this.config.id
  }

  status (): AgentStatus {
    const pid = this.session?.pid
    return pid === undefined ? { ...this.current } : { ...this.current, pid }
  }

  tools (): AgentTool[] { return this.listSync.lists.tools }
  resources (): AgentResource[] { return this.listSync.lists.resources }
  prompts (): AgentPrompt[] { return this.listSync.lists.prompts }
  resourceTemplates (): AgentResourceTemplate[] { return this.listSync.lists.resourceTemplates }

  /** Starts connecting; resolves once the first attempt connected and listed, failed, or firstAttemptMs passed. */
  async start (): Promise<void> {
    if (this.running !== undefined) return
    const first = new Promise<void>((resolve) => { this.settleFirst = resolve })
    this.running = this.run().catch((err: unknown) => {
      this.log('error', 'agent connection loop crashed', { agent: this.id, error: errorMessage(err) })
    })
    const timer = setTimeout(() => this.settleFirst?.(), this.firstAttemptMs)
    await first
    clearTimeout(timer)
  }

  /** Closes the client (killing a stdio child) and stops reconnecting. */
  async stop (): Promise<void> {
    if (!this.stopController.signal.aborted) {
      this.stopController.abort(new Error('agent connection stopped'))
      const session = this.session
      if (session !== undefined) await this.closeSession(session, true)
      await this.calls.closeAll()
    }
    await this.running
    this.settleFirst?.()
    this.setStatus({ state: 'stopped' })
  }

  /**
   * Runs one MCP request on the agent; the caller's signal is the only deadline. A caller that
   * can be asked things or wants logs gets a session of its own (see CallSessions); progress
   * travels on any session, tied to the request by its token.
   */
  async request (op: AgentOp, params: Record<string, unknown>, signal: AbortSignal, opts: AgentCallOptions = {}): Promise<Record<string, unknown>> {
    const session = this.session
    if (session === undefined) throw new AgentNotConnectedError(this.id, this.status())
    // A built-in's tool runs in this process: the in-memory MCP client and server in between
    // cost more than the tool, and its handler takes only the signal (see callSpecTool). So
    // it is the same on a caller session's own agent session: nothing it could send is lost.
    if (op === 'tools/call' && this.builtinSpec !== undefined && typeof params.name === 'string') {
      signal.throwIfAborted()
      return await callSpecTool(this.builtinSpec, params.name, params.arguments, signal)
    }
    try {
      return await runAgentRequest(this.calls, op, params, signal, opts)
    } catch (err) {
      // 2026-07-28 holds no stream open that would notice a dead agent: a failed request is the first sign.
      if (!signal.aborted && !(err instanceof ProtocolError)) session.health?.check()
      throw err
    }
  }

  /** A method, not a getter: stop() flips it while run() awaits, and TS would narrow a property. */
  private stopping (): boolean {
    return this.stopController.signal.aborted
  }

  private async run (): Promise<void> {
    let failures = 0
    while (!this.stopping()) {
      this.setStatus({ state: 'connecting', ...(this.current.error === undefined ? {} : { error: this.current.error }) })
      let session: Session
      try {
        session = await this.connect()
      } catch (err) {
        if (this.stopping()) break
        const message = this.describeFailure(err)
        const permanent = err instanceof BuiltinConfigError
        this.log(permanent ? 'error' : 'warn', 'agent connection failed', { agent: this.id, kind: this.config.kind, error: message, ...(permanent ? {} : { attempt: failures + 1 }) })
        this.setStatus({ state: 'failed', error: message })
        this.settleFirst?.()
        if (permanent) return
        await this.backoff(++failures)
        continue
      }
      if (this.stopping()) {
        await this.closeSession(session, true)
        break
      }
      this.session = session
      this.setStatus({ state: 'connected' })
      this.log('info', 'agent connected', { agent: this.id, kind: this.config.kind, tools: this.listSync.lists.tools.length, protocol: session.client.getNegotiatedProtocolVersion() })
      this.settleFirst?.()
      session.health?.start()
      const reason = await session.closed
      await this.calls.reset()
      session.health?.stop()
      this.session = undefined
      if (this.stopping()) break
      const message = this.describeFailure(new Error(reason))
      this.log('warn', 'agent connection lost; reconnecting', { agent: this.id, kind: this.config.kind, error: message })
      this.setStatus({ state: 'failed', error: `connection lost: ${message}` })
      failures = Date.now() - session.connectedAt >= STABLE_MS ? 1 : failures + 1
      await this.backoff(failures)
    }
  }

  private async backoff (failures: number): Promise<void> {
    await sleep(backoffDelay(failures, { minMs: this.minBackoffMs, maxMs: this.maxBackoffMs, jitter: 0.2 }), this.stopController.signal)
  }

  private describeFailure (err: unknown): string {
    let message = errorMessage(err)
    const status = err instanceof SdkHttpError ? err.status : err instanceof UnauthorizedError ? 401 : undefined
    if (status !== undefined && !message.includes(`HTTP ${status}`)) message = `HTTP ${status}: ${message}`
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined
    if (cause !== undefined && !message.includes(cause)) message = `${message} (${cause})`
    const last = this.stderrTail.at(-1)
    if (this.config.kind === 'stdio' && last !== undefined) message = `${message}; last stderr line: ${last}`
    return message
  }

  /** An agent session held by one caller session until it closes it (see SESSION_OPS). */
  async openSession (capabilities: Record<string, unknown>, signal: AbortSignal, onClose: () => void): Promise<DedicatedSession> {
    if (this.session === undefined) throw new AgentNotConnectedError(this.id, this.status())
    return await this.calls.dedicated(capabilities, signal, onClose)
  }

  /** A client for one CallSessions entry: same transport as the main session, the caller's capabilities. */
  private async openCallClient (capabilities: Record<string, unknown>, signal: AbortSignal): Promise<CallClient> {
    const transport = await openTransport(this.config, {
      builtinSpec: (config) => this.builtin(config),
      onStderrLine: (line) => { this.onStderrLine(line) }
    })
    const client = this.newClient(capabilities)
    try {
      await client.connect(transport, {
        signal: AbortSignal.any([signal, this.stopController.signal]),
        timeout: this.requestTimeoutMs,
        ...(this.prior === undefined ? {} : { prior: this.prior })
      })
    } catch (err) {
      await client.close().catch(() => {})
      throw err
    }
    return {
      client,
      close: async () => {
        await endRemoteSession(transport, CLOSE_TIMEOUT_MS)
        await client.close()
      }
    }
  }

  /** The node's Client: the caller's capabilities, and 2026-07-28 where the agent offers it. */
  private newClient (capabilities: Record<string, unknown>): Client {
    return new Client({ name: 'dawn-node', version: VERSION }, { capabilities, versionNegotiation: versionNegotiation(this.config) })
  }

  private async connect (): Promise<Session> {
    const signal = this.stopController.signal
    this.stderrTail.length = 0
    const transport = await openTransport(this.config, {
      builtinSpec: (config) => this.builtin(config),
      onStderrLine: (line) => { this.onStderrLine(line) }
    })
    // The main session lists what a fully capable caller would see (servers may offer tools only
    // to clients that can answer them); calls never run on it, each has its caller's own set.
    const client = this.newClient(RELAYABLE_CAPABILITIES)
    let onClosed: (reason: string) => void = () => {}
    const closed = new Promise<string>((resolve) => { onClosed = resolve })
    let lastError: string | undefined
    const session: Session = { client, transport, closed, connectedAt: Date.now() }
    client.onclose = () => { onClosed(lastError ?? 'connection closed') }
    client.onerror = (err) => {
      lastError = errorMessage(err)
      this.log('debug', 'agent transport error', { agent: this.id, error: lastError })
      if (this.session === session) session.health?.check()
    }
    if (this.config.kind === 'remote') session.health = this.newHealth(session)
    this.listSync.watch(client, () => this.session === session)
    try {
      await client.connect(transport, { signal, timeout: this.requestTimeoutMs })
      const pid = transportPid(transport)
      if (pid !== undefined) session.pid = pid
      const discover = client.getDiscoverResult()
      this.prior = client.getProtocolEra() === 'modern' && discover !== undefined ? { kind: 'modern', discover } : { kind: 'legacy' }
      // Opened before listing, so no change falls between the lists and the stream.
      const listen = await this.listSync.listen(client, () => { this.onListenEnded(session) })
      if (listen !== undefined) session.listen = listen
      await this.listSync.load(client)
    } catch (err) {
      await this.closeSession(session, false)
      throw err
    }
    session.connectedAt = Date.now()
    return session
  }

  /** A reconnect re-lists whatever changed while no stream carried it. */
  private onListenEnded (session: Session): void {
    if (session.closing !== undefined || this.stopping()) return
    this.log('debug', 'agent listen stream ended; reconnecting', { agent: this.id })
    void this.closeSession(session, false)
  }

  private builtin (config: BuiltinAgentConfig): ServerSpec {
    this.builtinSpec ??= createBuiltinSpec(config.builtin, {
      agentId: config.id,
      dataDir: this.dataDir,
      log: this.log,
      ...(this.mesh === undefined ? {} : { mesh: this.mesh }),
      ...(this.content === undefined ? {} : { content: this.content })
    }, config.settings)
    return this.builtinSpec
  }

  private onStderrLine (line: string): void {
    const text = clip(line, MAX_STDERR_LINE)
    this.stderrTail.push(text)
    if (this.stderrTail.length > 5) this.stderrTail.shift()
    this.log('debug', 'agent stderr', { agent: this.id, line: text })
  }

  private newHealth (session: Session): SessionHealth {
    return new SessionHealth({
      client: session.client,
      intervalMs: this.healthCheckMs,
      timeoutMs: this.requestTimeoutMs,
      signal: this.stopController.signal,
      onFailed: (err) => {
        if (this.session !== session || this.stopping()) return
        this.log('debug', 'agent health check failed; dropping the connection', { agent: this.id, error: errorMessage(err) })
        void this.closeSession(session, false)
      }
    })
  }

  private async closeSession (session: Session, terminate: boolean): Promise<void> {
    session.closing ??= (async () => {
      session.health?.stop()
      await session.listen?.close().catch(() => {})
      if (terminate) await endRemoteSession(session.transport, CLOSE_TIMEOUT_MS)
      await session.client.close().catch((err: unknown) => {
        this.log('debug', 'closing agent client failed', { agent: this.id, error: errorMessage(err) })
      })
    })()
    await session.closing
  }

  private setStatus (next: AgentStatus): void {
    const prev = this.current
    this.current = next
    if (prev.state !== next.state || prev.error !== next.error) this.safeDispatchEvent('status', { detail: this.status() })
  }
}

