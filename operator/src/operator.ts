import type { KubernetesObject } from '@kubernetes/client-node'
import { Applier } from './runtime/apply.ts'
import { EventRecorder } from './runtime/events.ts'
import { createInformer, type Informer } from './runtime/informer.ts'
import { createKubeClient, type KubeClient, type ResourceRef } from './runtime/kube-client.ts'
import { LeaderElector, kubeLeaseStore } from './runtime/leader-election.ts'
import { silentLogger, type Logger } from './runtime/logger.ts'
import { Manager } from './runtime/manager.ts'
import { MetricsServer, OperatorMetrics } from './runtime/metrics.ts'
import { MeshProbe } from './runtime/mesh-probe.ts'
import { AgentProbe } from './runtime/agent-probe.ts'
import type { Caches, ControllerComponents } from './controllers/context.ts'
import { RESOURCES } from './controllers/resources.ts'
import { createNetworkController } from './controllers/network-controller.ts'
import { createNodeController } from './controllers/node-controller.ts'
import { createAgentController } from './controllers/agent-controller.ts'
import { Monitoring } from './controllers/monitoring.ts'
import { MANAGED_BY } from './render/index.ts'
import { dawnAgentValidator, dawnNetworkValidator, dawnNodeValidator, type ResourceValidator } from './api/index.ts'

export interface OperatorInit {
  kubeconfigPath?: string
  /** Watch one namespace; default all. */
  namespace?: string
  leaderElection?: { enabled: boolean, namespace: string, name?: string, identity?: string, leaseDurationMs?: number, renewDeadlineMs?: number, retryPeriodMs?: number }
  /** Port of /metrics, /healthz, /readyz; 0 picks a free one; undefined: no server. */
  metricsPort?: number
  logger?: Logger
  client?: KubeClient
  now?: () => number
  /** How often the prometheus-operator CRDs are looked for (discovery); default 60 s. */
  monitoringRefreshMs?: number
  /**
   * How often each network's nodes are asked for their peers (the Degraded condition
   * shows a partitioned mesh), and a node about each DawnAgent (its Serving condition,
   * tools and replicas); default 10 s; 0 turns both off.
   */
  meshCheckIntervalMs?: number
}

export interface Operator {
  manager: Manager
  metrics: OperatorMetrics
  server?: MetricsServer
  elector?: LeaderElector
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** Wires informers, controllers, leader election and the metrics server into one manager. */
export function createOperator (init: OperatorInit = {}): Operator {
  const logger = init.logger ?? silentLogger
  const client = init.client ?? createKubeClient(init.kubeconfigPath === undefined ? {} : { kubeconfigPath: init.kubeconfigPath })
  const scope = init.namespace === undefined ? {} : { namespace: init.namespace }
  // Cached objects drop metadata.managedFields: nothing reads them from the cache, and on
  // server-side-applied objects they are a large share of each object's memory.
  const informer = <T extends KubernetesObject>(resource: ResourceRef, extra: { labelSelector?: string, transform?: (obj: T) => T } = {}): Informer<T> => {
    const user = extra.transform ?? ((obj: T) => obj)
    return createInformer<T>(client, resource, { ...scope, ...extra, transform: obj => user(withoutManagedFields(obj)), logger })
  }
  // An install path can drop the CRDs' nested defaults (server-side apply of the CRD
  // through some clients does): fill them in from our own schema on every read.
  const defaulted = <T>(v: ResourceValidator<T>) => ({ transform: (obj: T): T => v.withDefaults(obj) as T })
  // Only Secrets we manage are cached; user Secrets are read when needed.
  const managed = { labelSelector: `app.kubernetes.io/managed-by=${MANAGED_BY}` }
  const caches: Caches = {
    networks: informer(RESOURCES.networks, defaulted(dawnNetworkValidator)),
    nodes: informer(RESOURCES.nodes, defaulted(dawnNodeValidator)),
    agents: informer(RESOURCES.agents, defaulted(dawnAgentValidator)),
    secrets: informer(RESOURCES.secrets, managed),
    configMaps: informer(RESOURCES.configMaps, managed),
    services: informer(RESOURCES.services, managed),
    statefulSets: informer(RESOURCES.statefulSets, managed),
    deployments: informer(RESOURCES.deployments, managed),
    pdbs: informer(RESOURCES.pdbs, managed)
  }
  const metrics = new OperatorMetrics()
  const events = new EventRecorder({ client, controller: 'dawn-operator', ...(init.leaderElection?.identity === undefined ? {} : { instance: init.leaderElection.identity }), logger })
  const monitoring = new Monitoring({ client, ...(init.monitoringRefreshMs === undefined ? {} : { refreshMs: init.monitoringRefreshMs }) })
  const components: ControllerComponents = { client, applier: new Applier({ client }), caches, logger, events, monitoring, now: init.now ?? Date.now }
  const meshIntervalMs = init.meshCheckIntervalMs ?? 10_000
  const mesh = meshIntervalMs > 0
    ? { probe: new MeshProbe({ timeoutMs: Math.min(3000, meshIntervalMs) }), intervalMs: meshIntervalMs, joinGraceMs: 20_000 }
    : undefined
  const serving = meshIntervalMs > 0
    ? { probe: new AgentProbe({ timeoutMs: Math.min(3000, meshIntervalMs) }), intervalMs: meshIntervalMs }
    : undefined
  const controllers = [
    createNetworkController(components, { metrics, ...(mesh === undefined ? {} : { mesh }) }),
    createNodeController(components, { metrics }),
    createAgentController(components, { metrics, ...(serving === undefined ? {} : { serving }) })
  ]
  const le = init.leaderElection
  const elector = le?.enabled === true
    ? new LeaderElector({
      store: kubeLeaseStore(client, le.namespace, le.name ?? 'dawn-operator'),
      logger,
      ...(le.identity === undefined ? {} : { identity: le.identity }),
      ...(le.leaseDurationMs === undefined ? {} : { leaseDurationMs: le.leaseDurationMs }),
      ...(le.renewDeadlineMs === undefined ? {} : { renewDeadlineMs: le.renewDeadlineMs }),
      ...(le.retryPeriodMs === undefined ? {} : { retryPeriodMs: le.retryPeriodMs })
    })
    : undefined
  const server = init.metricsPort === undefined ? undefined : new MetricsServer({ metrics, port: init.metricsPort, logger })
  const manager = new Manager({
    controllers,
    informers: Object.values(caches) as Array<Informer<KubernetesObject>>,
    ...(elector === undefined ? {} : { elector }),
    metrics,
    ...(server === undefined ? {} : { server }),
    logger
  })
  return {
    manager,
    metrics,
    ...(server === undefined ? {} : { server }),
    ...(elector === undefined ? {} : { elector }),
    start: async () => { await manager.start() },
    stop: async () => { await manager.stop() }
  }
}

function withoutManagedFields<T extends KubernetesObject> (obj: T): T {
  if (obj.metadata?.managedFields === undefined) return obj
  const { managedFields: _dropped, ...metadata } = obj.metadata
  return { ...obj, metadata }
}
