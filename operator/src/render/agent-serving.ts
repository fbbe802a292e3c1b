// What a DawnAgent's status says about what the mesh serves, from one node's answer about the
// agent (runtime/agent-probe.ts). Pure: nodes are named by pod through the pools' reported
// peers, lists are capped, and when no node answered the last observed values stay and the
// condition says Unknown.
import type { LogicalAgentReply } from '@dawn/node-image/http-schemas'
import type { DawnAgentStatus, DawnNode } from '../api/index.ts'
import { MAX_DISCOVERED_TOOLS, MAX_STATUS_COLLISIONS, MAX_STATUS_DESCRIPTION, MAX_STATUS_DIFFERENCES } from '../api/index.ts'
import { compareStrings } from './addresses.ts'
import type { ConditionUpdate } from './conditions.ts'
import { podName } from './names.ts'

/** What one node said about the agent: the part of its `/api/v1/agents/<id>` reply the status uses. */
export type ObservedAgent = Pick<LogicalAgentReply, 'replicas' | 'discoveredTools' | 'differences' | 'collisions'>

export type AgentObservation =
  /** `agent` undefined: the registry knows no replica. */
  | { ok: true, from: string, agent: ObservedAgent | undefined }
  | { ok: false, errors: string[] }
  /** Nobody to ask: no pool of the network has a ready node with a known peer id yet. */
  | undefined

export interface AgentServingInput {
  agentId: string
  /** Pools the agent is placed on. */
  placed: readonly DawnNode[]
  /** Every pool of the network, to name nodes by pod. */
  pools: readonly DawnNode[]
  observation: AgentObservation
  previous: DawnAgentStatus | undefined
}

type ServingFields = Pick<DawnAgentStatus, 'tools' | 'discoveredTools' | 'toolCount' | 'servingNodes' | 'readyReplicas' | 'desiredReplicas' | 'differences' | 'collisions'>

export interface AgentServing {
  status: ServingFields
  condition: Omit<ConditionUpdate, 'type' | 'observedGeneration'>
}

export const SERVING_REASONS = { serving: 'Serving', noReplica: 'NoReplica', replicasDiffer: 'ReplicasDiffer', notObserved: 'NotObserved' } as const

/** Pod names by peer id, from every pool's reported peers. */
function podsByPeer (pools: readonly DawnNode[]): Map<string, { pool: string, pod: string }> {
  const out = new Map<string, { pool: string, pod: string }>()
  for (const pool of pools) {
    const name = pool.metadata.name ?? ''
    for (const peer of pool.status?.peers ?? []) {
      if (peer.ordinal < pool.spec.replicas) out.set(peer.peerId, { pool: name, pod: podName(name, peer.ordinal) })
    }
  }
  return out
}

function cut (text: string | undefined): string | undefined {
  if (text === undefined || text.length <= MAX_STATUS_DESCRIPTION) return text
  return `${text.slice(0, MAX_STATUS_DESCRIPTION - 1)}…`
}

function list (items: readonly string[], max = 3): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`
}

export function agentServing (input: AgentServingInput): AgentServing {
  const { observation, previous } = input
  const desiredReplicas = input.placed.reduce((n, p) => n + p.spec.replicas, 0)
  if (observation === undefined || !observation.ok) {
    const kept: ServingFields = {}
    for (const key of ['tools', 'discoveredTools', 'toolCount', 'servingNodes', 'readyReplicas', 'differences', 'collisions'] as const) {
      if (previous?.[key] !== undefined) Object.assign(kept, { [key]: previous[key] })
    }
    const message = observation === undefined
      ? 'no node of the network is ready to be asked yet'
      : `no node answered: ${list(observation.errors)}`
    return { status: { ...kept, desiredReplicas }, condition: { status: 'Unknown', reason: SERVING_REASONS.notObserved, message } }
  }

  const pods = podsByPeer(input.pools)
  const named = (peerId: string): string => pods.get(peerId)?.pod ?? peerId
  const namedAll = (peerIds: readonly string[]): string[] => peerIds.map(named)
  const placed = new Set(input.placed.map(p => p.metadata.name ?? ''))
  const agent = observation.agent
  const replicas = agent?.replicas ?? []
  const readyReplicas = replicas.filter(r => placed.has(pods.get(r)?.pool ?? '')).length
  const tools = agent?.discoveredTools ?? []
  const discoveredTools = tools.slice(0, MAX_DISCOVERED_TOOLS).map(t => {
    const description = cut(t.description)
    return description === undefined ? { name: t.name } : { name: t.name, description }
  })
  const differences = (agent?.differences ?? []).slice(0, MAX_STATUS_DIFFERENCES).map(d => ({
    kind: d.kind, name: d.name, missingOn: namedAll(d.missingOn), listedFrom: named(d.listedFrom), differentOn: namedAll(d.differentOn)
  }))
  const claim = <C extends { nodeId?: string }>(c: C): C => c.nodeId === undefined ? c : { ...c, nodeId: named(c.nodeId) }
  const collisions = (agent?.collisions.tools ?? []).slice(0, MAX_STATUS_COLLISIONS).map(c => ({
    name: c.name, claims: c.claims.map(claim), ...(c.heldBy === undefined ? {} : { heldBy: claim(c.heldBy) })
  }))
  const status: ServingFields = {
    tools: discoveredTools.map(t => t.name),
    discoveredTools,
    toolCount: tools.length,
    servingNodes: namedAll(replicas).sort(compareStrings).slice(0, 1024),
    readyReplicas,
    desiredReplicas,
    differences,
    collisions
  }

  const total = agent?.differences.length ?? 0
  const condition: AgentServing['condition'] = replicas.length === 0
    ? { status: 'False', reason: SERVING_REASONS.noReplica, message: `no node in the mesh registry hosts agent ${input.agentId} (asked ${observation.from})` }
    : total > 0
      ? {
          status: 'False',
          reason: SERVING_REASONS.replicasDiffer,
          message: `replicas list different ${list((agent?.differences ?? []).map(d => `${d.kind} ${d.name}`))} (see status.differences)`
        }
      : {
          status: 'True',
          reason: SERVING_REASONS.serving,
          message: `served by ${replicas.length} node(s), ${readyReplicas}/${desiredReplicas} of the placed pools' nodes; ${tools.length} tool(s)`
        }
  return { status, condition }
}
