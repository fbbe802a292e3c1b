/**
 * Logical agents: one per agent id, however many nodes host it. Built from a registry
 * snapshot in any order, the result depends only on the set of records, so every node
 * that holds the same registry lists the same thing.
 *
 * Replicas may disagree (a rolling upgrade): an agent lists the union of its replicas'
 * tools and prompts; each item records which replicas have it, and when replicas hold
 * different versions of an item, the one listed is the version held by most replicas,
 * ties going to the version held by the lowest node id.
 */
import Type from 'typebox'
import type { AgentPrompt, AgentRecord, AgentTool } from '../registry/agent-record.ts'
import { byCodeUnit, canonicalJson } from '../registry/canonical-json.ts'

/** One version of an item and the replicas holding exactly it (sorted). */
export interface ItemVersion<T> {
  item: T
  nodeIds: string[]
}

/** A tool or prompt of a logical agent. */
export interface LogicalItem<T extends { name: string }> {
  /** The agent's own name for it. */
  name: string
  /** Replicas whose agent lists it (sorted); a call goes only to these. */
  replicas: string[]
  /** Distinct versions, the listed one first (most holders, then lowest node id). */
  versions: Array<ItemVersion<T>>
}

/** How replicas of one agent disagree about one item; shown in status and the agents API. */
export const ReplicaDifference = Type.Object({
  kind: Type.Union([Type.Literal('tool'), Type.Literal('prompt')]),
  name: Type.String(),
  /** Replicas that do not list the item. */
  missingOn: Type.Array(Type.String()),
  /** The replica whose version is listed. */
  listedFrom: Type.String(),
  /** Replicas that list another version than the listed one. */
  differentOn: Type.Array(Type.String())
})
export type ReplicaDifference = Type.Static<typeof ReplicaDifference>

export interface LogicalAgent {
  agentId: string
  /** Nodes hosting the agent (sorted). */
  replicas: string[]
  /** Name, description and kind as most replicas give them. */
  name: string
  description: string
  kind: string
  /** Sorted by name (code unit order). */
  tools: Array<LogicalItem<AgentTool>>
  prompts: Array<LogicalItem<AgentPrompt>>
  /** Sorted by kind, then name. */
  differences: ReplicaDifference[]
  /** The record each replica holds, by node id. */
  records: Map<string, AgentRecord>
}

/**
 * One record per node and agent. A snapshot normally holds one already; should it hold two
 * (concurrent incarnations), the newest wins and equal times go to the lowest canonical
 * form, so arrival order never decides.
 */
function newestRecords (records: readonly AgentRecord[]): Map<string, AgentRecord> {
  const kept = new Map<string, { record: AgentRecord, canonical: string }>()
  for (const record of records) {
    const key = `${record.nodeId}:${record.agentId}`
    const other = kept.get(key)
    if (other !== undefined && other.record.updatedAt > record.updatedAt) continue
    const canonical = canonicalJson(record)
    if (other !== undefined && other.record.updatedAt === record.updatedAt && other.canonical <= canonical) continue
    kept.set(key, { record, canonical })
  }
  return new Map([...kept].map(([key, { record }]) => [key, record]))
}

/** Groups the holders' values by canonical form and orders the groups: most holders first, then lowest node id. */
function rankVersions<T> (held: Array<{ nodeId: string, item: T }>): Array<ItemVersion<T>> {
  const groups = new Map<string, ItemVersion<T>>()
  for (const { nodeId, item } of held) {
    const key = canonicalJson(item)
    const group = groups.get(key)
    if (group === undefined) groups.set(key, { item, nodeIds: [nodeId] })
    else group.nodeIds.push(nodeId)
  }
  const versions = [...groups.values()]
  for (const version of versions) version.nodeIds.sort(byCodeUnit)
  return versions.sort((a, b) => (b.nodeIds.length - a.nodeIds.length) || byCodeUnit(a.nodeIds[0] ?? '', b.nodeIds[0] ?? ''))
}

/** The union of one list over the replicas, with each item's versions ranked. */
function unionOf<T extends { name: string }> (replicas: AgentRecord[], list: (r: AgentRecord) => readonly T[] | undefined): Array<LogicalItem<T>> {
  const byName = new Map<string, Array<{ nodeId: string, item: T }>>()
  for (const record of replicas) {
    const seen = new Set<string>()
    for (const item of list(record) ?? []) {
      // A record listing a name twice is malformed; its first entry stands, as a client would read it.
      if (seen.has(item.name)) continue
      seen.add(item.name)
      const held = byName.get(item.name) ?? []
      held.push({ nodeId: record.nodeId, item })
      byName.set(item.name, held)
    }
  }
  return [...byName].sort(([a], [b]) => byCodeUnit(a, b)).map(([name, held]) => ({
    name,
    replicas: held.map((h) => h.nodeId).sort(byCodeUnit),
    versions: rankVersions(held)
  }))
}

function differencesOf (kind: ReplicaDifference['kind'], replicas: string[], items: Array<LogicalItem<{ name: string }>>): ReplicaDifference[] {
  const out: ReplicaDifference[] = []
  for (const item of items) {
    const [listed, ...others] = item.versions
    if (listed === undefined) continue
    const has = new Set(item.replicas)
    const missingOn = replicas.filter((nodeId) => !has.has(nodeId))
    const differentOn = others.flatMap((v) => v.nodeIds).sort(byCodeUnit)
    if (missingOn.length === 0 && differentOn.length === 0) continue
    out.push({ kind, name: item.name, missingOn, listedFrom: listed.nodeIds[0] ?? '', differentOn })
  }
  return out
}

/** The logical agents of a registry snapshot, sorted by agent id. */
export function logicalAgents (records: readonly AgentRecord[]): LogicalAgent[] {
  const byAgent = new Map<string, AgentRecord[]>()
  for (const record of newestRecords(records).values()) {
    const list = byAgent.get(record.agentId) ?? []
    list.push(record)
    byAgent.set(record.agentId, list)
  }
  return [...byAgent].sort(([a], [b]) => byCodeUnit(a, b)).map(([agentId, held]) => {
    held.sort((a, b) => byCodeUnit(a.nodeId, b.nodeId))
    const replicas = held.map((r) => r.nodeId)
    const [about] = rankVersions(held.map((r) => ({ nodeId: r.nodeId, item: { name: r.name, description: r.description, kind: r.kind } })))
    const tools = unionOf(held, (r) => r.tools)
    const prompts = unionOf(held, (r) => r.prompts)
    return {
      agentId,
      replicas,
      name: about?.item.name ?? agentId,
      description: about?.item.description ?? '',
      kind: about?.item.kind ?? '',
      tools,
      prompts,
      differences: [...differencesOf('tool', replicas, tools), ...differencesOf('prompt', replicas, prompts)],
      records: new Map(held.map((r) => [r.nodeId, r]))
    }
  })
}
