import type { DawnNetwork, DawnNode } from '../api/index.ts'
import type { PeerReport, ProbeTarget } from '../runtime/mesh-probe.ts'
import { assessMesh, meshDegradedCondition, podDnsName, podName, type ConditionUpdate, type MeshMember } from '../render/index.ts'

/** How the network controller looks at the mesh: who asks the nodes, and how often. */
export interface MeshWatch {
  probe: { observe: (targets: readonly ProbeTarget[], signal: AbortSignal) => Promise<PeerReport[]> }
  /** Requeue of a network with nodes, i.e. how soon a partition shows. */
  intervalMs: number
  /** A node this young with no peer yet is joining, not cut off. */
  joinGraceMs: number
}

/** Asks every node of the network's pools for its peers; returns the mesh's Degraded condition (none without nodes to ask). */
export async function observeMesh (mesh: MeshWatch, net: DawnNetwork, pools: readonly DawnNode[], now: number, signal: AbortSignal): Promise<Omit<ConditionUpdate, 'type' | 'observedGeneration'> | undefined> {
  const members: MeshMember[] = []
  const targets: ProbeTarget[] = []
  for (const pool of pools) {
    const name = pool.metadata.name ?? ''
    const peers = new Map((pool.status?.peers ?? []).map(p => [p.ordinal, p.peerId]))
    for (let ordinal = 0; ordinal < pool.spec.replicas; ordinal++) {
      const peerId = peers.get(ordinal)
      // Before the pool's first reconcile there is no peer id to recognise the node by.
      if (peerId === undefined) continue
      members.push({ name: podName(name, ordinal), peerId })
      targets.push({ name: podName(name, ordinal), baseUrl: `http://${podDnsName(pool, ordinal, net.spec.clusterDomain)}:${pool.spec.ports.http}` })
    }
  }
  if (targets.length === 0) return undefined
  const reports = await mesh.probe.observe(targets, signal)
  return meshDegradedCondition(assessMesh(members, reports, { now, joinGraceMs: mesh.joinGraceMs }))
}
