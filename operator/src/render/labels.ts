import type { V1OwnerReference } from '@kubernetes/client-node'
import { API_VERSION, KINDS } from '../api/group.ts'
import type { DawnNetwork } from '../api/dawn-network.ts'
import type { DawnNode } from '../api/dawn-node.ts'
import type { DawnAgent } from '../api/dawn-agent.ts'
import { RenderInputError } from './errors.ts'

export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  managedBy: 'app.kubernetes.io/managed-by',
  /** Always the DawnNetwork resource's name (what networkRef says), not spec.networkName. */
  network: 'mesh.dawn.dev/network',
  pool: 'mesh.dawn.dev/pool',
  agent: 'mesh.dawn.dev/agent'
} as const

export const MANAGED_BY = 'dawn-operator'
export const NODE_APP = 'dawn-node'
export const AGENT_APP = 'dawn-agent'
export const NETWORK_APP = 'dawn-network'

/** Pod-template annotation: a hash of what needs a restart (see checksum.ts). */
export const CONFIG_CHECKSUM_ANNOTATION = 'mesh.dawn.dev/config-checksum'

type Named = { metadata: { name?: string, namespace?: string, uid?: string } }

export function nameOf (obj: Named, kind: string): string {
  const name = obj.metadata.name
  if (name === undefined || name === '') throw new RenderInputError(`${kind} has no metadata.name`)
  return name
}

export function namespaceOf (obj: Named, kind: string): string {
  const ns = obj.metadata.namespace
  if (ns === undefined || ns === '') throw new RenderInputError(`${kind} ${obj.metadata.name ?? ''} has no metadata.namespace`)
  return ns
}

/** Immutable StatefulSet selector: only labels that can never change for a pool. */
export function poolSelectorLabels (pool: DawnNode): Record<string, string> {
  return { [LABELS.name]: NODE_APP, [LABELS.instance]: nameOf(pool, KINDS.node) }
}

export function poolLabels (pool: DawnNode): Record<string, string> {
  return {
    ...poolSelectorLabels(pool),
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.network]: pool.spec.networkRef.name,
    [LABELS.pool]: nameOf(pool, KINDS.node)
  }
}

/** `status.selector` for the scale subresource (and `kubectl get pods -l`). */
export function poolSelectorString (pool: DawnNode): string {
  return Object.entries(poolSelectorLabels(pool)).map(([k, v]) => `${k}=${v}`).join(',')
}

export function networkLabels (network: DawnNetwork): Record<string, string> {
  const name = nameOf(network, KINDS.network)
  return { [LABELS.name]: NETWORK_APP, [LABELS.instance]: name, [LABELS.managedBy]: MANAGED_BY, [LABELS.network]: name }
}

export function agentSelectorLabels (agent: DawnAgent): Record<string, string> {
  return { [LABELS.name]: AGENT_APP, [LABELS.instance]: nameOf(agent, KINDS.agent) }
}

export function agentLabels (agent: DawnAgent): Record<string, string> {
  return {
    ...agentSelectorLabels(agent),
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.network]: agent.spec.networkRef.name,
    [LABELS.agent]: nameOf(agent, KINDS.agent)
  }
}

/** The controller owner reference: garbage collection deletes what we created with its owner. */
export function ownerReference (kind: typeof KINDS[keyof typeof KINDS], owner: Named): V1OwnerReference {
  const uid = owner.metadata.uid
  if (uid === undefined || uid === '') throw new RenderInputError(`${kind} ${owner.metadata.name ?? ''} has no metadata.uid; render from an object read from the API server`)
  return { apiVersion: API_VERSION, kind, name: nameOf(owner, kind), uid, controller: true, blockOwnerDeletion: true }
}
