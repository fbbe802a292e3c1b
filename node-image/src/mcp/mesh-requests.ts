/**
 * What the mesh's MCP endpoint answers, independent of protocol revision and SDK: the listing
 * of every agent's tools, prompts, resources and resource templates (in pages), and the routing
 * of `tools/call`, `prompts/get`, `resources/read` and `completion/complete` through a
 * {@link MeshCaller}. The 2025-11-25 server (v1 SDK) and the 2026-07-28 handler (v2 SDK) both
 * wrap this; names follow `routing/tool-names.ts`, the listing is `mesh-listing.ts`.
 */
import { context } from '@opentelemetry/api'
import type {
  CallToolResult, CompleteResult, GetPromptResult, Prompt, ReadResourceResult, Resource, ResourceTemplateType, Tool
} from '@modelcontextprotocol/server'
import type { AgentRecord } from '../registry/agent-record.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { inSpan } from '../tracing/spans.ts'
import { contextFromCarrier, type TraceCarrier } from '../tracing/trace-context.ts'
import { AgentFailedError, InvalidRequestStateError, ToolCallError, UnknownAgentError } from '../routing/errors.ts'
import { meshResourceUri, parseMeshResourceUri } from '../routing/tool-names.ts'
import type { AgentOp, AgentTarget, CallContext, CallEvent, CallResult, MeshCaller } from '../routing/types.ts'
import type { InputRequest } from '../agents/input-rounds.ts'
import { stateNodeId } from '../agents/request-state.ts'
import { ReplicaChooser } from '../routing/replica-choice.ts'
import type { FailoverAttempt } from '../routing/run-with-failover.ts'
import { InvalidCursorError } from './list-pages.ts'
import { attemptsOf, callReplicas, planOf, type CallPlan } from './logical-call.ts'
import { catalogListOf, catalogTools } from './catalog-tools.ts'
import { DEFAULT_LISTING_VIEW, listingOf, recordKey, type ListingView, type ListKeys, type Listing, type MeshLists } from './mesh-listing.ts'
import type { NamingMode } from './naming-modes.ts'
import { isRecord } from '../validation/is-record.ts'

export type { ListKeys } from './mesh-listing.ts'

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
  /** Replica choice shared by every endpoint of the node; by default the endpoint keeps its own. */
  chooser?: ReplicaChooser
  /** This node's id: a built-in agent's logical name goes to this node's own replica. */
  selfId?: string
  /** A measured round trip to a node in ms (the liveness pings, p2p/connection-liveness.ts); without it, call durations stand in. */
  rtt?: (nodeId: string) => number | undefined
  /** How this node reaches a node now; ranks replicas whose RTT is not measured yet. */
  route?: (nodeId: string) => 'direct' | 'relayed' | undefined
  /** Counts each logical call's attempts, for metrics. */
  onAttempts?: (attempts: readonly FailoverAttempt[]) => void
  /** Naming mode and tool filters, read per request so a config reload applies at once (default: logical, no filters). */
  view?: () => ListingView
}

/** What the node adds to an endpoint's calls by logical name; each is optional in tests. */
export type MeshCallComponents = Pick<MeshMcpServerComponents, 'chooser' | 'selfId' | 'rtt' | 'route' | 'onAttempts' | 'view'>

export interface MeshRequestsInit {
  /** Longest a routed call may take; a client may ask for less with `_meta['dawn/timeoutMs']`. */
  timeoutMs: number
  /** Who is asking, for the audit log (e.g. `mcp:1a2b3c4d@10.0.0.7`). */
  caller?: string
  /** Most items per page of a list (default {@link MESH_PAGE_SIZE}). */
  pageSize?: number
}

/** Most items a list page holds; a client follows `nextCursor` for the rest. */
export const MESH_PAGE_SIZE = 500

export const MESH_SERVER_NAME = 'dawn-mesh'
/** `_meta` key a client may set on a request to shorten its deadline, in ms. */
export const TIMEOUT_META_KEY = 'dawn/timeoutMs'

/** What the mesh endpoint offers, the same in both revisions. */
export const MESH_CAPABILITIES = {
  logging: {},
  completions: {},
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true }
}

const REPLICA_NAMES = '<nodeTag>.<agentId>.<name> names one node\'s copy (nodeTag is the end of its peer id) and always works. '
const RESOURCE_NAMES = 'Resources are dawn://<nodeId>/<agentId>/<URI-encoded original URI>; resource templates the same, with their {expressions} kept.'
const NAMES_BY_MODE: Record<NamingMode, string> = {
  logical: 'Names are <agentId>.<name>: one name per agent however many nodes host it; a call goes to the nearest, least loaded copy. ',
  conditional: 'Names are the agent\'s own <name>, or <agentId>.<name> where two agents share one. ',
  'always-prefixed': 'Names are <nodeTag>.<agentId>.<name>, one per node hosting the agent. '
}

/** What initialize tells a client about names, for the endpoint's naming mode. */
export function meshInstructions (mode: NamingMode): string {
  return `Tools and prompts of every agent in the Dawn mesh. ${NAMES_BY_MODE[mode]}${mode === 'always-prefixed' ? '' : REPLICA_NAMES}${RESOURCE_NAMES}`
}

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
  /** 2025-11-25 sessions only: the client's session with each agent (see SESSION_OPS). */
  session?: {
    idFor: (target: AgentTarget) => string | undefined
    /** The replica this session already has an agent session with, for affinity. */
    linkedTo?: (agentId: string) => string | undefined
  }
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
type Subject = { tool: string } | { prompt: string } | { resource: string } | { completion: string }

/** The 2026-07-28 retry fields (MRTR): the client's answers and the state it echoes. */
export interface RetryParams { inputResponses?: Record<string, unknown>, requestState?: string }
export interface NamedParams extends RetryParams { name: string, arguments?: Record<string, unknown>, _meta?: Record<string, unknown> }
export interface UriParams extends RetryParams { uri: string, _meta?: Record<string, unknown> }
export interface ListParams { cursor?: string }
export interface CompleteParams {
  ref: { type: string, name?: string, uri?: string }
  argument: { name: string, value: string }
  context?: { arguments?: Record<string, string> }
  _meta?: Record<string, unknown>
}

export interface MeshRequests {
  /** The current lists' keys, to tell which lists changed. */
  keys: () => ListKeys
  /** What initialize tells the client, for the current naming mode. */
  instructions: () => string
  listTools: (params?: ListParams) => { tools: Tool[], nextCursor?: string }
  listPrompts: (params?: ListParams) => { prompts: Prompt[], nextCursor?: string }
  listResources: (params?: ListParams) => { resources: Resource[], nextCursor?: string }
  listResourceTemplates: (params?: ListParams) => { resourceTemplates: ResourceTemplateType[], nextCursor?: string }
  callTool: (params: NamedParams, extra: RequestExtra) => Promise<CallToolResult>
  getPrompt: (params: NamedParams, extra: RequestExtra) => Promise<GetPromptResult>
  readResource: (params: UriParams, extra: RequestExtra) => Promise<ReadResourceResult>
  /** `completion/complete` for a listed prompt, resource or resource template, answered by its agent. */
  complete: (params: CompleteParams, extra: RequestExtra) => Promise<CompleteResult>
  /**
   * Where a subscription to a client's resource URI goes: the replica named in a mesh URI, or on
   * one agent's endpoint this node's own replica if it hosts one, else the lowest node id that lists it.
   */
  subscriptionTarget: (uri: string) => { target: AgentTarget, uri: string } | { reason: string }
  /** The URI a client knows an agent's resource by, for its update notifications. */
  clientUri: (target: AgentTarget, uri: string) => string
}

/** The mesh's answers to MCP requests; errors are thrown as {@link MeshRequestError}. */
export function createMeshRequests (components: MeshMcpServerComponents, init: MeshRequestsInit): MeshRequests {
  const { catalog, caller, log } = components
  const chooser = components.chooser ?? new ReplicaChooser()
  const pageSize = init.pageSize ?? MESH_PAGE_SIZE
  const view = components.view ?? (() => DEFAULT_LISTING_VIEW)
  const current = (): Listing => listingOf(catalog.entries(), pageSize, view())

  /** One page of a list; a bad cursor is the client's error. */
  const page = <K extends 'tools' | 'prompts' | 'resources' | 'resourceTemplates'>(list: K, params: ListParams | undefined): { items: MeshLists[K], nextCursor?: string } => {
    try {
      return current().pager.page(list, params?.cursor) as { items: MeshLists[K], nextCursor?: string }
    } catch (err) {
      if (err instanceof InvalidCursorError) throw new MeshRequestError(INVALID_PARAMS, err.message)
      throw err
    }
  }
  const listed = <K extends 'tools' | 'prompts' | 'resources' | 'resourceTemplates'>(list: K, params: ListParams | undefined): { [P in K]: MeshLists[K] } & { nextCursor?: string } => {
    const { items, nextCursor } = page(list, params)
    return { [list]: items, ...(nextCursor === undefined ? {} : { nextCursor }) } as { [P in K]: MeshLists[K] } & { nextCursor?: string }
  }

  /**
   * Routes one request with its deadline and span; the router writes the audit line. A plan
   * with several replicas goes through failover (logical-call.ts); the 2025-11-25 input rounds
   * that follow stay on the replica that asked, which alone holds the call's state.
   */
  const route = async (op: AgentOp, subject: Subject, plan: CallPlan, params: Record<string, unknown>, meta: Record<string, unknown> | undefined, extra: RequestExtra): Promise<RoutedCall> => {
    const asked = meta?.[TIMEOUT_META_KEY]
    const timeoutMs = typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? Math.min(asked, init.timeoutMs) : init.timeoutMs
    const deadline = Date.now() + timeoutMs
    const parent = contextFromCarrier(traceCarrierOf(meta, extra))
    const attributes: Record<string, string> = { 'mcp.method.name': op, 'dawn.agent_id': plan.agentId, 'dawn.mcp.name': subjectName(subject) }
    if (plan.nodeIds.length === 1) attributes['dawn.node_id'] = plan.nodeIds[0] ?? ''
    const wantsEvents = extra.notify !== undefined && (extra.context?.progress === true || extra.context?.logLevel !== undefined)
    const optsFor = (target: AgentTarget, signal: AbortSignal, lastResort = true): Parameters<MeshCaller['call']>[3] => {
      const session = extra.session?.idFor(target)
      return {
        signal,
        ...(lastResort ? {} : { noFlood: true }),
        deadline,
        ...(init.caller === undefined ? {} : { caller: init.caller }),
        ...(extra.context === undefined ? {} : { context: extra.context }),
        ...(wantsEvents && extra.notify !== undefined ? { onEvent: extra.notify } : {}),
        ...(session === undefined ? {} : { session })
      }
    }
    return await context.with(parent, async () => await inSpan(`mcp ${op}`, 'internal', attributes, async (span) => {
      const first = await callReplicas({ ...components, chooser }, plan, async (target, signal, lastResort) =>
        await caller.call(target, op, params, optsFor(target, signal, lastResort)), extra.signal, extra.session?.linkedTo?.(plan.agentId))
      const target = { nodeId: first.nodeId, agentId: plan.agentId }
      span.setAttribute('dawn.node_id', target.nodeId)
      // Checked after failover: whatever the agent answered, it ran.
      let routed = checkedResultType(first.routed)
      // A 2025-11-25 caller is asked each round as server→client requests, then the call resumes.
      for (let round = 1; extra.ask !== undefined && isInputRequired(routed.result); round++) {
        if (round > MAX_INPUT_ROUNDS) throw new ToolCallError('agent-failed', `the agent asked for input more than ${MAX_INPUT_ROUNDS} times`)
        const inputResponses: Record<string, unknown> = {}
        for (const [key, request] of Object.entries(routed.result.inputRequests ?? {})) {
          inputResponses[key] = await extra.ask(request, extra.signal)
        }
        const retry = { ...params, inputResponses, ...(typeof routed.result.requestState === 'string' ? { requestState: routed.result.requestState } : {}) }
        routed = checkedResultType(await caller.call(target, op, retry, optsFor(target, extra.signal)))
      }
      return { ...routed, nodeId: target.nodeId, ...(first.attempts === undefined ? {} : { attempts: first.attempts }) }
    }))
  }

  /** A retry's state pins the call to the node that issued it, which must be one that may serve it; anything else never leaves this node. */
  const retryFields = (params: RetryParams, plan: CallPlan): { fields: RetryParams, plan: CallPlan } => {
    const { requestState, inputResponses } = params
    const fields = { ...(requestState === undefined ? {} : { requestState }), ...(inputResponses === undefined ? {} : { inputResponses }) }
    if (requestState === undefined) return { fields, plan }
    const issuer = stateNodeId(requestState)
    if (issuer === undefined || !plan.nodeIds.includes(issuer)) {
      throw new InvalidRequestStateError('requestState was not issued for this tool, prompt or resource')
    }
    return { fields, plan: { ...plan, nodeIds: [issuer] } }
  }

  /** Names that never reach the router are audited here; the router audits the rest. */
  const unknown = (op: AgentOp, kind: 'tool' | 'prompt' | 'resource', name: string, reason: string, target?: AgentTarget): MeshRequestError => {
    log('info', AUDIT_LINES[op], {
      audit: true, op, caller: init.caller, [kind]: name, nodeId: target?.nodeId, agentId: target?.agentId, outcome: 'unknown-agent'
    })
    return new MeshRequestError(INVALID_PARAMS, `unknown ${kind} "${name}": ${reason}`)
  }

  /** The plan behind a tool or prompt name this endpoint lists (or accepts), or why there is none. */
  const lookup = (meshName: string, kind: 'tools' | 'prompts'): { plan: CallPlan } | { reason: string, target?: AgentTarget } => {
    const listing = current()
    const resolved = (kind === 'tools' ? listing.toolNames : listing.promptNames).resolve(meshName)
    const agent = resolved === undefined ? undefined : listing.agents.get(resolved.agentId)
    if (resolved === undefined || agent === undefined) return { reason: `not a ${kind === 'tools' ? 'tool' : 'prompt'} name this endpoint lists` }
    return { plan: planOf(agent, resolved, kind, components.selfId) }
  }

  /** tools/call and prompts/get: resolve a listed mesh name, then route it with its original name. */
  const routeListed = async (op: 'tools/call' | 'prompts/get', params: NamedParams, extra: RequestExtra): Promise<RoutedCall> => {
    const kind = op === 'tools/call' ? 'tool' : 'prompt'
    const found = lookup(params.name, op === 'tools/call' ? 'tools' : 'prompts')
    if ('reason' in found) throw unknown(op, kind, params.name, found.reason)
    const { fields, plan } = retryFields(params, found.plan)
    const forwarded = { name: plan.name, ...(params.arguments === undefined ? {} : { arguments: params.arguments }), ...forwardedMeta(params._meta), ...fields }
    const subject: Subject = kind === 'tool' ? { tool: params.name } : { prompt: params.name }
    return await route(op, subject, plan, forwarded, params._meta, extra)
  }

  /** tools/call of a listed (or accepted) name; the catalog's call_tool lands here too. */
  const callListed = async (params: NamedParams, extra: RequestExtra): Promise<CallToolResult> => {
    try {
      return withRoute(await routeListed('tools/call', params, extra)) as CallToolResult
    } catch (err) {
      // A routed failure is the tool's result (isError); only unknown names and bad retries are protocol errors.
      if (err instanceof ToolCallError && !(err instanceof UnknownAgentError) && !(err instanceof InvalidRequestStateError)) {
        const attempts = attemptsOf(err)
        return { isError: true, content: [{ type: 'text', text: `${err.code}: ${err.message}` }], _meta: { 'dawn/error': err.code, ...(attempts === undefined ? {} : { 'dawn/attempts': attempts }) } }
      }
      throw asRequestError(err, 'tool', params.name)
    }
  }
  const catalogCalls = catalogTools<RequestExtra>({ listing: current, callTool: callListed })
  /** The tools list with the catalog tools, when the endpoint has them. */
  const toolList = (l: Listing): ReturnType<typeof catalogListOf> | undefined => l.view.catalog === undefined ? undefined : catalogListOf(l, l.view.catalog)

  /**
   * On one agent's endpoint, a resource URI is the agent's own: any replica listing it (as a
   * resource or template) may serve it; one listing neither (a templated read) may go to any replica.
   */
  const ownResourcePlan = (listing: Listing, agentId: string, uri: string): CallPlan | undefined => {
    const records = [...(listing.agents.get(agentId)?.agent.records.values() ?? [])]
    const listers = records.filter((r) => (r.resources ?? []).some((x) => x.uri === uri) || (r.resourceTemplates ?? []).some((t) => t.uriTemplate === uri))
    const hosts = (listers.length > 0 ? listers : records).map((r) => r.nodeId)
    if (hosts.length === 0) return undefined
    return { agentId, name: '', nodeIds: hosts, replicas: hosts.map((nodeId) => ({ nodeId, tools: [{ name: '' }] })), logical: true }
  }

  /** The plan and the agent's own URI (or template) behind one a client names, or why there is none. */
  const lookupResource = (meshUri: string): { plan: CallPlan, uri: string } | { reason: string, target?: AgentTarget } => {
    const listing = current()
    const own = listing.view.agentId
    if (own !== undefined) {
      const plan = ownResourcePlan(listing, own, meshUri)
      return plan === undefined ? { reason: `no node hosts agent ${own}` } : { plan, uri: meshUri }
    }
    const parsed = parseMeshResourceUri(meshUri)
    if (parsed === undefined) return { reason: 'not a dawn://<nodeId>/<agentId>/<encoded URI> resource URI or template' }
    const target = { nodeId: parsed.nodeId, agentId: parsed.agentId }
    const record = listing.records.get(recordKey(parsed.nodeId, parsed.agentId))
    if (record === undefined) return { reason: `no agent ${parsed.agentId} on node ${parsed.nodeId}`, target }
    const isListed = (record.resourceTemplates ?? []).some((t) => t.uriTemplate === parsed.uri) || (record.resources ?? []).some((r) => r.uri === parsed.uri)
    if (!isListed) return { reason: `agent ${parsed.agentId} on node ${parsed.nodeId} lists no such resource or template`, target }
    return { plan: resourcePlan(target), uri: parsed.uri }
  }

  return {
    keys: () => {
      const l = current()
      const catalog = toolList(l)
      return catalog === undefined ? l.keys : { ...l.keys, tools: catalog.key }
    },
    instructions: () => meshInstructions(view().naming),
    listTools: (params) => {
      const catalog = toolList(current())
      if (catalog === undefined) return listed('tools', params)
      try {
        const { items, nextCursor } = catalog.pager.page('tools', params?.cursor)
        return { tools: items, ...(nextCursor === undefined ? {} : { nextCursor }) }
      } catch (err) {
        if (err instanceof InvalidCursorError) throw new MeshRequestError(INVALID_PARAMS, err.message)
        throw err
      }
    },
    listPrompts: (params) => listed('prompts', params),
    listResources: (params) => listed('resources', params),
    listResourceTemplates: (params) => listed('resourceTemplates', params),

    callTool: async (params, extra) => current().view.catalog !== undefined && catalogCalls.handles(params.name)
      ? await catalogCalls.call(params, extra)
      : await callListed(params, extra),

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
      const listing = current()
      const own = listing.view.agentId
      if (own !== undefined) {
        const ownPlan = ownResourcePlan(listing, own, meshUri)
        if (ownPlan === undefined) throw unknown('resources/read', 'resource', meshUri, `no node hosts agent ${own}`)
        try {
          const { fields, plan } = retryFields(params, ownPlan)
          return withRoute(await route('resources/read', { resource: meshUri }, plan, { uri: meshUri, ...forwardedMeta(meta), ...fields }, meta, extra)) as ReadResourceResult
        } catch (err) {
          throw asRequestError(err, 'resource', meshUri)
        }
      }
      const parsed = parseMeshResourceUri(meshUri)
      if (parsed === undefined) throw unknown('resources/read', 'resource', meshUri, 'not a dawn://<nodeId>/<agentId>/<encoded URI> resource URI')
      const target = { nodeId: parsed.nodeId, agentId: parsed.agentId }
      // Resources need not be listed (agents may serve templated URIs); the agent must be known.
      if (!listing.records.has(recordKey(parsed.nodeId, parsed.agentId))) {
        throw unknown('resources/read', 'resource', meshUri, `no agent ${parsed.agentId} on node ${parsed.nodeId}`, target)
      }
      try {
        const { fields, plan } = retryFields(params, resourcePlan(target))
        const routed = await route('resources/read', { resource: meshUri }, plan, { uri: parsed.uri, ...forwardedMeta(meta), ...fields }, meta, extra)
        return withRoute({ ...routed, result: meshContentUris(routed.result, target) }) as ReadResourceResult
      } catch (err) {
        throw asRequestError(err, 'resource', meshUri)
      }
    },

    subscriptionTarget: (uri) => {
      const listing = current()
      const own = listing.view.agentId
      if (own === undefined) {
        const parsed = parseMeshResourceUri(uri)
        return parsed === undefined ? { reason: 'not a dawn://<nodeId>/<agentId>/<encoded URI> resource URI' } : { target: { nodeId: parsed.nodeId, agentId: parsed.agentId }, uri: parsed.uri }
      }
      const plan = ownResourcePlan(listing, own, uri)
      if (plan === undefined) return { reason: `no node hosts agent ${own}` }
      const selfId = components.selfId
      const nodeId = selfId !== undefined && plan.nodeIds.includes(selfId) ? selfId : [...plan.nodeIds].sort()[0]
      return nodeId === undefined ? { reason: `no node hosts agent ${own}` } : { target: { nodeId, agentId: own }, uri }
    },
    clientUri: (target, uri) => current().view.agentId === undefined ? meshResourceUri(target.nodeId, target.agentId, uri) : uri,

    complete: async (params, extra) => {
      const { ref } = params
      const isPrompt = ref.type === 'ref/prompt'
      const kind = isPrompt ? 'prompt' : 'resource'
      const meshName = (isPrompt ? ref.name : ref.uri) ?? ''
      if (!isPrompt && ref.type !== 'ref/resource') throw unknown('completion/complete', kind, meshName, `unknown reference type ${JSON.stringify(ref.type.slice(0, 32))}`)
      const found = isPrompt ? lookup(meshName, 'prompts') : lookupResource(meshName)
      if ('reason' in found) throw unknown('completion/complete', kind, meshName, found.reason, found.target)
      const agentRef = 'uri' in found ? { type: ref.type, uri: found.uri } : { type: ref.type, name: found.plan.name }
      const { plan } = found
      const forwarded = { ref: agentRef, argument: params.argument, ...(params.context === undefined ? {} : { context: params.context }), ...forwardedMeta(params._meta) }
      try {
        return withRoute(await route('completion/complete', { completion: meshName }, plan, forwarded, params._meta, extra)) as CompleteResult
      } catch (err) {
        throw asRequestError(err, kind, meshName)
      }
    }
  }
}

const AUDIT_LINES: Record<AgentOp, string> = {
  'tools/call': 'tool call',
  'prompts/get': 'prompt get',
  'resources/read': 'resource read',
  'completion/complete': 'completion'
}

function subjectName (subject: Subject): string {
  return 'tool' in subject ? subject.tool : 'prompt' in subject ? subject.prompt : 'resource' in subject ? subject.resource : subject.completion
}

/** A routed call and, for a logical name, which replica answered after which attempts. */
interface RoutedCall extends CallResult {
  nodeId: string
  attempts?: FailoverAttempt[]
}

/** A resource is one replica's: its URI names the node. */
function resourcePlan (target: AgentTarget): CallPlan {
  return { agentId: target.agentId, name: '', nodeIds: [target.nodeId], replicas: [], logical: false }
}

/**
 * Adds how the call travelled to the result's `_meta`: the route, the hop count of a flood,
 * and for a logical name the replica that answered and every attempt (a replica name's result is unchanged).
 */
function withRoute ({ result, route, hops, nodeId, attempts }: RoutedCall): Record<string, unknown> {
  const meta = isRecord(result._meta) ? result._meta : {}
  const chosen = attempts === undefined ? {} : { 'dawn/replica': nodeId, 'dawn/attempts': attempts }
  return { ...result, _meta: { ...meta, 'dawn/route': route, ...(hops === undefined ? {} : { 'dawn/hops': hops }), ...chosen } }
}

/** Resource contents carry the URI the client asked for, not the agent's own. */
function meshContentUris (result: Record<string, unknown>, target: AgentTarget): Record<string, unknown> {
  if (!Array.isArray(result.contents)) return result
  const contents = (result.contents as unknown[]).map((item) => {
    if (!isRecord(item) || typeof item.uri !== 'string') return item
    return { ...item, uri: meshResourceUri(target.nodeId, target.agentId, item.uri) }
  })
  return { ...result, contents }
}

/** MCP defines two result types; anything else from an agent is its failure, never relayed as if it meant something. */
function checkedResultType (routed: CallResult): CallResult {
  const kind = routed.result.resultType
  if (kind === undefined || kind === 'complete' || kind === 'input_required') return routed
  const shown = typeof kind === 'string' ? JSON.stringify(kind.slice(0, 64)) : `of type ${typeof kind}`
  throw new AgentFailedError(`the agent answered with resultType ${shown}, which MCP does not define`)
}

interface InputRequiredResult { resultType: 'input_required', inputRequests?: Record<string, InputRequest>, requestState?: string }

function isInputRequired (result: Record<string, unknown>): result is Record<string, unknown> & InputRequiredResult {
  return result.resultType === 'input_required'
}

function asRequestError (err: unknown, kind: 'tool' | 'prompt' | 'resource', name: string): unknown {
  if (err instanceof InvalidRequestStateError) return new MeshRequestError(INVALID_PARAMS, `Invalid or expired requestState: ${err.message}`, { reason: 'invalid_request_state' })
  if (err instanceof UnknownAgentError) return new MeshRequestError(INVALID_PARAMS, `unknown ${kind} "${name}": ${err.message}`)
  // The agent's own refusal (e.g. -32601: it has no completions) reaches the client with its code.
  if (err instanceof AgentFailedError && err.rpcCode !== undefined) return new MeshRequestError(err.rpcCode, err.message, { code: err.code })
  if (err instanceof ToolCallError) return new MeshRequestError(INTERNAL_ERROR, err.message, { code: err.code })
  return err
}
