import { describe, it, expect } from 'vitest'
import { renderClientService, renderHeadlessService } from '../../../src/render/services.ts'
import { renderPodDisruptionBudget } from '../../../src/render/pdb.ts'
import { poolSelectorString } from '../../../src/render/labels.ts'
import { RenderInputError } from '../../../src/render/errors.ts'
import { pool } from './fixtures.ts'

const selector = { 'app.kubernetes.io/name': 'dawn-node', 'app.kubernetes.io/instance': 'a' }
const labels = { ...selector, 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': 'demo', 'mesh.dawn.dev/pool': 'a' }
const ownerReferences = [{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', name: 'a', uid: 'uid-pool-a', controller: true, blockOwnerDeletion: true }]

describe('pool Services', () => {
  it('headless Service publishes not-ready pods so peers resolve before they are ready', () => {
    expect(renderHeadlessService(pool('a'))).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a-headless', namespace: 'mesh', labels, ownerReferences },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector,
        ports: [
          { name: 'p2p', port: 4001, targetPort: 'p2p', protocol: 'TCP' },
          { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }
        ]
      }
    })
  })

  it('client Service exposes the HTTP port and keeps a client on one pod (MCP sessions live on one node)', () => {
    expect(renderClientService(pool('a', { ports: { http: 9000 } }))).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'a', namespace: 'mesh', labels, ownerReferences },
      spec: { type: 'ClusterIP', selector, sessionAffinity: 'ClientIP', ports: [{ name: 'http', port: 9000, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }] }
    })
  })

  it('refuses to render for an object without uid (owner references need one)', () => {
    const p = pool('a')
    delete p.metadata.uid
    expect(() => renderHeadlessService(p)).toThrow(RenderInputError)
  })

  it('publishes the pod selector for the scale subresource', () => {
    expect(poolSelectorString(pool('a'))).toBe('app.kubernetes.io/name=dawn-node,app.kubernetes.io/instance=a')
  })
})

describe('renderPodDisruptionBudget', () => {
  it('renders policy/v1 with maxUnavailable when enabled and replicas > 1', () => {
    expect(renderPodDisruptionBudget(pool('a'))).toEqual({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'a', namespace: 'mesh', labels, ownerReferences },
      spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: 'AlwaysAllow' }
    })
    expect(renderPodDisruptionBudget(pool('a', { replicas: 5, podDisruptionBudget: { maxUnavailable: 2 } }))?.spec?.maxUnavailable).toBe(2)
  })

  it('renders none for a single replica or when disabled', () => {
    expect(renderPodDisruptionBudget(pool('a', { replicas: 1 }))).toBeUndefined()
    expect(renderPodDisruptionBudget(pool('a', { replicas: 0 }))).toBeUndefined()
    expect(renderPodDisruptionBudget(pool('a', { podDisruptionBudget: { enabled: false } }))).toBeUndefined()
  })
})
