import { describe, it, expect } from 'vitest'
import { buildCrd, CRD_INFOS } from '../../../src/api/crds.ts'
import type { StructuralSchema } from '../../../src/api/crd-schema.ts'
import { DawnNetworkCrd } from '../../../src/api/dawn-network.ts'
import { DawnNodeCrd, KUBO_API_PORT, KUBO_SWARM_PORT } from '../../../src/api/dawn-node.ts'
import { DawnAgentCrd } from '../../../src/api/dawn-agent.ts'

const schemaOf = (info: typeof DawnNodeCrd): StructuralSchema => buildCrd(info).spec.versions[0]!.schema.openAPIV3Schema
const at = (schema: StructuralSchema, path: string): StructuralSchema => {
  let node = schema
  for (const part of path.split('.')) {
    const next = node.properties?.[part]
    if (next === undefined) throw new Error(`no schema at ${path} (stuck at ${part})`)
    node = next
  }
  return node
}
const rules = (node: StructuralSchema): string[] => (node['x-kubernetes-validations'] ?? []).map(v => v.rule)
const messages = (node: StructuralSchema): string[] => (node['x-kubernetes-validations'] ?? []).map(v => v.message ?? '')

function walk (node: StructuralSchema, visit: (n: StructuralSchema, path: string) => void, path = ''): void {
  visit(node, path)
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, visit, `${path}.${k}`)
  if (node.items !== undefined) walk(node.items, visit, `${path}[]`)
  if (node.additionalProperties !== undefined) walk(node.additionalProperties, visit, `${path}[*]`)
}

describe('CRDs', () => {
  it('names, short names, category, scope and version', () => {
    const names = CRD_INFOS.map(info => {
      const crd = buildCrd(info)
      return [crd.metadata.name, crd.spec.names.kind, crd.spec.names.shortNames, crd.spec.names.categories, crd.spec.scope, crd.spec.versions.map(v => v.name)]
    })
    expect(names).toEqual([
      ['dawnnetworks.mesh.dawn.dev', 'DawnNetwork', ['dnet'], ['dawn'], 'Namespaced', ['v1alpha1']],
      ['dawnnodes.mesh.dawn.dev', 'DawnNode', ['dnode'], ['dawn'], 'Namespaced', ['v1alpha1']],
      ['dawnagents.mesh.dawn.dev', 'DawnAgent', ['dagent'], ['dawn'], 'Namespaced', ['v1alpha1']]
    ])
  })

  it('every CRD has a status subresource and a Ready and Age column; DawnNode has scale', () => {
    for (const info of CRD_INFOS) {
      const version = buildCrd(info).spec.versions[0]!
      expect(version.subresources.status).toEqual({})
      expect(version.additionalPrinterColumns.map(c => c.name)).toEqual(expect.arrayContaining(['Ready', 'Age']))
      expect(version.additionalPrinterColumns.find(c => c.name === 'Ready')?.jsonPath).toBe('.status.conditions[?(@.type=="Ready")].status')
    }
    expect(buildCrd(DawnNodeCrd).spec.versions[0]!.subresources.scale).toEqual({
      specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector'
    })
    expect(buildCrd(DawnNodeCrd).spec.versions[0]!.additionalPrinterColumns.map(c => c.name)).toEqual(['Network', 'Replicas', 'Ready Replicas', 'Ready', 'Image', 'Age'])
  })

  it('every schema is structural: typed nodes, no additionalProperties: false, messages on every rule', () => {
    for (const info of CRD_INFOS) {
      walk(schemaOf(info), (node, path) => {
        const typed = node.type !== undefined || node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true
        expect(typed, `${info.kind}${path} has no type`).toBe(true)
        expect((node as Record<string, unknown>).additionalProperties, `${info.kind}${path}`).not.toBe(false)
        for (const v of node['x-kubernetes-validations'] ?? []) expect(v.message, `${info.kind}${path}: ${v.rule}`).toMatch(/\S/)
      })
    }
  })

  it('conditions are a list-map keyed by type (server-side apply merges them per type)', () => {
    for (const info of CRD_INFOS) {
      const conditions = at(schemaOf(info), 'status.conditions')
      expect(conditions['x-kubernetes-list-type']).toBe('map')
      expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type'])
      expect(conditions.items?.required).toEqual(['type', 'status', 'lastTransitionTime', 'reason', 'message'])
    }
  })

  describe('DawnNetwork', () => {
    const schema = schemaOf(DawnNetworkCrd)
    it('keeps the effective network name immutable, and requires a DNS-label metadata.name without networkName', () => {
      expect(rules(schema)).toEqual([
        '(has(self.spec.networkName) ? self.spec.networkName : self.metadata.name) == (has(oldSelf.spec.networkName) ? oldSelf.spec.networkName : oldSelf.metadata.name)',
        'size(self.metadata.name) <= 63',
        "has(self.spec.networkName) || self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')"
      ])
      expect(messages(schema)[0]).toMatch(/^spec\.networkName is immutable/)
    })
    it('defaults everything from an empty spec', () => {
      expect(at(schema, 'spec').default).toEqual({
        clusterDomain: 'cluster.local',
        privateNetwork: {},
        membership: { certificateValidityDays: 365 },
        encryption: { policy: 'required' },
        ipfs: { replicationFactor: 2, privateSwarm: true },
        mcp: { naming: 'logical' },
        monitoring: {
          podMonitor: true,
          prometheusRule: true,
          alertmanagerConfig: { enabled: true, receiver: { name: 'dawn' }, groupBy: ['alertname', 'namespace', 'network'], groupWait: '30s', groupInterval: '5m', repeatInterval: '4h', matchers: [] },
          grafanaDashboard: true,
          interval: '30s'
        }
      })
      expect(at(schema, 'spec.membership.certificateValidityDays')).toMatchObject({ minimum: 1, maximum: 3650 })
      expect(at(schema, 'spec.ipfs.replicationFactor')).toMatchObject({ minimum: 1, maximum: 16 })
      expect(at(schema, 'spec.encryption.policy').enum).toEqual(['required', 'preferred'])
      expect(at(schema, 'spec.privateNetwork.swarmKeySecretRef.key').default).toBe('swarm.key')
    })
  })

  describe('DawnNode', () => {
    const schema = schemaOf(DawnNodeCrd)
    it('limits metadata.name so pods, Services and revision labels stay valid DNS labels', () => {
      expect(rules(schema)).toEqual(["self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')", 'size(self.metadata.name) <= 52'])
      expect(messages(schema)[1]).toMatch(/at most 52 characters/)
    })
    it('makes networkRef immutable', () => {
      expect(rules(at(schema, 'spec.networkRef'))).toEqual(['self == oldSelf'])
      expect(messages(at(schema, 'spec.networkRef'))[0]).toMatch(/^networkRef is immutable/)
    })
    it('lets storage only grow, with the CEL quantity library, and keeps the class', () => {
      expect(rules(at(schema, 'spec.storage'))).toEqual([
        "quantity(self.size).isGreaterThan(quantity('0'))",
        'quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0',
        'has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)'
      ])
      expect(messages(at(schema, 'spec.storage'))[1]).toMatch(/^storage\.size can only grow/)
      expect(rules(at(schema, 'spec.kubo'))).toContain('quantity(self.storageSize).compareTo(quantity(oldSelf.storageSize)) >= 0')
    })
    it('keeps the node ports apart from each other and from Kubo', () => {
      expect(rules(at(schema, 'spec.ports'))).toEqual([
        'self.p2p != self.http',
        `!(self.p2p in [${KUBO_SWARM_PORT}, ${KUBO_API_PORT}]) && !(self.http in [${KUBO_SWARM_PORT}, ${KUBO_API_PORT}])`
      ])
    })
    it('has the documented defaults and ranges', () => {
      expect(at(schema, 'spec.replicas')).toMatchObject({ type: 'integer', minimum: 0, maximum: 100, default: 3 })
      expect(at(schema, 'spec.image').default).toBe('dawn/node:0.1.0')
      expect(at(schema, 'spec.kubo').default).toEqual({ image: 'ipfs/kubo:v0.38.1', storageSize: '2Gi' })
      expect(at(schema, 'spec.storage').default).toEqual({ size: '1Gi' })
      expect(at(schema, 'spec.ports').default).toEqual({ p2p: 4001, http: 8080 })
      expect(at(schema, 'spec.roles').default).toEqual({ bootstrap: true, relay: false })
      expect(at(schema, 'spec.podDisruptionBudget').default).toEqual({ enabled: true, maxUnavailable: 1 })
      // Taken from the node's own config schema, not restated.
      expect(at(schema, 'spec.logLevel')).toMatchObject({ type: 'string', enum: ['debug', 'info', 'warn', 'error'], default: 'info' })
      expect(at(schema, 'spec.resources.requests').additionalProperties?.['x-kubernetes-int-or-string']).toBe(true)
      expect(at(schema, 'spec.scheduling.tolerations').items?.['x-kubernetes-preserve-unknown-fields']).toBe(true)
      expect(at(schema, 'spec.scheduling.affinity')['x-kubernetes-preserve-unknown-fields']).toBe(true)
      expect(at(schema, 'status.peers')['x-kubernetes-list-map-keys']).toEqual(['ordinal'])
    })
    it('images default without a registry host', () => {
      for (const image of [at(schema, 'spec.image').default, at(schema, 'spec.kubo.image').default]) {
        expect(String(image).split('/')[0]).not.toMatch(/[.:]|^localhost$/)
      }
    })
  })

  describe('DawnAgent', () => {
    const schema = schemaOf(DawnAgentCrd)
    it('requires exactly one runtime and at most one placement kind', () => {
      expect(rules(at(schema, 'spec'))).toEqual(['(has(self.builtin) ? 1 : 0) + (has(self.remote) ? 1 : 0) + (has(self.image) ? 1 : 0) == 1'])
      expect(messages(at(schema, 'spec'))).toEqual(['set exactly one agent runtime: spec.builtin, spec.remote or spec.image'])
      expect(rules(at(schema, 'spec.placement'))).toEqual(['!(has(self.nodes) && has(self.nodeSelector))'])
    })
    it('makes networkRef immutable and limits the name to fit dawn-agent-<name>', () => {
      expect(rules(at(schema, 'spec.networkRef'))).toEqual(['self == oldSelf'])
      expect(rules(schema)).toEqual(["self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')", 'size(self.metadata.name) <= 52'])
    })
    it('has runtime defaults and preserves built-in settings', () => {
      expect(at(schema, 'spec.image.port').default).toBe(8080)
      expect(at(schema, 'spec.image.path').default).toBe('/mcp')
      expect(at(schema, 'spec.image.replicas').default).toBe(1)
      expect(at(schema, 'spec.remote.url').pattern).toBe('^https?://[^\\s]+$')
      expect(at(schema, 'spec.remote.headersSecretRef.key').default).toBe('headers.json')
      expect(at(schema, 'spec.builtin.settings')['x-kubernetes-preserve-unknown-fields']).toBe(true)
      expect(at(schema, 'spec.image.env').items).toMatchObject({ type: 'object', required: ['name'], 'x-kubernetes-preserve-unknown-fields': true })
    })
    it('spec.tools is the node\'s tool filter, with CEL for what a CRD map cannot say; kubectl shows replicas and tools', () => {
      expect(Object.keys(at(schema, 'spec.tools').properties ?? {})).toEqual(['allow', 'deny', 'rename', 'descriptions'])
      expect(at(schema, 'spec.tools.deny').items).toMatchObject({ pattern: '^[A-Za-z0-9_.:/*-]+$', maxLength: 128 })
      expect(messages(at(schema, 'spec.tools.rename'))).toEqual(['every key of tools.rename must be a tool name: 1-128 of A-Z a-z 0-9 _ . : / -', 'two tools cannot be renamed to one name'])
      expect(rules(at(schema, 'spec.tools.descriptions'))).toEqual(["self.all(k, size(k) <= 128 && k.matches('^[A-Za-z0-9_.:/-]+$'))"])
      const columns = buildCrd(DawnAgentCrd).spec.versions[0]!.additionalPrinterColumns
      expect(columns.filter(c => c.priority === undefined).map(c => [c.name, c.jsonPath])).toEqual([
        ['Network', '.spec.networkRef.name'], ['Nodes', '.status.nodes'], ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
        ['Replicas', '.status.readyReplicas'], ['Tools', '.status.toolCount'], ['Age', '.metadata.creationTimestamp']
      ])
    })
  })
})
