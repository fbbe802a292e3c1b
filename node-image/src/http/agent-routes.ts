import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type, { type Static } from 'typebox'
import { AgentPrompt, AgentResource, AgentTool, AGENT_ID_PATTERN, NODE_ID_PATTERN, type AgentRecord } from '../registry/agent-record.ts'
import { ToolCallError, type CallErrorCode } from '../routing/errors.ts'
import type { MeshCaller } from '../routing/types.ts'
import { ErrorReply } from './schemas.ts'

const NODE = NODE_ID_PATTERN.slice(1, -1)
const AGENT = AGENT_ID_PATTERN.slice(1, -1)

export const AgentInfo = Type.Object({
  target: Type.String({ description: '<nodeId>:<agentId>' }),
  nodeId: Type.String(),
  agentId: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  description: Type.String(),
  local: Type.Boolean(),
  tools: Type.Array(AgentTool),
  resources: Type.Array(AgentResource),
  prompts: Type.Array(AgentPrompt)
})
export const AgentsReply = Type.Object({ agents: Type.Array(AgentInfo) })

export const CallBody = Type.Object({
  target: Type.String({ pattern: `^${NODE}:${AGENT}$`, description: '<nodeId>:<agentId>' }),
  tool: Type.String({ minLength: 1, maxLength: 128 }),
  arguments: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 }))
}, { additionalProperties: false })
export type CallBody = Static<typeof CallBody>

export const CallReply = Type.Object({
  route: Type.String(),
  durationMs: Type.Number(),
  result: Type.Record(Type.String(), Type.Unknown())
})

const CallError = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String(), code: Type.String() })

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
}

/**
 * `GET /api/v1/agents` and `POST /api/v1/calls` (what `dawn-node call` uses).
 * The server's write guard (bearer-auth.ts) checks the token before the body is read.
 */
export function registerAgentRoutes (app: FastifyInstance, components: AgentRoutesComponents, init: { maxRequestBytes: number }): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()
  typed.get('/api/v1/agents', { schema: { response: { 200: AgentsReply } } }, () => ({
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
    })).sort((a, b) => a.target.localeCompare(b.target))
  }))

  typed.post('/api/v1/calls', {
    bodyLimit: init.maxRequestBytes,
    schema: { body: CallBody, response: { 200: CallReply, 400: ErrorReply, 401: ErrorReply, 413: ErrorReply, '5xx': CallError, '4xx': CallError } }
  }, async (req, reply) => {
    const { target, tool, timeoutMs } = req.body
    const split = target.indexOf(':')
    const started = performance.now()
    try {
      const { result, route } = await components.caller.call(
        { nodeId: target.slice(0, split), agentId: target.slice(split + 1) },
        'tools/call',
        { name: tool, arguments: req.body.arguments ?? {} },
        { ...(timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs }), caller: `http:${req.ip}` }
      )
      return { route, durationMs: Math.round((performance.now() - started) * 100) / 100, result }
    } catch (err) {
      if (!(err instanceof ToolCallError)) throw err
      const statusCode = STATUS[err.code]
      return await reply.status(statusCode).send({ statusCode, error: err.name, message: err.message, code: err.code })
    }
  })
}
