import type { DawnAgent, DawnNetwork, DawnNode, PeerStatus } from '../api/index.ts'
import { effectiveNetworkName } from '../api/index.ts'
import type { PoolPeers } from '../render/index.ts'
import type { Caches } from './context.ts'

/** Pools (DawnNodes) that name `network` in the same namespace. */
export function poolsOf (caches: Caches, namespace: string, network: string): DawnNode[] {
  return caches.nodes.list({ namespace, where: n => n.spec.networkRef.name === network })
}

export function agentsOf (caches: Caches, namespace: string, network: string): DawnAgent[] {
  return caches.agents.list({ namespace, where: a => a.spec.networkRef.name === network })
}

export function networkOf (caches: Caches, namespace: string, name: string): DawnNetwork | undefined {
  return caches.networks.getByName(namespace, name)
}

/** Peers of other pools as their status reports them (their own reconcile computed them). */
export function reportedPeers (pool: DawnNode): PoolPeers {
  return { pool, peers: (pool.status?.peers ?? []).map((p: PeerStatus) => ({ ordinal: p.ordinal, peerId: p.peerId })) }
}

export function networkNameOf (net: DawnNetwork): string {
  return effectiveNetworkName(net)
}

/** Keys `<ns>/<pool>` of every pool in an object's network (for watches that fan out). */
export function poolKeysOfNetwork (caches: Caches, namespace: string | undefined, network: string | undefined): string[] {
  if (namespace === undefined || network === undefined) return []
  return poolsOf(caches, namespace, network).map(p => `${namespace}/${p.metadata.name ?? ''}`)
}
