/**
 * What the mesh's MCP endpoint answers, independent of protocol revision and SDK: the listing
 * of every agent's tools, prompts and resources, and the routing of `tools/call`, `prompts/get`
 * and `resources/read` through a {@link MeshCaller}. The 2025-11-25 server (v1 SDK) and the
 * 2026-07-28 handler (v2 SDK) both wrap this; names follow {@link MeshNames}.
 */
import { context } from '@opentelemetry/api'
import type { CallToolResult, GetPromptResult, Prompt, ReadResourceResult, Resource, Tool } from '@modelcontextprotocol/server'
import type { AgentRecord } from '../registry/agent-record.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { inSpan } from '../tracing/spans.ts'
import { contextFromCarrier, type TraceCarrier } from '../tracing/trace-context.ts'
import { InvalidRequestStateError, ToolCallError, UnknownAgentError } from '../routing/errors.ts'
import { MeshNames, meshResourceUri, parseMeshResourceUri } from '../routing/tool-names.ts'
import type { AgentOp, AgentTarget, CallContext, CallEvent, CallResult, MeshCaller } from '../routing/types.ts'
import type { InputRequest } from '../agents/input-rounds.ts'
import { stateNodeId } from '../agents/request-state.ts'

/** The agents the endpoint shows, and a way to hear when they change. */
export interface MeshCatalog {
  /**
   * A snapshot, treated as immutable: the listing is computed once per array, so return a new
   * array after every change (returning the same one until then lets all sessions share one listing).
   */
  entries: () => AgentRecord[]
  /** Returns an unsubscribe function. */
  onChange: (listener: () => void) => () => void
}

export interface MeshMcpServerComponents {
  catalog: MeshCatalog
  caller: MeshCaller
  log: LogFn
}

export interface MeshRequestsInit {
  /** Longest a routed call may take; a client may ask for less with `_meta['dawn/timeoutMs']`. */
  timeoutMs: number
  /** Who is asking, for the audit log (e.g. `mcp:1a2b3c4d@10.0.0.7`). */
  caller?: string
}

export const MESH_SERVER_NAME = 'dawn-mesh'
/** `_meta` key a client may set on a request to shorten its deadline, in ms. */
export const TIMEOUT_META_KEY = 'dawn/timeoutMs'

export const MESH_INSTRUCTIONS = 'Tools and prompts of every agent in the Dawn mesh. Names are <nodeTag>.<agentId>.<name>: ' +
  'nodeTag names the node (the end of its peer id), agentId the agent on it, name the agent\'s own tool or prompt. ' +
  'Resources are dawn://<nodeId>/<agentId>/<URI-encoded original URI>.'

/** JSON-RPC codes used here (the same in both revisions). */
const INVALID_PARAMS = -32602
const INTERNAL_ERROR = -32603

/**
 * A JSON-RPC error for the client. Both SDKs turn a thrown error with a numeric `code`
 * (and optional `data`) into that error response, so one class serves both revisions.
 */
export class MeshRequestError extends Error {
  readonly code: number
  readonly data: unknown

  constructor (code: number, message: string, data?: unknown) {
    super(message)
    this.name = 'MeshRequestError'
    this.code = code
    this.data = data
  }
}

/** Everything listed for one registry snapshot. */
interface Listing {
  names: MeshNames
  records: Map<string, AgentRecord>
  tools: Tool[]
  prompts: Prompt[]
  resources: Resource[]
  /** One string per list, equal exactly when the list is. */
  keys: ListKeys
}

export interface ListKeys { tools: string, prompts: string, resources: string }

const listings = new WeakMap<AgentRecord[], Listing>()

function recordKey (nodeId: string, agentId: string): string {
  return `${nodeId}:${agentId}`
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** MCP requires an object schema; a malformed one from one agent must not break the whole list. */
function toolInputSchema (schema: Record<string, unknown> | undefined): Tool['inputSchema'] {
  if (schema === undefined) return { type: 'object' }
  if (schema.type !== undefined && schema.type !== 'object') return { type: 'object' }
  const { properties, required } = schema
  if (properties !== undefined && !(isPlainObject(properties) && Object.values(properties).every(isPlainObject))) return { type: 'object' }
  if (required !== undefined && !(Array.isArray(required) && required.every((r) => typeof r === 'string'))) return { type: 'object' }
  return { ...schema, type: 'object' }
}

function describe (record: AgentRecord, tag: string, description: string | undefined): string {
  const prefix = `[${record.name} @ ${tag}]`
  return description === undefined || description === '' ? prefix : `${prefix} ${description}`
}

/** The listing of a snapshot, computed once per entries array and shared by every session and request. */
function listingOf (entries: AgentRecord[]): Listing {
  const cached = listings.get(entries)
  if (cached !== undefined) return cached
  const records = new Map<string, AgentRecord>()
  for (const record of entries) {
    const key = recordKey(record.nodeId, record.agentId)
    const other = records.get(key)
    if (other === undefined || other.updatedAt < record.updatedAt) records.set(key, record)
  }
  const sorted = [...records.values()].sort((a, b) => a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0)
  const names = new MeshNames(sorted)
  const tools: Tool[] = []
  const prompts: Prompt[] = []
  const resources: Resource[] = []
  for (const record of sorted) {
    const { nodeId, agentId } = record
    const tag = names.nodeTag(nodeId)
    for (const tool of record.tools) {
      tools.push({
        name: names.toolName(nodeId, agentId, tool.name),
        description: describe(record, tag, tool.description),
        inputSchema: toolInputSchema(tool.inputSchema),
        _meta: { 'dawn/nodeId': nodeId, 'dawn/agentId': agentId, 'dawn/tool': tool.name }
      })
    }
    for (const prompt of record.prompts ?? []) {
      prompts.push({
        name: names.toolName(nodeId, agentId, prompt.name),
        description: describe(record, tag, prompt.description),
        ...(prompt.arguments === undefined ? {} : { arguments: prompt.arguments }),
        _meta: { 'dawn/nodeId': nodeId, 'dawn/agentId': agentId, 'dawn/prompt': prompt.name }
      })
    }
    for (const resource of record.resources ?? []) {
      resources.push({
        uri: meshResourceUri(nodeId, agentId, resource.uri),
        name: resource.name,
        description: describe(record, tag, resource.description),
        ...(resource.mimeType === undefined ? {} : { mimeType: resource.mimeType }),
        _meta: { 'dawn/nodeId': nodeId, 'dawn/agentId': agentId, 'dawn/uri': resource.uri }
      })
    }
  }
  const listing: Listing = {
    names,
    records,
    tools,
    prompts,
    resources,
    keys: { tools: JSON.stringify(tools), prompts: JSON.stringify(prompts), resources: JSON.stringify(resources) }
  }
  listings.set(entries, listing)
  return listing
}

/** What a request brings besides its params: its abort signal and a view of its HTTP headers. */
export interface RequestExtra {
  signal: AbortSignal
  /** One HTTP request header (lower-case name), if the request came over HTTP. */
  header: (name: string) => string | undefined
  /** The caller's MCP side, handed to the agent: capabilities, log level, whether it asked for progress. */
  context?: CallContext
  /** Sends the agent's progress or log notification to the client, on this request's stream. */
  notify?: (event: CallEvent) => void
  /**
   * 2025-11-25 sessions only: asks the client as a server→client request and returns its answer.
   * Without it, an agent's questions go back to the client as `input_required` (2026-07-28 MRTR).
   */
  ask?: (request: InputRequest, signal: AbortSignal) => Promise<Record<string, unknown>>
}

/** Rounds of questions a 2025-11-25 caller is asked for one request (the SDK's legacy shim allows 8). */
const MAX_INPUT_ROUNDS = 8

/** The caller's trace context: `_meta.traceparent` of the request, else the HTTP `traceparent` header. */
function traceCarrierOf (meta: Record<string, unknown> | undefined, extra: RequestExtra): TraceCarrier | undefined {
  const metaParent = meta?.traceparent
  if (typeof metaParent === 'string') {
    const state = meta?.tracestate
    return typeof state === 'string' ? { traceparent: metaParent, tracestate: state } : { traceparent: metaParent }
  }
  const traceparent = extra.header('traceparent')
  if (traceparent === undefined) return undefined
  const tracestate = extra.header('tracestate')
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate }
}

/**
 * The `_meta` passed on to the agent: the client's own keys, without ours (`dawn/*`), the
 * 2026-07-28 envelope (the agent connection has its own), trace context (the router carries
 * its own) and progressToken (progress does not flow back).
 */
function forwardedMeta (meta: Record<string, unknown> | undefined): { _meta?: Record<string, unknown> } {
  if (meta === undefined) return {}
  const kept = Object.entries(meta).filter(([key]) => !key.startsWith('dawn/') && !key.startsWith('io.modelcontextprotocol/') &&
    key !== 'traceparent' && key !== 'tracestate' && key !== 'progressToken')
  return kept.length === 0 ? {} : { _meta: Object.fromEntries(kept) }
}

/** What the audit line names the call by. */
type Subject = { tool: string } | { prompt: string } | { resource: string }

/** The 2026-07-28 retry fields (MRTR): the client's answers and the state it echoes. */
export interface RetryParams { inputResponses?: Record<string, unknown>, requestState?: string }
export interface NamedParams extends RetryParams { name: string, arguments?: Record<string, unknown>, _meta?: Record<string, unknown> }
export interface UriParams extends RetryParams { uri: string, _meta?: Record<string, unknown> }

export interface MeshRequests {
  /** The current lists' keys, to tell which lists changed. */
  keys: () => ListKeys
  listTools: () => { tools: Tool[] }
  listPrompts: () => { prompts: Prompt[] }
  listResources: () => { resources: Resource[] }
  callTool: (params: NamedParams, extra: RequestExtra) => Promise<CallToolResult>
  getPrompt: (params: NamedParams, extra: RequestExtra) => Promise<GetPromptResult>
  readResource: (params: UriParams, extra: RequestExtra) => Promise<ReadResourceResult>
}

/** The mesh's answers to MCP requests; errors are thrown as {@link MeshRequestError}. */
export function createMeshRequests (components: MeshMcpServerComponents, init: MeshRequestsInit): MeshRequests {
  const { catalog, caller, log } = components
  const current = (): Listing => listingOf(catalog.entries())

  /** Routes one request with its deadline and span; the router writes the audit line. */
  const route = async (op: AgentOp, subject: Subject, target: AgentTarget, params: Record<string, unknown>, meta: Record<string, unknown> | undefined, extra: RequestExtra): Promise<CallResult> => {
    const asked = meta?.[TIMEOUT_META_KEY]
    const timeoutMs = typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? Math.min(asked, init.timeoutMs) : init.timeoutMs
    const deadline = Date.now() + timeoutMs
    const parent = contextFromCarrier(traceCarrierOf(meta, extra))
    const attributes = { 'mcp.method.name': op, 'dawn.node_id': target.nodeId, 'dawn.agent_id': target.agentId, 'dawn.mcp.name': subjectName(subject) }
    const wantsEvents = extra.notify !== undefined && (extra.context?.progress === true || extra.context?.logLevel !== undefined)
    const opts = {
      signal: extra.signal,
      deadline,
      ...(init.caller === undefined ? {} : { caller: init.caller }),
      ...(extra.context === undefined ? {} : { context: extra.context }),
      ...(wantsEvents && extra.notify !== undefined ? { onEvent: extra.notify } : {})
    }
    return await context.with(parent, async () => await inSpan(`mcp ${op}`, 'internal', attributes, async () => {
      let routed = await caller.call(target, op, params, opts)
      // A 2025-11-25 caller is asked each round as server→client requests, then the call resumes.
      for (let round = 1; extra.ask !== undefined && isInputRequired(routed.result); round++) {
        if (round > MAX_INPUT_ROUNDS) throw new ToolCallError('agent-failed', `the agent asked for input more than ${MAX_INPUT_ROUNDS} times`)
        const inputResponses: Record<string, unknown> = {}
        for (const [key, request] of Object.entries(routed.result.inputRequests ?? {})) {
          inputResponses[key] = await extra.ask(request, extra.signal)
        }
        const retry = { ...params, inputResponses, ...(typeof routed.result.requestState === 'string' ? { requestState: routed.result.requestState } : {}) }
        routed = await caller.call(target, op, retry, opts)
      }
      return routed
    }))
  }

  /** A retry's state must come from the node that hosts the target; anything else never leaves this node. */
  const retryFields = (params: RetryParams, target: AgentTarget): RetryParams => {
    const { requestState, inputResponses } = params
    if (requestState !== undefined && stateNodeId(requestState) !== target.nodeId) {
      throw new InvalidRequestStateError('requestState was not issued for this tool, prompt or resource')
    }
    return { ...(requestState === undefined ? {} : { requestState }), ...(inputResponses === undefined ? {} : { inputResponses }) }
  }

  /** Names that never reach the router are audited here; the router audits the rest. */
  const unknown = (op: AgentOp, kind: 'tool' | 'prompt' | 'resource', name: string, reason: string, target?: AgentTarget): MeshRequestError => {
    log('info', op === 'tools/call' ? 'tool call' : op === 'prompts/get' ? 'prompt get' : 'resource read', {
      audit: true, op, caller: init.caller, [kind]: name, nodeId: target?.nodeId, agentId: target?.agentId, outcome: 'unknown-agent'
    })
    return new MeshRequestError(INVALID_PARAMS, `unknown ${kind} "${name}": ${reason}`)
  }

  /** The agent and original name behind a listed tool or prompt name, or why there is none. */
  const lookup = (meshName: string, kind: 'tools' | 'prompts'): { target: AgentTarget, name: string } | { reason: string, target?: AgentTarget } => {
    const listing = current()
    const resolved = listing.names.resolve(meshName)
    if (resolved === undefined) return { reason: 'not a <nodeTag>.<agentId>.<name> of a node in the mesh' }
    const target = { nodeId: resolved.nodeId, agentId: resolved.agentId }
    const record = listing.records.get(recordKey(resolved.nodeId, resolved.agentId))
    if (record === undefined) return { reason: `no agent ${resolved.agentId} on node ${resolved.nodeId}`, target }
    const listed = kind === 'tools' ? record.tools : (record.prompts ?? [])
    if (!listed.some((t) => t.name === resolved.name)) return { reason: `agent ${resolved.agentId} on node ${resolved.nodeId} has no ${kind === 'tools' ? 'tool' : 'prompt'} "${resolved.name}"`, target }
    return { target, name: resolved.name }
  }

  /** tools/call and prompts/get: resolve a listed mesh name, then route it with its original name. */
  const routeListed = async (op: 'tools/call' | 'prompts/get', params: NamedParams, extra: RequestExtra): Promise<CallResult> => {
    const kind = op === 'tools/call' ? 'tool' : 'prompt'
    const found = lookup(params.name, op === 'tools/call' ? 'tools' : 'prompts')
    if ('reason' in found) throw unknown(op, kind, params.name, found.reason, found.target)
    const forwarded = { name: found.name, ...(params.arguments === undefined ? {} : { arguments: params.arguments }), ...forwardedMeta(params._meta), ...retryFields(params, found.target) }
    const subject: Subject = kind === 'tool' ? { tool: params.name } : { prompt: params.name }
    return await route(op, subject, found.target, forwarded, params._meta, extra)
  }

  return {
    keys: () => current().keys,
    listTools: () => ({ tools: current().tools }),
    listPrompts: () => ({ prompts: current().prompts }),
    listResources: () => ({ resources: current().resources }),

    callTool: async (params, extra) => {
      try {
        return withRoute(await routeListed('tools/call', params, extra)) as CallToolResult
      } catch (err) {
        // A routed failure is the tool's result (isError); only unknown names and bad retries are protocol errors.
        if (err instanceof ToolCallError && !(err instanceof UnknownAgentError) && !(err instanceof InvalidRequestStateError)) {
          return { isError: true, content: [{ type: 'text', text: `${err.code}: ${err.message}` }], _meta: { 'dawn/error': err.code } }
        }
        throw asRequestError(err, 'tool', params.name)
      }
    },

    getPrompt: async (params, extra) => {
      try {
        return withRoute(await routeListed('prompts/get', params, extra)) as GetPromptResult
      } catch (err) {
        throw asRequestError(err, 'prompt', params.name)
      }
    },

    readResource: async (params, extra) => {
      const meshUri = params.uri
      const meta = params._meta
      const parsed = parseMeshResourceUri(meshUri)
      if (parsed === undefined) throw unknown('resources/read', 'resource', meshUri, 'not a dawn://<nodeId>/<agentId>/<encoded URI> resource URI')
      const target = { nodeId: parsed.nodeId, agentId: parsed.agentId }
      // Resources need not be listed (agents may serve templated URIs); the agent must be known.
      if (!current().records.has(recordKey(parsed.nodeId, parsed.agentId))) {
        throw unknown('resources/read', 'resource', meshUri, `no agent ${parsed.agentId} on node ${parsed.nodeId}`, target)
      }
      try {
        const routed = await route('resources/read', { resource: meshUri }, target, { uri: parsed.uri, ...forwardedMeta(meta), ...retryFields(params, target) }, meta, extra)
        return withRoute({ ...routed, result: meshContentUris(routed.result, target) }) as ReadResourceResult
      } catch (err) {
        throw asRequestError(err, 'resource', meshUri)
      }
    }
  }
}

function subjectName (subject: Subject): string {
  return 'tool' in subject ? subject.tool : 'prompt' in subject ? subject.prompt : subject.resource
}

/** Adds how the call travelled to the result's `_meta`: the route, and the hop count of a flood. */
function withRoute ({ result, route, hops }: CallResult): Record<string, unknown> {
  const meta = isPlainObject(result._meta) ? result._meta : {}
  return { ...result, _meta: { ...meta, 'dawn/route': route, ...(hops === undefined ? {} : { 'dawn/hops': hops }) } }
}

/** Resource contents carry the URI the client asked for, not the agent's own. */
function meshContentUris (result: Record<string, unknown>, target: AgentTarget): Record<string, unknown> {
  if (!Array.isArray(result.contents)) return result
  const contents = (result.contents as unknown[]).map((item) => {
    if (!isPlainObject(item) || typeof item.uri !== 'string') return item
    return { ...item, uri: meshResourceUri(target.nodeId, target.agentId, item.uri) }
  })
  return { ...result, contents }
}

interface InputRequiredResult { resultType: 'input_required', inputRequests?: Record<string, InputRequest>, requestState?: string }

function isInputRequired (result: Record<string, unknown>): result is Record<string, unknown> & InputRequiredResult {
  return result.resultType === 'input_required'
}

function asRequestError (err: unknown, kind: 'tool' | 'prompt' | 'resource', name: string): unknown {
  if (err instanceof InvalidRequestStateError) return new MeshRequestError(INVALID_PARAMS, `Invalid or expired requestState: ${err.message}`, { reason: 'invalid_request_state' })
  if (err instanceof UnknownAgentError) return new MeshRequestError(INVALID_PARAMS, `unknown ${kind} "${name}": ${err.message}`)
  if (err instanceof ToolCallError) return new MeshRequestError(INTERNAL_ERROR, err.message, { code: err.code })
  return err
}
