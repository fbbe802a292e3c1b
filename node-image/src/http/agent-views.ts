/**
 * What `/api/v1/agents`, `/api/v1/agents/<agentId>` and `/api/v1/calls` make of one listing
 * (mcp/mesh-listing.ts): logical agents as the node's naming view shows them, and the plan of
 * a call by `<agentId>` or `<nodeId>:<agentId>` under the node's tool filters. Pure.
 */
import type { Static } from 'typebox'
import type { Listing } from '../mcp/mesh-listing.ts'
import type { NameCollision } from '../mcp/naming-modes.ts'
import { planOf, type CallPlan } from '../mcp/logical-call.ts'
import type { FilteredAgent } from '../mcp/tool-filters.ts'
import type { LogicalAgentInfo, LogicalAgentReply, NameCollisions } from './agent-schemas.ts'

/** One logical agent; differences about tools the filters hide are left out (nobody can call them). */
export function logicalInfo (agent: FilteredAgent): LogicalAgentInfo {
  const exposed = new Set(agent.tools.map((t) => t.ownName))
  return {
    agentId: agent.agentId,
    name: agent.agent.name,
    kind: agent.agent.kind,
    description: agent.agent.description,
    replicas: agent.replicas,
    tools: agent.tools.map((t) => ({ name: t.name, ownName: t.ownName, replicas: t.replicas })),
    differences: agent.agent.differences.filter((d) => d.kind === 'prompt' || exposed.has(d.name)),
    conflicts: agent.conflicts
  }
}

export function collisionsOf (listing: Listing, agentId?: string): Static<typeof NameCollisions> {
  const mine = (c: NameCollision): boolean => agentId === undefined || c.claims.some((claim) => claim.agentId === agentId)
  return { tools: listing.toolNames.collisions.filter(mine), prompts: listing.promptNames.collisions.filter(mine) }
}

/** One agent as the operator reads it, or undefined when no node hosts it. */
export function agentReply (listing: Listing, agentId: string): LogicalAgentReply | undefined {
  const agent = listing.agents.get(agentId)
  if (agent === undefined) return undefined
  return {
    ...logicalInfo(agent),
    naming: listing.view.naming,
    discoveredTools: agent.tools.map((t) => {
      const description = t.versions[0]?.item.description
      return description === undefined ? { name: t.name } : { name: t.name, description }
    }),
    collisions: collisionsOf(listing, agentId)
  }
}

/** `<agentId>` or `<nodeId>:<agentId>` (the schema checked the form). */
export interface CallTarget {
  nodeId?: string
  agentId: string
}

export function parseCallTarget (target: string): CallTarget {
  const split = target.indexOf(':')
  return split < 0 ? { agentId: target } : { nodeId: target.slice(0, split), agentId: target.slice(split + 1) }
}

/**
 * The plan of a call to `tool` (the exposed name, after renames), or why it is refused.
 * `<agentId>` needs the tool listed: only then are its replicas known. `<nodeId>:<agentId>`
 * goes to that node only, as before; under a filter for the agent the tool must be one the
 * filter exposes on that node, else a denied tool or a renamed tool's old name would stay callable.
 * An agent the registry does not know is left to the router, which reports it (and counts it).
 */
export function planCall (listing: Listing, target: CallTarget, tool: string, selfId: string): { plan: CallPlan } | { refused: string } {
  const { nodeId, agentId } = target
  const agent = listing.agents.get(agentId)
  if (nodeId !== undefined) {
    const exact: CallPlan = { agentId, name: tool, nodeIds: [nodeId], replicas: [], logical: false }
    if (agent === undefined || !agent.replicas.includes(nodeId)) return { plan: exact }
    const item = agent.tools.find((t) => t.name === tool && t.replicas.includes(nodeId))
    if (item !== undefined) return { plan: planOf(agent, { agentId, tool: item.ownName, replicas: [nodeId], form: 'replica' }, 'tools', selfId) }
    if (!Object.hasOwn(listing.view.toolFilters, agentId)) return { plan: exact }
    return { refused: `agent ${agentId} on node ${nodeId} exposes no tool "${tool}" (this node's tool filters hide or rename it, or the agent does not list it)` }
  }
  if (agent === undefined) return { refused: `no agent ${agentId} in the mesh registry` }
  const item = agent.tools.find((t) => t.name === tool)
  if (item === undefined) return { refused: `agent ${agentId} exposes no tool "${tool}" (it does not list it, or this node's tool filters hide or rename it)` }
  return { plan: planOf(agent, { agentId, tool: item.ownName, replicas: item.replicas, form: 'logical' }, 'tools', selfId) }
}
