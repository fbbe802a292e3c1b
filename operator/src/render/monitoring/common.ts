// What every monitoring renderer shares: the prometheus-operator kinds, the object names,
// the labels the node scrape adds to each series, and the PromQL selector of a network.
// The PodMonitor, the plain scrape config, the alert rules and the dashboard all read
// these, so a label renamed here is renamed everywhere.
import { KINDS } from '../../api/group.ts'
import type { DawnNetwork } from '../../api/dawn-network.ts'
import { LABELS, NODE_APP, nameOf, namespaceOf, networkLabels } from '../labels.ts'

export const MONITORING_GROUP = 'monitoring.coreos.com'

/** The prometheus-operator kinds the operator creates, as API resources. */
export const MONITORING_RESOURCES = {
  podMonitor: { group: MONITORING_GROUP, version: 'v1', plural: 'podmonitors', kind: 'PodMonitor' },
  prometheusRule: { group: MONITORING_GROUP, version: 'v1', plural: 'prometheusrules', kind: 'PrometheusRule' },
  alertmanagerConfig: { group: MONITORING_GROUP, version: 'v1alpha1', plural: 'alertmanagerconfigs', kind: 'AlertmanagerConfig' }
} as const
export type MonitoringKind = typeof MONITORING_RESOURCES[keyof typeof MONITORING_RESOURCES]['kind']
export const MONITORING_KINDS: readonly MonitoringKind[] = Object.values(MONITORING_RESOURCES).map(r => r.kind)

export const monitoringApiVersion = (r: { group: string, version: string }): string => `${r.group}/${r.version}`

/** Status condition on the DawnNetwork, and its reasons. */
export const MONITORING_CONDITION = 'MonitoringReady'
export const MONITORING_REASONS = {
  applied: 'Applied',
  disabled: 'Disabled',
  crdsMissing: 'PrometheusOperatorCRDsMissing',
  applyFailed: 'ApplyFailed'
} as const

/** The Grafana sidecar (kiwigrid k8s-sidecar, as the Grafana chart configures it) loads ConfigMaps with this label. */
export const GRAFANA_DASHBOARD_LABEL = { grafana_dashboard: '1' } as const

export const podMonitorName = (network: string): string => `${network}-nodes`
export const prometheusRuleName = (network: string): string => `${network}-alerts`
export const alertmanagerConfigName = (network: string): string => `${network}-alerts`
export const dashboardConfigMapName = (network: string): string => `${network}-dashboard`
export const dashboardFileName = (network: string): string => `dawn-${network}.json`

/** The `job` label of every node series: the PodMonitor relabels to it, the plain scrape config is named so. */
export const NODE_JOB = 'dawn-node'
/** The node container's metrics port (by name) and path. */
export const METRICS_PORT = 'http'
export const METRICS_PATH = '/metrics'

/** Kubernetes service discovery's name for a pod label (`__meta_kubernetes_pod_label_<sanitized>`). */
export const podLabelMeta = (label: string): string => `__meta_kubernetes_pod_label_${label.replace(/[^a-zA-Z0-9_]/g, '_')}`

/**
 * The labels the scrape adds to every node series, and where they come from. Simple
 * `replace` relabellings only, so the PodMonitor and a plain kubernetes_sd_configs scrape
 * produce the same series.
 */
export const TARGET_LABELS = [
  { target: 'namespace', source: '__meta_kubernetes_namespace' },
  { target: 'network', source: podLabelMeta(LABELS.network) },
  { target: 'pool', source: podLabelMeta(LABELS.pool) },
  { target: 'pod', source: '__meta_kubernetes_pod_name' }
] as const

/** Pod labels that pick a network's nodes (every pool's pods carry both). */
export function nodePodSelector (network: string): Record<string, string> {
  return { [LABELS.name]: NODE_APP, [LABELS.network]: network }
}

/** Labels on every monitoring object: the user's extra labels, then the operator's (which win). */
export function monitoringLabels (net: DawnNetwork): Record<string, string> {
  return { ...(net.spec.monitoring.labels ?? {}), ...networkLabels(net) }
}

export function networkCoordinates (net: DawnNetwork): { name: string, namespace: string } {
  return { name: nameOf(net, KINDS.network), namespace: namespaceOf(net, KINDS.network) }
}

/**
 * Which series an alert or a panel looks at: every Dawn node (no network), or one
 * network's nodes. `expectedNodes` (the replicas the operator runs) lets the rules
 * notice pods that are gone, which no scrape can.
 */
export interface MonitoringScope {
  namespace?: string
  network?: string
  expectedNodes?: number
}

/** A PromQL string literal. */
export const promString = (value: string): string => JSON.stringify(value)

/** The label matchers of a scope's node series, without braces: `job="dawn-node",namespace="a",network="b"`. */
export function nodeMatchers (scope: MonitoringScope): string {
  const m = [`job=${promString(NODE_JOB)}`]
  if (scope.namespace !== undefined) m.push(`namespace=${promString(scope.namespace)}`)
  if (scope.network !== undefined) m.push(`network=${promString(scope.network)}`)
  return m.join(',')
}

export function scopeOf (net: DawnNetwork, expectedNodes?: number): MonitoringScope {
  const { name, namespace } = networkCoordinates(net)
  return { namespace, network: name, ...(expectedNodes === undefined ? {} : { expectedNodes }) }
}
