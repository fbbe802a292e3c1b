/**
 * The schemas of `/api/v1/agents`, `/api/v1/agents/<agentId>` and `/api/v1/calls`. The operator
 * reads one agent's reply through `@dawn/node-image/http-schemas`, so it checks what the node sends.
 */
import Type, { type Static } from 'typebox'
import { AgentPrompt, AgentResource, AgentTool, AGENT_ID_PATTERN, NODE_ID_PATTERN } from '../registry/agent-record.ts'
import { ReplicaDifference } from '../mcp/logical-catalog.ts'
import { FilterConflict } from '../mcp/tool-filters.ts'
import { NameCollision } from '../mcp/naming-modes.ts'

const NODE = NODE_ID_PATTERN.slice(1, -1)
const AGENT = AGENT_ID_PATTERN.slice(1, -1)

/** One replica's record, as the registry holds it. */
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

/** A tool of a logical agent after the node's filters: the name it is exposed by and the agent's own. */
export const LogicalTool = Type.Object({
  name: Type.String({ description: 'exposed name, after renames' }),
  ownName: Type.String({ description: 'the agent\'s own name, what a call sends' }),
  replicas: Type.Array(Type.String(), { description: 'nodes whose agent lists it' })
})

/** One agent id however many nodes host it, with the node's tool filters applied. */
export const LogicalAgentInfo = Type.Object({
  agentId: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  description: Type.String(),
  /** Nodes hosting it (sorted). */
  replicas: Type.Array(Type.String()),
  tools: Type.Array(LogicalTool),
  /** How replicas disagree about tools still exposed, and about prompts. */
  differences: Type.Array(ReplicaDifference),
  conflicts: Type.Array(FilterConflict)
})
export type LogicalAgentInfo = Static<typeof LogicalAgentInfo>

export const NameCollisions = Type.Object({
  tools: Type.Array(NameCollision),
  prompts: Type.Array(NameCollision)
})

export const AgentsReply = Type.Object({
  agents: Type.Array(AgentInfo),
  /** The naming mode of this node's `/mcp`. */
  naming: Type.String(),
  logical: Type.Array(LogicalAgentInfo),
  collisions: NameCollisions
})

export const DiscoveredTool = Type.Object({
  name: Type.String(),
  description: Type.Optional(Type.String())
})
export type DiscoveredTool = Static<typeof DiscoveredTool>

/** The `error` of `GET /api/v1/agents/<agentId>`'s 404 when no node hosts the agent, so a reader tells it from a missing route. */
export const AGENT_NOT_FOUND = 'AgentNotFound'

/** `GET /api/v1/agents/<agentId>`: what the operator puts in a DawnAgent's status. */
export const LogicalAgentReply = Type.Object({
  ...LogicalAgentInfo.properties,
  naming: Type.String(),
  /** Exposed tools (after filters and renames), with the listed description. */
  discoveredTools: Type.Array(DiscoveredTool),
  /** Names this agent's tools or prompts claim together with another item. */
  collisions: NameCollisions
})
export type LogicalAgentReply = Static<typeof LogicalAgentReply>

export const AgentIdParams = Type.Object({ agentId: Type.String({ pattern: AGENT_ID_PATTERN }) })

export const CallBody = Type.Object({
  target: Type.String({
    pattern: `^(${NODE}:)?${AGENT}$`,
    description: '<agentId> (any replica, with failover) or <nodeId>:<agentId> (that node only)'
  }),
  tool: Type.String({ minLength: 1, maxLength: 128 }),
  arguments: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 }))
}, { additionalProperties: false })
export type CallBody = Static<typeof CallBody>

/** One attempt of a call by agent id: the replica picked, why, and how it ended. */
export const CallAttempt = Type.Object({
  nodeId: Type.String(),
  inFlight: Type.Integer(),
  rttMs: Type.Optional(Type.Number()),
  reason: Type.String(),
  outcome: Type.String(),
  failover: Type.Optional(Type.String())
})

export const CallReply = Type.Object({
  route: Type.String(),
  durationMs: Type.Number(),
  result: Type.Record(Type.String(), Type.Unknown()),
  /** For a target by agent id: the node that answered and every attempt. */
  replica: Type.Optional(Type.String()),
  attempts: Type.Optional(Type.Array(CallAttempt))
})

export const CallError = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.String(),
  attempts: Type.Optional(Type.Array(CallAttempt))
})
