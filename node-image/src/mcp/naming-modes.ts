/**
 * How filtered logical agents' tools (or prompts) are named on an endpoint, in one of three
 * modes, and how a name is resolved back to an agent, its own tool name and the replicas
 * that may serve it.
 *
 * Three forms of name exist for each item:
 * - replica `<nodeTag>.<agentId>.<name>` (one per replica; tags from MeshNames);
 * - logical `<agentId>.<name>` (one per logical agent);
 * - bare `<name>` (conditional mode only).
 * Every form is computed from the whole set of agents at once, never in arrival order, by
 * one precedence: replica names always hold (they are for debugging and must always work),
 * then logical names, then bare names. A name claimed twice goes to the higher form; a bare
 * name claimed by two agents goes to neither. Whatever loses is listed under its next longer
 * form, and the claim is reported as a collision.
 * Replica and logical names resolve in every mode (so a name keeps working across a mode
 * change); bare names exist only in conditional mode.
 */
import Type from 'typebox'
import type { AgentPrompt, AgentTool } from '../registry/agent-record.ts'
import { byCodeUnit } from '../registry/canonical-json.ts'
import { MeshNames } from '../routing/tool-names.ts'
import type { NamingMode } from '../config/mcp-views.ts'
import type { ExposedItem, FilteredAgent } from './tool-filters.ts'

export { NAMING_MODES, NamingMode } from '../config/mcp-views.ts'

export type NameForm = 'replica' | 'logical' | 'bare'
const FORM_RANK: Record<NameForm, number> = { replica: 0, logical: 1, bare: 2 }

/** What a name stands for. */
export interface Resolved {
  agentId: string
  /** The agent's own name, what a call sends. */
  tool: string
  /** Replicas that may serve it (sorted); one for a replica name. */
  replicas: string[]
  form: NameForm
}

/** One listed item: its name, what it resolves to, and the version to show. */
export interface Listed<T> extends Resolved {
  name: string
  item: T
}

export const NameClaim = Type.Object({
  agentId: Type.String(),
  /** The exposed name (after renames). */
  tool: Type.String(),
  form: Type.Union([Type.Literal('replica'), Type.Literal('logical'), Type.Literal('bare')]),
  nodeId: Type.Optional(Type.String())
})
export type NameClaim = Type.Static<typeof NameClaim>

/** A name two items would take; shown in the agents API and in status. */
export const NameCollision = Type.Object({
  name: Type.String(),
  /** Every claim, highest form first. */
  claims: Type.Array(NameClaim),
  /** The claim that keeps the name; absent when only bare claims met (each took its logical name). */
  heldBy: Type.Optional(NameClaim)
})
export type NameCollision = Type.Static<typeof NameCollision>

export interface Naming<T> {
  /** `own`: one agent's endpoint, its items under the names it exposes. */
  mode: NamingMode | 'own'
  /** Sorted by name; no two equal. */
  listed: Array<Listed<T>>
  /** Sorted by name. */
  collisions: NameCollision[]
  resolve: (name: string) => Resolved | undefined
}

export interface NamingInit {
  mode?: NamingMode
  /** Node tags; by default built from every replica of every agent. */
  names?: MeshNames
}

interface Claim<T extends { name: string }> {
  agentId: string
  item: ExposedItem<T>
  form: NameForm
  nodeId?: string
}

function claimView (claim: Claim<{ name: string }>): NameClaim {
  const view: NameClaim = { agentId: claim.agentId, tool: claim.item.name, form: claim.form }
  if (claim.nodeId !== undefined) view.nodeId = claim.nodeId
  return view
}

function compareClaims (a: NameClaim, b: NameClaim): number {
  return (FORM_RANK[a.form] - FORM_RANK[b.form]) || byCodeUnit(a.agentId, b.agentId) || byCodeUnit(a.nodeId ?? '', b.nodeId ?? '') || byCodeUnit(a.tool, b.tool)
}

/** The version a replica holds, or the listed (ranked first) version for a logical or bare name. */
function versionOn<T extends { name: string }> (item: ExposedItem<T>, nodeId: string | undefined): T {
  const version = nodeId === undefined ? item.versions[0] : item.versions.find((v) => v.nodeIds.includes(nodeId))
  if (version === undefined) throw new Error(`no version of ${item.name}`)
  return version.item
}

function resolvedOf (claim: Claim<{ name: string }>): Resolved {
  const replicas = claim.nodeId === undefined ? claim.item.replicas : [claim.nodeId]
  return { agentId: claim.agentId, tool: claim.item.ownName, replicas, form: claim.form }
}

/** Names the agents' tools. */
export function nameTools (agents: readonly FilteredAgent[], init: NamingInit = {}): Naming<AgentTool> {
  return formNames(agents, (a) => a.tools, init)
}

/** Names the agents' prompts, by the same rules in their own namespace. */
export function namePrompts (agents: readonly FilteredAgent[], init: NamingInit = {}): Naming<AgentPrompt> {
  return formNames(agents, (a) => a.prompts, init)
}

/** Names every item of the agents in one mode. Depends only on the set of agents, never on their order. */
function formNames<T extends { name: string }> (agents: readonly FilteredAgent[], itemsOf: (agent: FilteredAgent) => Array<ExposedItem<T>>, init: NamingInit): Naming<T> {
  const mode = init.mode ?? 'logical'
  const names = init.names ?? new MeshNames(agents.flatMap((a) => a.replicas.map((nodeId) => ({ nodeId }))))
  const claims = new Map<string, Array<Claim<T>>>()
  const claim = (name: string, c: Claim<T>): void => {
    const list = claims.get(name) ?? []
    list.push(c)
    claims.set(name, list)
  }
  for (const agent of agents) {
    for (const item of itemsOf(agent)) {
      for (const nodeId of item.replicas) claim(names.toolName(nodeId, agent.agentId, item.name), { agentId: agent.agentId, item, form: 'replica', nodeId })
      claim(`${agent.agentId}.${item.name}`, { agentId: agent.agentId, item, form: 'logical' })
      if (mode === 'conditional') claim(item.name, { agentId: agent.agentId, item, form: 'bare' })
    }
  }

  // Each name goes to its single highest claim; a tie between bare claims leaves it to nobody.
  const holder = new Map<string, Claim<T>>()
  const collisions: NameCollision[] = []
  for (const [name, list] of claims) {
    const ranked = [...list].sort((a, b) => compareClaims(claimView(a), claimView(b)))
    const [top, next] = ranked
    if (top === undefined) continue
    const held = next === undefined || FORM_RANK[top.form] < FORM_RANK[next.form] ? top : undefined
    if (held !== undefined) holder.set(name, held)
    if (ranked.length > 1) {
      const collision: NameCollision = { name, claims: ranked.map(claimView) }
      if (held !== undefined) collision.heldBy = claimView(held)
      collisions.push(collision)
    }
  }

  const holds = (name: string, item: ExposedItem<T>, form: NameForm): boolean => {
    const h = holder.get(name)
    return h !== undefined && h.item === item && h.form === form
  }
  const listed: Array<Listed<T>> = []
  for (const agent of agents) {
    for (const item of itemsOf(agent)) {
      const base = { agentId: agent.agentId, tool: item.ownName, replicas: item.replicas, item: versionOn(item, undefined) }
      const logical = `${agent.agentId}.${item.name}`
      if (mode === 'conditional' && holds(item.name, item, 'bare')) listed.push({ ...base, name: item.name, form: 'bare' })
      else if (mode !== 'always-prefixed' && holds(logical, item, 'logical')) listed.push({ ...base, name: logical, form: 'logical' })
      else {
        for (const nodeId of item.replicas) {
          listed.push({ ...base, name: names.toolName(nodeId, agent.agentId, item.name), replicas: [nodeId], item: versionOn(item, nodeId), form: 'replica' })
        }
      }
    }
  }
  listed.sort((a, b) => byCodeUnit(a.name, b.name))
  collisions.sort((a, b) => byCodeUnit(a.name, b.name))

  const byAgent = new Map(agents.map((a) => [a.agentId, new Map(itemsOf(a).map((i) => [i.name, i]))]))
  const resolve = (name: string): Resolved | undefined => {
    const h = holder.get(name)
    if (h !== undefined) return resolvedOf(h)
    // A replica named by its node's full peer id (MeshNames accepts both), for debugging.
    const parsed = names.resolve(name)
    if (parsed === undefined) return undefined
    const item = byAgent.get(parsed.agentId)?.get(parsed.name)
    if (item === undefined || !item.replicas.includes(parsed.nodeId)) return undefined
    return { agentId: parsed.agentId, tool: item.ownName, replicas: [parsed.nodeId], form: 'replica' }
  }
  return { mode, listed, collisions, resolve }
}

/**
 * One agent's items under the names it exposes, for its own endpoint (`/mcp/agents/<id>`):
 * no prefix and nothing to collide with, so a client built for the agent works unchanged.
 */
export function ownNames<T extends { name: string }> (agent: FilteredAgent | undefined, itemsOf: (agent: FilteredAgent) => Array<ExposedItem<T>>): Naming<T> {
  const listed: Array<Listed<T>> = agent === undefined
    ? []
    : itemsOf(agent).map((item) => ({ name: item.name, agentId: agent.agentId, tool: item.ownName, replicas: item.replicas, form: 'bare', item: versionOn(item, undefined) }))
  listed.sort((a, b) => byCodeUnit(a.name, b.name))
  const byName = new Map(listed.map((l) => [l.name, l]))
  const resolve = (name: string): Resolved | undefined => {
    const found = byName.get(name)
    return found === undefined ? undefined : { agentId: found.agentId, tool: found.tool, replicas: found.replicas, form: found.form }
  }
  return { mode: 'own', listed, collisions: [], resolve }
}
