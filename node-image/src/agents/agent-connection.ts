/**
 * One configured agent (builtin, remote or stdio) as a connected MCP Client:
 * connects, lists its tools/resources/prompts into registry shapes, re-lists on
 * list_changed, and reconnects with backoff when connecting fails or the
 * connection drops, until stop().
 */
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { backoffDelay, sleep } from '../timing/backoff.ts'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  CallToolResultSchema,
  GetPromptResultSchema,
  PaginatedResultSchema,
  PromptListChangedNotificationSchema,
  ReadResourceResultSchema,
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema
} from '@modelcontextprotocol/sdk/types.js'
import { TypedEventEmitter } from 'main-event'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { AgentConfig } from '../config/schema.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { VERSION } from '../version.ts'
import {
  AgentPrompt,
  AgentResource,
  AgentTool,
  MAX_DESCRIPTION,
  MAX_INPUT_SCHEMA_BYTES,
  MAX_PROMPTS,
  MAX_RESOURCES,
  MAX_TOOLS
} from '../registry/agent-record.ts'
import type { AgentOp } from '../routing/types.ts'
import { describeIssues } from '../validation/schema-error.ts'
import { BuiltinConfigError, createBuiltinSpec } from './builtin/index.ts'
import type { MeshFacade } from './builtin/mesh.ts'
import type { ContentFacade } from '../storage/content-api.ts'
import { defineServer } from './define-server.ts'
import type { ServerSpec } from './define-server.ts'

export type RuntimeAgentConfig = Exclude<AgentConfig, { kind: 'static' }>
export type AgentState = 'connecting' | 'connected' | 'failed' | 'stopped'

export interface AgentStatus {
  state: AgentState
  /** Why the last attempt failed or the connection dropped. */
  error?: string
  /** The child process of a connected stdio agent. */
  pid?: number
}

export interface AgentLists {
  tools: AgentTool[]
  resources: AgentResource[]
  prompts: AgentPrompt[]
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

/** headersFile / headersFromEnv cannot be turned into headers. Never carries a header value. */
export class AgentHeadersError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'AgentHeadersError'
  }
}

/** Long enough that the caller's AbortSignal, not the SDK, ends a call (setTimeout caps at ~24.8 days). */
export const CALL_TIMEOUT_MS = 24 * 60 * 60 * 1000
/** Results of a stdio agent can be as large as a routed call allows (64 MiB) plus JSON overhead. */
const STDIO_MAX_BUFFER_BYTES = 80 * 1024 * 1024
const MAX_LIST_PAGES = 100
/** A connection must stay up this long before the backoff starts over at its minimum. */
const STABLE_MS = 10_000
const MAX_STDERR_LINE = 2000
const CLOSE_TIMEOUT_MS = 2000

const HeaderName = Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,128}$' })
/** No control characters: they would be refused by fetch with the value in the message. */
const HeaderValue = Type.String({ maxLength: 16 * 1024, pattern: '^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*$' })
const HeadersFile = Type.Record(HeaderName, HeaderValue, { maxProperties: 64, additionalProperties: false })
const headersFileValidator = Compile(HeadersFile)
const headerValueValidator = Compile(HeaderValue)

const toolValidator = Compile(AgentTool)
const resourceValidator = Compile(AgentResource)
const promptValidator = Compile(AgentPrompt)
const NAME_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/

function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function clip (text: string, max: number): string {
  if (text.length <= max) return text
  const cut = text.slice(0, max)
  // Don't leave half a surrogate pair at the end.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut
}

function description (value: unknown): { description?: string } {
  return typeof value === 'string' ? { description: clip(value, MAX_DESCRIPTION) } : {}
}

type Skip = (what: string, name: string, reason: string) => void

/** Maps tools/list items to registry tools; anything the registry would refuse is skipped. */
export function toAgentTools (items: unknown[], skip: Skip): AgentTool[] {
  const out: AgentTool[] = []
  const names = new Set<string>()
  for (const item of items) {
    const name = isRecord(item) && typeof item.name === 'string' ? item.name : undefined
    if (name === undefined || !isRecord(item)) { skip('tool', '?', 'no name'); continue }
    if (!NAME_PATTERN.test(name)) { skip('tool', name, 'name must match ^[A-Za-z0-9_.:/-]+$ and be at most 128 characters'); continue }
    if (names.has(name)) { skip('tool', name, 'listed twice'); continue }
    if (out.length >= MAX_TOOLS) { skip('tool', name, `more than ${MAX_TOOLS} tools`); continue }
    const tool: AgentTool = { name, ...description(item.description) }
    if (item.inputSchema !== undefined) {
      if (!isRecord(item.inputSchema)) { skip('tool', name, 'inputSchema is not an object'); continue }
      const bytes = Buffer.byteLength(JSON.stringify(item.inputSchema))
      if (bytes > MAX_INPUT_SCHEMA_BYTES) { skip('tool', name, `inputSchema is ${bytes} bytes, limit ${MAX_INPUT_SCHEMA_BYTES}`); continue }
      tool.inputSchema = item.inputSchema
    }
    if (!toolValidator.Check(tool)) { skip('tool', name, describeIssues(toolValidator.Errors(tool)).join('; ')); continue }
    names.add(name)
    out.push(tool)
  }
  return out
}

export function toAgentResources (items: unknown[], skip: Skip): AgentResource[] {
  const out: AgentResource[] = []
  const uris = new Set<string>()
  for (const item of items) {
    const uri = isRecord(item) && typeof item.uri === 'string' ? item.uri : undefined
    if (uri === undefined || !isRecord(item)) { skip('resource', '?', 'no uri'); continue }
    if (uris.has(uri)) { skip('resource', uri, 'listed twice'); continue }
    if (out.length >= MAX_RESOURCES) { skip('resource', uri, `more than ${MAX_RESOURCES} resources`); continue }
    const resource: AgentResource = { uri, name: typeof item.name === 'string' ? item.name : '', ...description(item.description) }
    if (typeof item.mimeType === 'string') resource.mimeType = item.mimeType
    if (!resourceValidator.Check(resource)) { skip('resource', clip(uri, 256), describeIssues(resourceValidator.Errors(resource)).join('; ')); continue }
    uris.add(uri)
    out.push(resource)
  }
  return out
}

export function toAgentPrompts (items: unknown[], skip: Skip): AgentPrompt[] {
  const out: AgentPrompt[] = []
  const names = new Set<string>()
  for (const item of items) {
    const name = isRecord(item) && typeof item.name === 'string' ? item.name : undefined
    if (name === undefined || !isRecord(item)) { skip('prompt', '?', 'no name'); continue }
    if (!NAME_PATTERN.test(name)) { skip('prompt', name, 'name must match ^[A-Za-z0-9_.:/-]+$ and be at most 128 characters'); continue }
    if (names.has(name)) { skip('prompt', name, 'listed twice'); continue }
    if (out.length >= MAX_PROMPTS) { skip('prompt', name, `more than ${MAX_PROMPTS} prompts`); continue }
    const prompt: AgentPrompt = { name, ...description(item.description) }
    if (item.arguments !== undefined) {
      if (!Array.isArray(item.arguments)) { skip('prompt', name, 'arguments is not an array'); continue }
      prompt.arguments = item.arguments.map((a: unknown) => isRecord(a)
        ? {
            name: typeof a.name === 'string' ? a.name : '',
            ...description(a.description),
            ...(typeof a.required === 'boolean' ? { required: a.required } : {})
          }
        : { name: '' })
    }
    if (!promptValidator.Check(prompt)) { skip('prompt', name, describeIssues(promptValidator.Errors(prompt)).join('; ')); continue }
    names.add(name)
    out.push(prompt)
  }
  return out
}

/** Reads headersFile and headersFromEnv; errors name the file, header or variable, never a value. */
export async function loadRemoteHeaders (config: Extract<AgentConfig, { kind: 'remote' }>, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string>> {
  const headers: Record<string, string> = {}
  if (config.headersFile !== undefined) {
    let text: string
    try {
      text = await readFile(config.headersFile, 'utf8')
    } catch (err) {
      throw new AgentHeadersError(`headersFile ${config.headersFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      // The parser's message quotes the input, which is secret.
      throw new AgentHeadersError(`headersFile ${config.headersFile} is not valid JSON`)
    }
    if (!headersFileValidator.Check(value)) {
      const issues = describeIssues(headersFileValidator.Errors(value)).map((issue) => issue.replace(/: .*$/, ''))
      throw new AgentHeadersError(`headersFile ${config.headersFile} must be a JSON object of header name → string value without control characters (bad: ${[...new Set(issues)].join(', ')})`)
    }
    Object.assign(headers, value)
  }
  for (const [header, variable] of Object.entries(config.headersFromEnv ?? {})) {
    const value = env[variable]
    if (value === undefined || value === '') throw new AgentHeadersError(`headersFromEnv: environment variable ${variable} (for header ${header}) is not set`)
    if (!headerValueValidator.Check(value)) throw new AgentHeadersError(`headersFromEnv: environment variable ${variable} (for header ${header}) holds control characters or is too long`)
    headers[header] = value
  }
  return headers
}

interface Session {
  client: Client
  transport: Transport
  /** Resolves with the reason once the connection is gone. */
  closed: Promise<string>
  connectedAt: number
  pid?: number
  closing?: Promise<void>
  healthTimer?: NodeJS.Timeout
  healthChecking?: boolean
}

type ListKind = 'tools' | 'resources' | 'prompts'
const LIST_METHODS = { tools: 'tools/list', resources: 'resources/list', prompts: 'prompts/list' } as const

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
  private lists: AgentLists = { tools: [], resources: [], prompts: [] }
  private session: Session | undefined
  private running: Promise<void> | undefined
  private settleFirst: (() => void) | undefined
  /** Per list kind: a re-list is running; `true` once another was asked for meanwhile. */
  private readonly relisting = new Map<ListKind, boolean>()
  private readonly stderrTail: string[] = []
  /** Built once: a built-in's state (e.g. the notes store) outlives reconnects. */
  private builtinSpec: ServerSpec | undefined

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
  }

  get id (): string {
    return this.config.id
  }

  status (): AgentStatus {
    const pid = this.session?.pid
    return pid === undefined ? { ...this.current } : { ...this.current, pid }
  }

  tools (): AgentTool[] { return this.lists.tools }
  resources (): AgentResource[] { return this.lists.resources }
  prompts (): AgentPrompt[] { return this.lists.prompts }

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
    }
    await this.running
    this.settleFirst?.()
    this.setStatus({ state: 'stopped' })
  }

  /** Runs one MCP request on the agent; the caller's signal is the only deadline. */
  async request (op: AgentOp, params: Record<string, unknown>, signal: AbortSignal): Promise<Record<string, unknown>> {
    const session = this.session
    if (session === undefined) throw new AgentNotConnectedError(this.id, this.status())
    const options = { signal, timeout: CALL_TIMEOUT_MS }
    switch (op) {
      case 'tools/call': return await session.client.request({ method: op, params }, CallToolResultSchema, options)
      case 'resources/read': return await session.client.request({ method: op, params }, ReadResourceResultSchema, options)
      case 'prompts/get': return await session.client.request({ method: op, params }, GetPromptResultSchema, options)
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
      this.log('info', 'agent connected', { agent: this.id, kind: this.config.kind, tools: this.lists.tools.length })
      this.settleFirst?.()
      this.startHealthChecks(session)
      const reason = await session.closed
      clearInterval(session.healthTimer)
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
    if (err instanceof StreamableHTTPError && err.code !== undefined && err.code > 0) message = `HTTP ${err.code}: ${message}`
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : undefined
    if (cause !== undefined && !message.includes(cause)) message = `${message} (${cause})`
    const last = this.stderrTail.at(-1)
    if (this.config.kind === 'stdio' && last !== undefined) message = `${message}; last stderr line: ${last}`
    return message
  }

  private async connect (): Promise<Session> {
    const signal = this.stopController.signal
    this.stderrTail.length = 0
    const transport = await this.openTransport()
    const client = new Client({ name: 'dawn-node', version: VERSION }, { capabilities: {} })
    let onClosed: (reason: string) => void = () => {}
    const closed = new Promise<string>((resolve) => { onClosed = resolve })
    let lastError: string | undefined
    const session: Session = { client, transport, closed, connectedAt: Date.now() }
    client.onclose = () => { onClosed(lastError ?? 'connection closed') }
    client.onerror = (err) => {
      lastError = errorMessage(err)
      this.log('debug', 'agent transport error', { agent: this.id, error: lastError })
      if (this.session === session) this.checkHealth(session)
    }
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => { this.relist(session, 'tools') })
    client.setNotificationHandler(ResourceListChangedNotificationSchema, () => { this.relist(session, 'resources') })
    client.setNotificationHandler(PromptListChangedNotificationSchema, () => { this.relist(session, 'prompts') })
    try {
      await client.connect(transport, { signal, timeout: this.requestTimeoutMs })
      if (transport instanceof StdioClientTransport && transport.pid !== null) session.pid = transport.pid
      const caps = client.getServerCapabilities() ?? {}
      const [tools, resources, prompts] = await Promise.all([
        caps.tools === undefined ? [] : this.fetchList(client, 'tools'),
        caps.resources === undefined ? [] : this.fetchList(client, 'resources'),
        caps.prompts === undefined ? [] : this.fetchList(client, 'prompts')
      ])
      this.setLists({ tools: this.mapTools(tools), resources: this.mapResources(resources), prompts: this.mapPrompts(prompts) })
    } catch (err) {
      await this.closeSession(session, false)
      throw err
    }
    session.connectedAt = Date.now()
    return session
  }

  private async openTransport (): Promise<Transport> {
    const config = this.config
    switch (config.kind) {
      case 'builtin': {
        this.builtinSpec ??= createBuiltinSpec(config.builtin, {
          agentId: config.id,
          dataDir: this.dataDir,
          log: this.log,
          ...(this.mesh === undefined ? {} : { mesh: this.mesh }),
          ...(this.content === undefined ? {} : { content: this.content })
        }, config.settings)
        const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
        await defineServer(this.builtinSpec).connect(serverSide)
        return clientSide
      }
      case 'remote': {
        const headers = await loadRemoteHeaders(config)
        return new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers } })
      }
      case 'stdio': {
        const [command, ...args] = config.command as [string, ...string[]]
        const transport = new StdioClientTransport({
          command,
          args,
          env: { ...getDefaultEnvironment(), ...config.env },
          stderr: 'pipe',
          maxBufferSize: STDIO_MAX_BUFFER_BYTES
        })
        // With stderr: 'pipe' this is a PassThrough, available before the child starts.
        const stderr = transport.stderr
        if (stderr instanceof Readable) {
          const lines = createInterface({ input: stderr, crlfDelay: Infinity })
          lines.on('line', (line) => {
            const text = clip(line, MAX_STDERR_LINE)
            this.stderrTail.push(text)
            if (this.stderrTail.length > 5) this.stderrTail.shift()
            this.log('debug', 'agent stderr', { agent: this.id, line: text })
          })
        }
        return transport
      }
    }
  }

  private async fetchList (client: Client, kind: ListKind): Promise<unknown[]> {
    const method = LIST_METHODS[kind]
    const items: unknown[] = []
    const seen = new Set<string>()
    let cursor: string | undefined
    for (let page = 0; page < MAX_LIST_PAGES; page++) {
      const result = await client.request(
        { method, params: cursor === undefined ? {} : { cursor } },
        PaginatedResultSchema,
        { signal: this.stopController.signal, timeout: this.requestTimeoutMs }
      )
      const list = (result as Record<string, unknown>)[kind]
      if (!Array.isArray(list)) throw new Error(`${method} answered without a "${kind}" array`)
      items.push(...(list as unknown[]))
      cursor = result.nextCursor
      if (cursor === undefined) return items
      if (seen.has(cursor)) throw new Error(`${method} repeated cursor ${clip(cursor, 64)}`)
      seen.add(cursor)
    }
    this.log('warn', 'agent list has too many pages; using the first ones', { agent: this.id, method, pages: MAX_LIST_PAGES })
    return items
  }

  private readonly skip: Skip = (what, name, reason) => {
    this.log('warn', `agent ${what} skipped: it would not fit the registry`, { agent: this.id, [what]: clip(name, 256), reason })
  }

  private mapTools (items: unknown[]): AgentTool[] { return toAgentTools(items, this.skip) }
  private mapResources (items: unknown[]): AgentResource[] { return toAgentResources(items, this.skip) }
  private mapPrompts (items: unknown[]): AgentPrompt[] { return toAgentPrompts(items, this.skip) }

  private setLists (next: AgentLists): void {
    const changed = JSON.stringify(next) !== JSON.stringify(this.lists)
    this.lists = next
    if (changed) this.safeDispatchEvent('change')
  }

  /** Re-fetches one list after list_changed; notifications arriving meanwhile cause one more round. */
  private relist (session: Session, kind: ListKind): void {
    if (this.relisting.has(kind)) {
      this.relisting.set(kind, true)
      return
    }
    this.relisting.set(kind, false)
    void (async () => {
      try {
        do {
          this.relisting.set(kind, false)
          const items = await this.fetchList(session.client, kind)
          if (this.session !== session) return
          const next = { ...this.lists }
          if (kind === 'tools') next.tools = this.mapTools(items)
          if (kind === 'resources') next.resources = this.mapResources(items)
          if (kind === 'prompts') next.prompts = this.mapPrompts(items)
          this.setLists(next)
        } while (this.relisting.get(kind) === true)
      } catch (err) {
        this.log('warn', 'agent re-list failed', { agent: this.id, list: kind, error: errorMessage(err) })
      } finally {
        this.relisting.delete(kind)
      }
    })()
  }

  /** HTTP has no connection to lose, so a remote agent is pinged: periodically and after transport errors. */
  private startHealthChecks (session: Session): void {
    if (this.config.kind !== 'remote') return
    session.healthTimer = setInterval(() => { this.checkHealth(session) }, this.healthCheckMs)
    session.healthTimer.unref()
  }

  private checkHealth (session: Session): void {
    if (this.config.kind !== 'remote' || session.healthChecking === true || session.closing !== undefined) return
    session.healthChecking = true
    session.client.ping({ signal: this.stopController.signal, timeout: this.requestTimeoutMs }).then(() => {
      session.healthChecking = false
    }, (err: unknown) => {
      session.healthChecking = false
      if (this.session !== session || this.stopping()) return
      this.log('debug', 'agent health check failed; dropping the connection', { agent: this.id, error: errorMessage(err) })
      void this.closeSession(session, false)
    })
  }

  private async closeSession (session: Session, terminate: boolean): Promise<void> {
    session.closing ??= (async () => {
      clearInterval(session.healthTimer)
      if (terminate && session.transport instanceof StreamableHTTPClientTransport && session.transport.sessionId !== undefined) {
        // Politeness: let the server drop our session now rather than at its idle timeout.
        await Promise.race([session.transport.terminateSession().catch(() => {}), sleep(CLOSE_TIMEOUT_MS)])
      }
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
