import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type { AgentRecord } from '../registry/agent-record.ts'
import { ToolCallError, type CallErrorCode } from '../routing/errors.ts'
import type { MeshCaller } from '../routing/types.ts'
import { ReplicaChooser } from '../routing/replica-choice.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { attemptsOf, callReplicas } from '../mcp/logical-call.ts'
import { DEFAULT_LISTING_VIEW, listingOf, type Listing } from '../mcp/mesh-listing.ts'
import { MESH_PAGE_SIZE, type MeshCallComponents } from '../mcp/mesh-requests.ts'
import { AGENT_NOT_FOUND, AgentIdParams, AgentsReply, CallBody, CallError, CallReply, LogicalAgentReply } from './agent-schemas.ts'
import { agentReply, collisionsOf, logicalInfo, parseCallTarget, planCall } from './agent-views.ts'
import { ErrorReply } from './schemas.ts'

/** HTTP status for each routed-call failure. */
const STATUS: Record<CallErrorCode, number> = {
  'unknown-agent': 404,
  'node-unreachable': 502,
  // The request reached the node's stream (or flood) and no answer came: upstream failed mid-call.
  'outcome-unknown': 502,
  'deadline-exceeded': 504,
  'agent-failed': 502,
  'agent-removed': 502,
  rejected: 502,
  busy: 503,
  'too-large': 413,
  'bad-request': 400,
  'invalid-request-state': 400
}

export interface AgentRoutesComponents {
  agents: () => AgentRecord[]
  selfId: string
  caller: MeshCaller
  /** Replica choice, round trips, attempt metrics and the naming view, shared with `/mcp`. */
  mesh?: MeshCallComponents
  /** For the audit line of a call refused before it reaches the router. */
  log?: LogFn
}

export interface AgentRoutesInit {
  maxRequestBytes: number
  /** Longest a call by agent id takes over all its attempts, unless the request asks for less. */
  timeoutMs: number
}

/**
 * `GET /api/v1/agents`, `GET /api/v1/agents/<agentId>` and `POST /api/v1/calls` (what
 * `dawn-node call` uses). Lists and calls see the same naming view and tool filters as `/mcp`.
 * The server's write guard (bearer-auth.ts) checks the token before the body is read.
 */
export function registerAgentRoutes (app: FastifyInstance, components: AgentRoutesComponents, init: AgentRoutesInit): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()
  const view = components.mesh?.view ?? (() => DEFAULT_LISTING_VIEW)
  const chooser = components.mesh?.chooser ?? new ReplicaChooser()
  // The page size of /mcp, so both share one listing per registry snapshot.
  const current = (): Listing => listingOf(components.agents(), MESH_PAGE_SIZE, view())

  typed.get('/api/v1/agents', { schema: { response: { 200: AgentsReply } } }, () => {
    const listing = current()
    return {
      agents: components.agents().map(r => ({
        target: `${r.nodeId}:${r.agentId}`,
        nodeId: r.nodeId,
        agentId: r.agentId,
        name: r.name,
        kind: r.kind,
        description: r.description,
        local: r.nodeId === components.selfId,
        tools: r.tools,
        resources: r.resources ?? [],
        prompts: r.prompts ?? []
      })).sort((a, b) => a.target.localeCompare(b.target)),
      naming: listing.view.naming,
      logical: [...listing.agents.values()].map(logicalInfo),
      collisions: collisionsOf(listing)
    }
  })

  typed.get('/api/v1/agents/:agentId', { schema: { params: AgentIdParams, response: { 200: LogicalAgentReply, 400: ErrorReply, 404: ErrorReply } } }, async (req, reply) => {
    const found = agentReply(current(), req.params.agentId)
    if (found !== undefined) return found
    return await reply.status(404).send({ statusCode: 404, error: AGENT_NOT_FOUND, message: `no node in the mesh registry hosts agent ${req.params.agentId}` })
  })

  typed.post('/api/v1/calls', {
    bodyLimit: init.maxRequestBytes,
    schema: { body: CallBody, response: { 200: CallReply, 400: ErrorReply, 401: ErrorReply, 413: ErrorReply, '5xx': CallError, '4xx': CallError } }
  }, async (req, reply) => {
    const { target, tool, timeoutMs } = req.body
    const parsed = parseCallTarget(target)
    const bare = parsed.nodeId === undefined
    const caller = `http:${req.ip}`
    const decided = planCall(current(), parsed, tool, components.selfId)
    if ('refused' in decided) {
      components.log?.('info', 'tool call', { audit: true, caller, target, op: 'tools/call', subject: tool, outcome: 'unknown-agent' })
      return await reply.status(404).send({ statusCode: 404, error: 'UnknownAgentError', message: decided.refused, code: 'unknown-agent' })
    }
    const { plan } = decided
    // A target by agent id shares one deadline over its attempts; `<nodeId>:<agentId>` calls as it always did.
    const budgetMs = bare ? timeoutMs ?? init.timeoutMs : timeoutMs
    const deadline = budgetMs === undefined ? undefined : Date.now() + budgetMs
    const signal = bare ? AbortSignal.timeout(budgetMs ?? init.timeoutMs) : new AbortController().signal
    const started = performance.now()
    try {
      const done = await callReplicas({ ...components.mesh, chooser }, plan, async (t, s, lastResort) => await components.caller.call(
        t,
        'tools/call',
        { name: plan.name, arguments: req.body.arguments ?? {} },
        { ...(deadline === undefined ? {} : { deadline }), ...(bare ? { signal: s } : {}), ...(lastResort ? {} : { noFlood: true }), caller }
      ), signal)
      const { result, route } = done.routed
      const chosen = done.attempts === undefined ? {} : { replica: done.nodeId, attempts: done.attempts }
      return { route, durationMs: Math.round((performance.now() - started) * 100) / 100, result, ...chosen }
    } catch (err) {
      const attempts = attemptsOf(err)
      if (!(err instanceof ToolCallError)) throw err
      const statusCode = STATUS[err.code]
      return await reply.status(statusCode).send({ statusCode, error: err.name, message: err.message, code: err.code, ...(attempts === undefined ? {} : { attempts }) })
    }
  })
}
