import { describe, it, expect } from 'vitest'
import type { V1Pod } from '@kubernetes/client-node'
import { nodeRelabelings, renderPlainScrapeConfig, renderPodMonitor, type RelabelConfig } from '../../../../src/render/monitoring/scrape.ts'
import { applyRelabelings, nodeTargetGroups, podMetaLabels, renderStaticScrapeConfig } from '../../../../src/render/monitoring/targets.ts'
import { network } from '../fixtures.ts'

const ownerReferences = [{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNetwork', name: 'demo', uid: 'uid-network-demo', controller: true, blockOwnerDeletion: true }]
const labels = { 'app.kubernetes.io/name': 'dawn-network', 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': 'demo' }

/** What Prometheus's relabelling does with the actions these configs use (regex anchored, default (.*), $1). */
function relabel (meta: Record<string, string>, rules: Array<{ action?: string, source?: string[], regex?: string, target?: string, replacement?: string }>): Record<string, string> | undefined {
  const out = { ...meta }
  for (const r of rules) {
    const value = (r.source ?? []).map(s => out[s] ?? '').join(';')
    const m = new RegExp(`^(?:${r.regex ?? '(.*)'})$`).exec(value)
    if (r.action === 'keep') { if (m === null) return undefined; continue }
    if (m !== null && r.target !== undefined) out[r.target] = (r.replacement ?? '$1').replace('$1', m[1] ?? '')
  }
  return Object.fromEntries(Object.entries(out).filter(([k]) => !k.startsWith('__')))
}
const fromOperator = (r: RelabelConfig[]): Parameters<typeof relabel>[1] => r.map(x => ({ action: x.action, source: x.sourceLabels, regex: x.regex, target: x.targetLabel, replacement: x.replacement }))

/** A node pod's container port as kubernetes_sd_configs (role: pod) presents it. */
const target = (over: Record<string, string> = {}): Record<string, string> => ({
  __meta_kubernetes_namespace: 'mesh',
  __meta_kubernetes_pod_name: 'pool-a-0',
  __meta_kubernetes_pod_label_app_kubernetes_io_name: 'dawn-node',
  __meta_kubernetes_pod_label_mesh_dawn_dev_network: 'demo',
  __meta_kubernetes_pod_label_mesh_dawn_dev_pool: 'pool-a',
  __meta_kubernetes_pod_container_port_name: 'http',
  ...over
})

describe('renderPodMonitor', () => {
  it('scrapes the http port of the network\'s node pods, owned by the network, with the user\'s labels', () => {
    const net = network({ monitoring: { interval: '15s', labels: { release: 'prom', 'app.kubernetes.io/managed-by': 'someone' } } })
    expect(renderPodMonitor(net)).toEqual({
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PodMonitor',
      metadata: { name: 'demo-nodes', namespace: 'mesh', labels: { release: 'prom', ...labels }, ownerReferences },
      spec: {
        selector: { matchLabels: { 'app.kubernetes.io/name': 'dawn-node', 'mesh.dawn.dev/network': 'demo' } },
        namespaceSelector: { matchNames: ['mesh'] },
        podMetricsEndpoints: [{
          port: 'http',
          path: '/metrics',
          interval: '15s',
          relabelings: [
            { action: 'replace', sourceLabels: ['__meta_kubernetes_namespace'], targetLabel: 'namespace' },
            { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_mesh_dawn_dev_network'], targetLabel: 'network' },
            { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_label_mesh_dawn_dev_pool'], targetLabel: 'pool' },
            { action: 'replace', sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'pod' },
            { action: 'replace', replacement: 'dawn-node', targetLabel: 'job' }
          ]
        }]
      }
    })
  })
})

describe('renderPlainScrapeConfig', () => {
  it('is the PodMonitor as a kubernetes_sd_configs job: same targets, same labels', () => {
    const plain = renderPlainScrapeConfig({ networks: [{ namespace: 'mesh', name: 'demo' }], interval: '15s', kubeconfigFile: '/etc/prometheus/kubeconfig' })
    expect(plain.job_name).toBe('dawn-node')
    expect(plain.scrape_interval).toBe('15s')
    expect(plain.kubernetes_sd_configs).toEqual([{ role: 'pod', kubeconfig_file: '/etc/prometheus/kubeconfig', namespaces: { names: ['mesh'] } }])
    const rules = plain.relabel_configs.map(r => ({ action: r.action, source: r.source_labels, regex: r.regex, target: r.target_label, replacement: r.replacement }))
    const expected = { job: 'dawn-node', namespace: 'mesh', network: 'demo', pool: 'pool-a', pod: 'pool-a-0' }
    expect(relabel(target(), rules)).toEqual(expected)
    // The PodMonitor's relabelings give the same labels (prometheus-operator selects the pods and the port itself).
    expect(relabel(target(), fromOperator(nodeRelabelings()))).toEqual(expected)
    // Not picked: another network, another namespace, a non-node pod, the Kubo swarm port.
    expect(relabel(target({ __meta_kubernetes_pod_label_mesh_dawn_dev_network: 'other' }), rules)).toBeUndefined()
    expect(relabel(target({ __meta_kubernetes_namespace: 'elsewhere' }), rules)).toBeUndefined()
    expect(relabel(target({ __meta_kubernetes_pod_label_app_kubernetes_io_name: 'dawn-agent' }), rules)).toBeUndefined()
    expect(relabel(target({ __meta_kubernetes_pod_container_port_name: 'swarm' }), rules)).toBeUndefined()
  })

  it('without networks scrapes every Dawn node the discovery sees', () => {
    const plain = renderPlainScrapeConfig()
    expect(plain.kubernetes_sd_configs).toEqual([{ role: 'pod' }])
    expect(plain.scrape_interval).toBe('30s')
    const rules = plain.relabel_configs.map(r => ({ action: r.action, source: r.source_labels, regex: r.regex, target: r.target_label, replacement: r.replacement }))
    expect(relabel(target({ __meta_kubernetes_namespace: 'team-b', __meta_kubernetes_pod_label_mesh_dawn_dev_network: 'x' }), rules)).toMatchObject({ namespace: 'team-b', network: 'x' })
    expect(relabel(target({ __meta_kubernetes_pod_label_app_kubernetes_io_name: 'dawn-operator' }), rules)).toBeUndefined()
  })

  it('matches several networks, each in its own namespace only, escaping regex characters', () => {
    const plain = renderPlainScrapeConfig({ networks: [{ namespace: 'a', name: 'n1' }, { namespace: 'b', name: 'n.2' }] })
    const keep = plain.relabel_configs[0]!
    expect(keep.regex).toBe('a;dawn-node;n1|b;dawn-node;n\\.2')
    const rules = plain.relabel_configs.map(r => ({ action: r.action, source: r.source_labels, regex: r.regex, target: r.target_label, replacement: r.replacement }))
    expect(relabel(target({ __meta_kubernetes_namespace: 'b', __meta_kubernetes_pod_label_mesh_dawn_dev_network: 'n.2' }), rules)).toBeDefined()
    expect(relabel(target({ __meta_kubernetes_namespace: 'b', __meta_kubernetes_pod_label_mesh_dawn_dev_network: 'nx2' }), rules)).toBeUndefined()
    expect(relabel(target({ __meta_kubernetes_namespace: 'a', __meta_kubernetes_pod_label_mesh_dawn_dev_network: 'n.2' }), rules)).toBeUndefined()
  })
})

describe('renderStaticScrapeConfig (a Prometheus without Kubernetes discovery)', () => {
  const pod = (name: string, over: { namespace?: string, network?: string, app?: string, ip?: string, port?: string } = {}): V1Pod => ({
    metadata: {
      name,
      namespace: over.namespace ?? 'mesh',
      labels: { 'app.kubernetes.io/name': over.app ?? 'dawn-node', 'app.kubernetes.io/instance': 'pool-a', 'mesh.dawn.dev/network': over.network ?? 'demo', 'mesh.dawn.dev/pool': 'pool-a' }
    },
    spec: {
      containers: [
        { name: 'node', ports: [{ name: 'p2p', containerPort: 4001 }, { name: over.port ?? 'http', containerPort: 8080 }] },
        { name: 'kubo', ports: [{ name: 'swarm', containerPort: 4101 }] }
      ]
    },
    ...(over.ip === '' ? {} : { status: { podIP: over.ip ?? '10.1.0.7' } })
  })

  it('gives each node pod of the network the labels the kubernetes_sd scrape gives it', () => {
    const pods = [pod('pool-a-0'), pod('pool-a-1', { ip: '10.1.0.8' }), pod('x-0', { network: 'other' }), pod('y-0', { namespace: 'else' }),
      pod('agent', { app: 'dawn-agent' }), pod('pending', { ip: '' })]
    const config = renderStaticScrapeConfig({ pods, networks: [{ namespace: 'mesh', name: 'demo' }], interval: '5s' })
    expect(config).toEqual({
      job_name: 'dawn-node',
      scrape_interval: '5s',
      metrics_path: '/metrics',
      static_configs: [
        { targets: ['10.1.0.7:8080'], labels: { job: 'dawn-node', namespace: 'mesh', network: 'demo', pool: 'pool-a', pod: 'pool-a-0' } },
        { targets: ['10.1.0.8:8080'], labels: { job: 'dawn-node', namespace: 'mesh', network: 'demo', pool: 'pool-a', pod: 'pool-a-1' } }
      ]
    })
    // The same labels as the kubernetes_sd relabelling of the same pod (the independent engine above).
    const plain = renderPlainScrapeConfig({ networks: [{ namespace: 'mesh', name: 'demo' }] })
    const rules = plain.relabel_configs.map(r => ({ action: r.action, source: r.source_labels, regex: r.regex, target: r.target_label, replacement: r.replacement }))
    expect(relabel(podMetaLabels(pods[0]!, { name: 'http' }), rules)).toEqual({ ...config.static_configs[0]!.labels })
    // Every network when none is named; IPv6 addresses in brackets.
    expect(nodeTargetGroups([pod('a', { network: 'n1' }), pod('b', { network: 'n2', ip: 'fd00::5' })]).map(g => g.targets[0])).toEqual(['10.1.0.7:8080', '[fd00::5]:8080'])
  })

  it('relabels as Prometheus does: keep, drop, and $n in replacements', () => {
    expect(applyRelabelings({ a: 'x-1' }, [{ sourceLabels: ['a'], regex: 'x-(\\d)', targetLabel: 'b', replacement: 'n$1' }])).toEqual({ a: 'x-1', b: 'n1' })
    expect(applyRelabelings({ a: 'x' }, [{ action: 'keep', sourceLabels: ['a'], regex: 'y' }])).toBeUndefined()
    expect(applyRelabelings({ a: 'x' }, [{ action: 'drop', sourceLabels: ['a'], regex: 'x' }])).toBeUndefined()
  })
})
