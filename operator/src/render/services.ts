import type { V1Service } from '@kubernetes/client-node'
import { KINDS } from '../api/group.ts'
import type { DawnNode } from '../api/dawn-node.ts'
import { nameOf, namespaceOf, ownerReference, poolLabels, poolSelectorLabels } from './labels.ts'
import { clientServiceName, headlessServiceName } from './names.ts'

export const P2P_PORT_NAME = 'p2p'
export const HTTP_PORT_NAME = 'http'

/**
 * `<pool>-headless`: gives each pod its DNS name. Not-ready pods are published too:
 * a node only becomes ready once it has a peer, so peers must resolve before that.
 */
export function renderHeadlessService (pool: DawnNode): V1Service {
  const name = nameOf(pool, KINDS.node)
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: headlessServiceName(name), namespace: namespaceOf(pool, KINDS.node), labels: poolLabels(pool), ownerReferences: [ownerReference(KINDS.node, pool)] },
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: poolSelectorLabels(pool),
      ports: [
        { name: P2P_PORT_NAME, port: pool.spec.ports.p2p, targetPort: P2P_PORT_NAME, protocol: 'TCP' },
        { name: HTTP_PORT_NAME, port: pool.spec.ports.http, targetPort: HTTP_PORT_NAME, protocol: 'TCP', appProtocol: 'http' }
      ]
    }
  }
}

/**
 * `<pool>`: the pool's HTTP API, MCP endpoint and web UI, load-balanced over ready pods.
 * An MCP 2025-11-25 session lives on the node that created it, so a client sticks to one
 * pod (kube-proxy's ClientIP affinity, 3 hours by default).
 */
export function renderClientService (pool: DawnNode): V1Service {
  const name = nameOf(pool, KINDS.node)
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: clientServiceName(name), namespace: namespaceOf(pool, KINDS.node), labels: poolLabels(pool), ownerReferences: [ownerReference(KINDS.node, pool)] },
    spec: {
      type: 'ClusterIP',
      selector: poolSelectorLabels(pool),
      sessionAffinity: 'ClientIP',
      ports: [{ name: HTTP_PORT_NAME, port: pool.spec.ports.http, targetPort: HTTP_PORT_NAME, protocol: 'TCP', appProtocol: 'http' }]
    }
  }
}
