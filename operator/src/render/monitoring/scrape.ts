// How Prometheus scrapes a network's nodes: a PodMonitor for prometheus-operator, and the
// same scrape as a plain `scrape_configs` entry (kubernetes_sd_configs, role pod) for a
// Prometheus without it. Both come from nodePodSelector() and TARGET_LABELS, so their
// series carry the same labels and the same rules and dashboard work on either.
import type { KubernetesObject } from '@kubernetes/client-node'
import { KINDS } from '../../api/group.ts'
import type { DawnNetwork } from '../../api/dawn-network.ts'
import { LABELS, NODE_APP, ownerReference } from '../labels.ts'
import {
  METRICS_PATH, METRICS_PORT, MONITORING_RESOURCES, NODE_JOB, TARGET_LABELS, monitoringApiVersion, monitoringLabels,
  networkCoordinates, nodePodSelector, podLabelMeta, podMonitorName
} from './common.ts'

/** A prometheus-operator RelabelConfig (camelCase fields). */
export interface RelabelConfig {
  sourceLabels?: string[]
  targetLabel?: string
  regex?: string
  replacement?: string
  action?: 'replace' | 'keep' | 'drop'
}

/** The relabellings both scrapes apply after picking the targets: one label each, plus the job. */
export function nodeRelabelings (): RelabelConfig[] {
  return [
    ...TARGET_LABELS.map(l => ({ action: 'replace' as const, sourceLabels: [l.source], targetLabel: l.target })),
    // A fixed job, so the rules need not know how the scrape was configured.
    { action: 'replace', replacement: NODE_JOB, targetLabel: 'job' }
  ]
}

export type PodMonitor = KubernetesObject & {
  spec: {
    selector: { matchLabels: Record<string, string> }
    namespaceSelector: { matchNames: string[] }
    podMetricsEndpoints: Array<{ port: string, path: string, interval: string, relabelings: RelabelConfig[] }>
  }
}

/** `<network>-nodes`: scrapes the `http` port of every node pod of the network. */
export function renderPodMonitor (net: DawnNetwork): PodMonitor {
  const { name, namespace } = networkCoordinates(net)
  const r = MONITORING_RESOURCES.podMonitor
  return {
    apiVersion: monitoringApiVersion(r),
    kind: r.kind,
    metadata: { name: podMonitorName(name), namespace, labels: monitoringLabels(net), ownerReferences: [ownerReference(KINDS.network, net)] },
    spec: {
      selector: { matchLabels: nodePodSelector(name) },
      namespaceSelector: { matchNames: [namespace] },
      podMetricsEndpoints: [{ port: METRICS_PORT, path: METRICS_PATH, interval: net.spec.monitoring.interval, relabelings: nodeRelabelings() }]
    }
  }
}

/** A plain Prometheus relabel_config (snake_case fields). */
export interface PlainRelabelConfig {
  source_labels?: string[]
  target_label?: string
  regex?: string
  replacement?: string
  action?: string
}

export interface PlainScrapeConfigInit {
  /** The networks to scrape, by namespace and DawnNetwork name; none: every Dawn node the discovery sees. */
  networks?: ReadonlyArray<{ namespace: string, name: string }>
  /** Default 30s (what spec.monitoring.interval defaults to). */
  interval?: string
  /** For a Prometheus outside the cluster: a kubeconfig for the pod discovery. */
  kubeconfigFile?: string
}

export interface PlainScrapeConfig {
  job_name: string
  scrape_interval: string
  metrics_path: string
  kubernetes_sd_configs: Array<{ role: 'pod', kubeconfig_file?: string, namespaces?: { names: string[] } }>
  relabel_configs: PlainRelabelConfig[]
}

const regexEscape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/**
 * The PodMonitor as one entry of a plain Prometheus `scrape_configs`: the pod selector and
 * the port become `keep` rules, then the same relabellings.
 */
export function renderPlainScrapeConfig (init: PlainScrapeConfigInit = {}): PlainScrapeConfig {
  const networks = init.networks ?? []
  const selectorKeys = Object.keys(nodePodSelector(''))
  // `namespace;app;network` for each network, joined with `|` (Prometheus anchors the regex).
  const keepNetworks: PlainRelabelConfig = networks.length === 0
    ? { action: 'keep', source_labels: [podLabelMeta(LABELS.name)], regex: regexEscape(NODE_APP) }
    : {
        action: 'keep',
        source_labels: ['__meta_kubernetes_namespace', ...selectorKeys.map(podLabelMeta)],
        regex: networks.map(n => [n.namespace, ...selectorKeys.map(k => nodePodSelector(n.name)[k] ?? '')].map(regexEscape).join(';')).join('|')
      }
  const namespaces = [...new Set(networks.map(n => n.namespace))].sort()
  const sd: PlainScrapeConfig['kubernetes_sd_configs'][number] = {
    role: 'pod',
    ...(init.kubeconfigFile === undefined ? {} : { kubeconfig_file: init.kubeconfigFile }),
    ...(namespaces.length === 0 ? {} : { namespaces: { names: namespaces } })
  }
  return {
    job_name: NODE_JOB,
    scrape_interval: init.interval ?? '30s',
    metrics_path: METRICS_PATH,
    kubernetes_sd_configs: [sd],
    relabel_configs: [
      keepNetworks,
      { action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: regexEscape(METRICS_PORT) },
      ...nodeRelabelings().map(toPlainRelabel)
    ]
  }
}

function toPlainRelabel (r: RelabelConfig): PlainRelabelConfig {
  return {
    ...(r.action === undefined ? {} : { action: r.action }),
    ...(r.sourceLabels === undefined ? {} : { source_labels: r.sourceLabels }),
    ...(r.regex === undefined ? {} : { regex: r.regex }),
    ...(r.targetLabel === undefined ? {} : { target_label: r.targetLabel }),
    ...(r.replacement === undefined ? {} : { replacement: r.replacement })
  }
}
