// DNS names and multiaddrs of pool pods. Pods resolve through the headless Service
// (which publishes not-ready addresses), so every address exists before any pod is ready.
import { KINDS } from '../api/group.ts'
import type { DawnNode, PeerStatus } from '../api/dawn-node.ts'
import { nameOf, namespaceOf } from './labels.ts'
import { headlessServiceName, podName } from './names.ts'
import type { PeerIdentity } from './identity.ts'

/** `<pool>-headless.<ns>.svc.<domain>`: the domain every pod of a pool lives under. */
export function poolDomain (pool: DawnNode, clusterDomain: string): string {
  return `${headlessServiceName(nameOf(pool, KINDS.node))}.${namespaceOf(pool, KINDS.node)}.svc.${clusterDomain}`
}

/** `<pool>-<i>.<pool>-headless.<ns>.svc.<domain>` */
export function podDnsName (pool: DawnNode, ordinal: number, clusterDomain: string): string {
  return `${podName(nameOf(pool, KINDS.node), ordinal)}.${poolDomain(pool, clusterDomain)}`
}

/** `/dns4/<pod dns>/tcp/<p2p>/p2p/<peerId>` */
export function peerAddress (pool: DawnNode, peer: PeerIdentity, clusterDomain: string): string {
  return `/dns4/${podDnsName(pool, peer.ordinal, clusterDomain)}/tcp/${pool.spec.ports.p2p}/p2p/${peer.peerId}`
}

/**
 * The announce address, with the pod name left to Kubernetes' `$(POD_NAME)` expansion
 * in the container env (one pod template serves every ordinal).
 */
export function announceAddressTemplate (pool: DawnNode, clusterDomain: string): string {
  return `/dns4/$(POD_NAME).${poolDomain(pool, clusterDomain)}/tcp/${pool.spec.ports.p2p}`
}

export interface PoolPeers {
  pool: DawnNode
  peers: readonly PeerIdentity[]
}

/**
 * Multiaddrs of every current ordinal (below replicas) of the bootstrap-role pools, in
 * a stable order: pools by namespace and name, then ordinals, interleaved across pools
 * so that a cap keeps every pool represented.
 */
export function bootstrapAddresses (pools: readonly PoolPeers[], clusterDomain: string, limit = Number.POSITIVE_INFINITY): string[] {
  const lists = [...pools]
    .filter(p => p.pool.spec.roles.bootstrap)
    .sort((a, b) => compareStrings(poolKey(a.pool), poolKey(b.pool)))
    .map(p => [...p.peers]
      .filter(peer => peer.ordinal < p.pool.spec.replicas)
      .sort((a, b) => a.ordinal - b.ordinal)
      .map(peer => peerAddress(p.pool, peer, clusterDomain)))
  const out: string[] = []
  for (let i = 0; out.length < limit && lists.some(l => i < l.length); i++) {
    for (const list of lists) {
      const addr = list[i]
      if (addr !== undefined && out.length < limit) out.push(addr)
    }
  }
  return out
}

/** status.peers of a pool. */
export function peerStatuses (pool: DawnNode, peers: readonly PeerIdentity[], clusterDomain: string): PeerStatus[] {
  const name = nameOf(pool, KINDS.node)
  return [...peers]
    .filter(p => p.ordinal < pool.spec.replicas)
    .sort((a, b) => a.ordinal - b.ordinal)
    .map(p => ({ ordinal: p.ordinal, pod: podName(name, p.ordinal), peerId: p.peerId, address: peerAddress(pool, p, clusterDomain) }))
}

function poolKey (pool: DawnNode): string {
  return `${pool.metadata.namespace ?? ''}/${pool.metadata.name ?? ''}`
}

/** Code-unit order: the same on every machine, unlike localeCompare. */
export function compareStrings (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
