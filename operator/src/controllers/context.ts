import type { KubernetesObject, V1ConfigMap, V1Deployment, V1PodDisruptionBudget, V1Secret, V1Service, V1StatefulSet } from '@kubernetes/client-node'
import type { DawnAgent, DawnNetwork, DawnNode } from '../api/index.ts'
import type { Applier } from '../runtime/apply.ts'
import type { EventRecorder } from '../runtime/events.ts'
import type { Informer } from '../runtime/informer.ts'
import type { KubeClient } from '../runtime/kube-client.ts'
import type { Logger } from '../runtime/logger.ts'
import type { Monitoring } from './monitoring.ts'

/** The caches every controller reads; one informer per kind, shared. */
export interface Caches {
  networks: Informer<DawnNetwork>
  nodes: Informer<DawnNode>
  agents: Informer<DawnAgent>
  /** Only Secrets the operator manages (label selector); user Secrets are read fresh. */
  secrets: Informer<V1Secret>
  configMaps: Informer<V1ConfigMap>
  services: Informer<V1Service>
  statefulSets: Informer<V1StatefulSet>
  deployments: Informer<V1Deployment>
  pdbs: Informer<V1PodDisruptionBudget>
}

/** What a reconciler needs: caches to read, an applier and a client to write, a clock. */
export interface ControllerComponents {
  client: KubeClient
  applier: Applier
  caches: Caches
  logger: Logger
  /** Kubernetes Events with CamelCase reasons, for what a person should notice. */
  events: EventRecorder
  /** Discovery of the prometheus-operator kinds and what spec.monitoring applied. */
  monitoring: Monitoring
  now: () => number
}

export type AnyObject = KubernetesObject
