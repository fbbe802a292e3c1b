import type { ResourceRef } from '../runtime/kube-client.ts'
import { GROUP, VERSION } from '../api/index.ts'
import { MONITORING_RESOURCES } from '../render/index.ts'

/** Every collection the operator reads or writes; RBAC in the chart mirrors this list. */
export const RESOURCES = {
  networks: { group: GROUP, version: VERSION, plural: 'dawnnetworks', kind: 'DawnNetwork' },
  nodes: { group: GROUP, version: VERSION, plural: 'dawnnodes', kind: 'DawnNode' },
  agents: { group: GROUP, version: VERSION, plural: 'dawnagents', kind: 'DawnAgent' },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret' },
  configMaps: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' },
  services: { group: '', version: 'v1', plural: 'services', kind: 'Service' },
  pvcs: { group: '', version: 'v1', plural: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim' },
  statefulSets: { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet' },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' },
  pdbs: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget' },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease' },
  // prometheus-operator's kinds: written only while their CRDs are served (controllers/monitoring.ts).
  podMonitors: MONITORING_RESOURCES.podMonitor,
  prometheusRules: MONITORING_RESOURCES.prometheusRule,
  alertmanagerConfigs: MONITORING_RESOURCES.alertmanagerConfig
} as const satisfies Record<string, ResourceRef>
