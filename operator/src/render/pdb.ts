import type { V1PodDisruptionBudget } from '@kubernetes/client-node'
import { KINDS } from '../api/group.ts'
import type { DawnNode } from '../api/dawn-node.ts'
import { nameOf, namespaceOf, ownerReference, poolLabels, poolSelectorLabels } from './labels.ts'
import { podDisruptionBudgetName } from './names.ts'

/**
 * A PodDisruptionBudget when enabled and the pool has more than one replica (with one,
 * any budget either blocks node drains forever or allows everything). Undefined means
 * "there should be none": delete one if it exists.
 */
export function renderPodDisruptionBudget (pool: DawnNode): V1PodDisruptionBudget | undefined {
  const { enabled, maxUnavailable } = pool.spec.podDisruptionBudget
  if (!enabled || pool.spec.replicas <= 1) return undefined
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: {
      name: podDisruptionBudgetName(nameOf(pool, KINDS.node)),
      namespace: namespaceOf(pool, KINDS.node),
      labels: poolLabels(pool),
      ownerReferences: [ownerReference(KINDS.node, pool)]
    },
    spec: {
      maxUnavailable: Math.min(maxUnavailable, pool.spec.replicas),
      selector: { matchLabels: poolSelectorLabels(pool) },
      // Pods that are not ready yet may be evicted: a stuck pod must not block a drain.
      unhealthyPodEvictionPolicy: 'AlwaysAllow'
    }
  }
}
