// Sample resources as the API server would hand them to the operator (defaults applied).
import { dawnAgentValidator, dawnNetworkValidator, dawnNodeValidator } from '../../../src/api/validate.ts'
import type { DawnAgent } from '../../../src/api/dawn-agent.ts'
import type { DawnNetwork } from '../../../src/api/dawn-network.ts'
import type { DawnNode } from '../../../src/api/dawn-node.ts'

export const NS = 'mesh'

export function network (spec: Record<string, unknown> = {}, name = 'demo'): DawnNetwork {
  return dawnNetworkValidator.parse({
    apiVersion: 'mesh.dawn.dev/v1alpha1',
    kind: 'DawnNetwork',
    metadata: { name, namespace: NS, uid: `uid-network-${name}`, generation: 1 },
    spec
  })
}

export function pool (name: string, spec: Record<string, unknown> = {}, labels?: Record<string, string>): DawnNode {
  return dawnNodeValidator.parse({
    apiVersion: 'mesh.dawn.dev/v1alpha1',
    kind: 'DawnNode',
    metadata: { name, namespace: NS, uid: `uid-pool-${name}`, generation: 1, ...(labels === undefined ? {} : { labels }) },
    spec: { networkRef: { name: 'demo' }, ...spec }
  })
}

export function agent (name: string, spec: Record<string, unknown>, created = '2026-01-01T00:00:00Z'): DawnAgent {
  return dawnAgentValidator.parse({
    apiVersion: 'mesh.dawn.dev/v1alpha1',
    kind: 'DawnAgent',
    metadata: { name, namespace: NS, uid: `uid-agent-${name}`, generation: 1, creationTimestamp: created },
    spec: { networkRef: { name: 'demo' }, ...spec }
  })
}

export const NOW = Date.parse('2026-06-01T12:00:00Z')
