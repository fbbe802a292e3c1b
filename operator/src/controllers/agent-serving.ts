import type { DawnNode } from '../api/index.ts'
import type { AgentReport } from '../runtime/agent-probe.ts'
import type { ProbeTarget } from '../runtime/mesh-probe.ts'
import { podDnsName, podName, type AgentObservation } from '../render/index.ts'

/** How the agent controller looks at what the mesh serves: who asks a node, and how often. */
export interface AgentWatch {
  probe: { observe: (agentId: string, targets: readonly ProbeTarget[], signal: AbortSignal) => Promise<AgentReport> }
  /** Requeue of an agent whose network exists, i.e. how soon a change in the registry shows. */
  intervalMs: number
}

/**
 * The nodes to ask about an agent, in order: the placed pools' first, by ordinal, then the
 * network's other pools (any node's registry covers the whole mesh). Only pools with a ready
 * pod, as the network controller's mesh look, and only nodes with a reported peer id.
 */
export function agentProbeTargets (placed: readonly DawnNode[], pools: readonly DawnNode[], clusterDomain: string): ProbeTarget[] {
  const placedNames = new Set(placed.map(p => p.metadata.name ?? ''))
  const ordered = [...placed, ...pools.filter(p => !placedNames.has(p.metadata.name ?? ''))].filter(p => (p.status?.readyReplicas ?? 0) > 0)
  const targets: ProbeTarget[] = []
  for (const pool of ordered) {
    const known = new Set((pool.status?.peers ?? []).map(p => p.ordinal))
    for (let ordinal = 0; ordinal < pool.spec.replicas; ordinal++) {
      if (!known.has(ordinal)) continue
      targets.push({ name: podName(pool.metadata.name ?? '', ordinal), baseUrl: `http://${podDnsName(pool, ordinal, clusterDomain)}:${pool.spec.ports.http}` })
    }
  }
  return targets
}

/** What one node of the network says about the agent; undefined when there is nobody to ask yet. */
export async function observeAgent (watch: AgentWatch, agentId: string, targets: readonly ProbeTarget[], signal: AbortSignal): Promise<AgentObservation> {
  if (targets.length === 0) return undefined
  return await watch.probe.observe(agentId, targets, signal)
}
