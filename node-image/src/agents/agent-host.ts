/**
 * The agents this node hosts: one AgentConnection per configured runtime agent
 * (static agents are registry entries only). Applies config changes live, runs
 * MCP requests on the agents and turns every failure into a routing error.
 */
import { ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode } from '@modelcontextprotocol/client'
import { TypedEventEmitter } from 'main-event'
import type { AgentConfig } from '../config/schema.ts'
import type { LogFn } from '../logging/json-logger.ts'
import type { AgentPrompt, AgentResource, AgentResourceTemplate, AgentTool } from '../registry/agent-record.ts'
import { AgentFailedError, AgentRemovedError, DeadlineExceededError, ToolCallError, UnknownAgentError } from '../routing/errors.ts'
import type { AgentOp } from '../routing/types.ts'
import { AgentConnection, AgentNotConnectedError } from './agent-connection.ts'
import type { AgentCallOptions } from './input-rounds.ts'
import type { DedicatedSession } from './call-sessions.ts'
import type { AgentConnectionInit, AgentStatus } from './agent-connection.ts'
import type { MeshFacade } from './builtin/mesh.ts'
import type { ContentFacade } from '../storage/content-api.ts'
import { errorMessage } from './error-message.ts'

export interface AgentHostComponents {
  log: LogFn
  mesh?: MeshFacade
  content?: ContentFacade
}

export interface AgentHostInit {
  dataDir: string
  /** Connection tuning, mainly for tests (backoff, timeouts). */
  connection?: Pick<AgentConnectionInit, 'minBackoffMs' | 'maxBackoffMs' | 'requestTimeoutMs' | 'firstAttemptMs' | 'healthCheckMs'>
}

export interface AgentHostEvents {
  /** The set of agents or one of their tool/resource/prompt lists changed. */
  change: CustomEvent<void>
}

/** What this node publishes about one of its agents. */
export interface LocalAgentRecord {
  id: string
  name: string
  kind: AgentConfig['kind']
  description: string
  tools: AgentTool[]
  resources: AgentResource[]
  prompts: AgentPrompt[]
  /** Absent when the agent lists none. */
  resourceTemplates?: AgentResourceTemplate[]
}

export type LocalAgentStatus = AgentStatus | { state: 'static' }

export class AgentHostNotStartedError extends Error {
  constructor () {
    super('agent host is not started')
    this.name = 'AgentHostNotStartedError'
  }
}

export class DuplicateAgentError extends Error {
  constructor (agentId: string) {
    super(`agent id "${agentId}" is configured more than once`)
    this.name = 'DuplicateAgentError'
  }
}

interface Hosted {
  config: AgentConfig
  json: string
  /** undefined for static agents */
  connection?: AgentConnection
  /** Ends each in-flight call with the given error. */
  inflight: Set<(err: ToolCallError) => void>
}

// Plain numbers: ProtocolError.code is a number, the SDK's ProtocolErrorCode an enum.
const INVALID_PARAMS: number = ProtocolErrorCode.InvalidParams
/** What a 2025-era server answers for an unknown resource; 2026-07-28 servers answer INVALID_PARAMS. */
const RESOURCE_NOT_FOUND: number = ProtocolErrorCode.ResourceNotFound
/** The v1 SDK's "request timed out", still sent by agents built on it. */
const REQUEST_TIMEOUT = -32001

export class AgentHost extends TypedEventEmitter<AgentHostEvents> {
  private readonly log: LogFn
  private readonly mesh: MeshFacade | undefined
  private readonly content: ContentFacade | undefined
  private readonly dataDir: string
  private readonly connectionInit: AgentHostInit['connection']
  private readonly agents = new Map<string, Hosted>()
  private started = false
  /** setAgents calls apply one after another. */
  private applying: Promise<void> = Promise.resolve()

  constructor (components: AgentHostComponents, init: AgentHostInit) {
    super()
    this.log = components.log
    this.mesh = components.mesh
    this.content = components.content
    this.dataDir = init.dataDir
    this.connectionInit = init.connection
  }

  start (): Promise<void> {
    this.started = true
    return Promise.resolve()
  }

  /** Ends in-flight calls, closes every client and kills stdio children. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.applying
    const all = [...this.agents.values()]
    this.agents.clear()
    await Promise.all(all.map(async (hosted) => { await this.retire(hosted, new AgentFailedError(`agent ${hosted.config.id}: node is shutting down`)) }))
  }

  /**
   * Makes the hosted agents match `configs`: starts new and changed ones (waiting
   * for each one's first attempt, at most ~10 s), and retires removed ones (their
   * in-flight calls fail with AgentRemovedError at once).
   */
  async setAgents (configs: AgentConfig[]): Promise<void> {
    if (!this.started) throw new AgentHostNotStartedError()
    const seen = new Set<string>()
    for (const config of configs) {
      if (seen.has(config.id)) throw new DuplicateAgentError(config.id)
      seen.add(config.id)
    }
    const run = this.applying.then(async () => { await this.apply(configs) })
    this.applying = run.catch(() => {})
    await run
  }

  /**
   * Every hosted agent, static ones with their configured tools. An agent not yet
   * connected has empty lists; one that dropped keeps its last lists while it
   * reconnects (see status()).
   */
  records (): LocalAgentRecord[] {
    return [...this.agents.values()].map(({ config, connection }) => ({
      id: config.id,
      name: config.name ?? config.id,
      kind: config.kind,
      description: config.description,
      tools: connection?.tools() ?? (config.kind === 'static' ? config.tools.map((t) => ({ ...t })) : []),
      resources: connection?.resources() ?? [],
      prompts: connection?.prompts() ?? [],
      ...(connection === undefined || connection.resourceTemplates().length === 0 ? {} : { resourceTemplates: connection.resourceTemplates() })
    }))
  }

  has (agentId: string): boolean {
    return this.agents.has(agentId)
  }

  /** Connection state of an agent (e.g. failed, with why), or undefined if it is not hosted. */
  status (agentId: string): LocalAgentStatus | undefined {
    const hosted = this.agents.get(agentId)
    if (hosted === undefined) return undefined
    return hosted.connection?.status() ?? { state: 'static' }
  }

  /** An agent session for one caller session (see SESSION_OPS); static agents have none. */
  async openSession (agentId: string, capabilities: Record<string, unknown>, signal: AbortSignal, onClose: () => void): Promise<DedicatedSession> {
    const hosted = this.agents.get(agentId)
    if (hosted === undefined) throw new UnknownAgentError(`no agent "${agentId}" on this node`)
    if (hosted.connection === undefined) throw new AgentFailedError(`agent ${agentId} is static: no runtime`)
    if (hosted.config.kind === 'stdio') throw new AgentFailedError(`agent ${agentId} runs on stdio: one process per caller session would be too many`)
    return await hosted.connection.openSession(capabilities, signal, onClose)
  }

  /** Runs an MCP request on a local agent and returns its raw result object. */
  async call (agentId: string, op: AgentOp, params: Record<string, unknown>, signal: AbortSignal, opts?: AgentCallOptions): Promise<Record<string, unknown>> {
    const hosted = this.agents.get(agentId)
    if (hosted === undefined) throw new UnknownAgentError(`no agent "${agentId}" on this node`)
    const connection = hosted.connection
    if (connection === undefined) throw new AgentFailedError(`agent ${agentId} is static: no runtime`)
    if (signal.aborted) throw new DeadlineExceededError(`deadline exceeded before ${op} on agent ${agentId} started`)

    const controller = new AbortController()
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      const end = (err: ToolCallError): void => {
        done()
        reject(err)
        controller.abort(err) // the agent hears: notifications/cancelled (2025-11-25), its request stream closing (2026-07-28)
      }
      const onAbort = (): void => { end(new DeadlineExceededError(`deadline exceeded during ${op} on agent ${agentId}`)) }
      const done = (): void => {
        signal.removeEventListener('abort', onAbort)
        hosted.inflight.delete(end)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      hosted.inflight.add(end)
      connection.request(op, params, controller.signal, opts).then((result) => {
        done()
        resolve(result)
      }, (err: unknown) => {
        done()
        reject(this.callError(hosted, connection, op, params, err))
      })
    })
  }

  private async apply (configs: AgentConfig[]): Promise<void> {
    const next = new Map(configs.map((c) => [c.id, c]))
    const retiring: Hosted[] = []
    const starting: Hosted[] = []
    let changed = false
    for (const [id, hosted] of this.agents) {
      const config = next.get(id)
      if (config !== undefined && JSON.stringify(config) === hosted.json) continue
      this.agents.delete(id)
      retiring.push(hosted)
      changed = true
    }
    for (const config of configs) {
      if (this.agents.has(config.id)) continue
      const hosted = this.host(config)
      this.agents.set(config.id, hosted)
      if (hosted.connection !== undefined) starting.push(hosted)
      changed = true
    }
    if (changed) this.safeDispatchEvent('change')
    await Promise.all([
      ...retiring.map(async (hosted) => {
        const reconfigured = next.has(hosted.config.id)
        this.log('info', reconfigured ? 'agent reconfigured' : 'agent removed', { agent: hosted.config.id })
        await this.retire(hosted, new AgentRemovedError(`agent ${hosted.config.id} was ${reconfigured ? 'reconfigured' : 'removed'} while the call ran`))
      }),
      ...starting.map(async (hosted) => { await hosted.connection?.start() })
    ])
  }

  private host (config: AgentConfig): Hosted {
    const hosted: Hosted = { config, json: JSON.stringify(config), inflight: new Set() }
    if (config.kind === 'static') return hosted
    const connection = new AgentConnection(
      { log: this.log, ...(this.mesh === undefined ? {} : { mesh: this.mesh }), ...(this.content === undefined ? {} : { content: this.content }) },
      { ...this.connectionInit, config, dataDir: this.dataDir }
    )
    connection.addEventListener('change', () => {
      if (this.agents.get(config.id) === hosted) this.safeDispatchEvent('change')
    })
    hosted.connection = connection
    return hosted
  }

  /** In-flight calls end at once with `err`; then the client closes. */
  private async retire (hosted: Hosted, err: ToolCallError): Promise<void> {
    for (const end of [...hosted.inflight]) end(err)
    await hosted.connection?.stop().catch((stopErr: unknown) => {
      this.log('warn', 'stopping agent failed', { agent: hosted.config.id, error: errorMessage(stopErr) })
    })
  }

  private callError (hosted: Hosted, connection: AgentConnection, op: AgentOp, params: Record<string, unknown>, err: unknown): ToolCallError {
    const id = hosted.config.id
    if (err instanceof ToolCallError) return err
    if (err instanceof AgentNotConnectedError) return new AgentFailedError(err.message, { cause: err })
    if (err instanceof SdkError && err.code === SdkErrorCode.RequestTimeout) return new DeadlineExceededError(`agent ${id}: ${err.message}`)
    if (err instanceof ProtocolError) {
      if (err.code === INVALID_PARAMS && op === 'tools/call' && typeof params.name === 'string' &&
        !connection.tools().some((t) => t.name === params.name)) {
        return new UnknownAgentError(`agent ${id} has no tool "${params.name}"`)
      }
      if (err.code === INVALID_PARAMS && op === 'prompts/get' && typeof params.name === 'string' &&
        !connection.prompts().some((p) => p.name === params.name)) {
        return new UnknownAgentError(`agent ${id} has no prompt "${params.name}"`)
      }
      const listed = op === 'resources/read' && connection.resources().some((r) => r.uri === params.uri)
      if (op === 'resources/read' && (err.code === RESOURCE_NOT_FOUND || (err.code === INVALID_PARAMS && !listed))) {
        return new UnknownAgentError(`agent ${id} has no resource ${typeof params.uri === 'string' ? `"${params.uri}"` : '(no uri given)'}`)
      }
      if (err.code === REQUEST_TIMEOUT) return new DeadlineExceededError(`agent ${id}: ${err.message}`)
    }
    return new AgentFailedError(`agent ${id}: ${errorMessage(err)}`, { cause: err, ...(err instanceof ProtocolError ? { rpcCode: err.code } : {}) })
  }
}
