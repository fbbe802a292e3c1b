import type { DawnNetwork } from '../api/index.ts'
import { API_VERSION, KINDS, dawnNetworkValidator } from '../api/index.ts'
import { Controller, watch } from '../runtime/controller.ts'
import type { OperatorMetrics } from '../runtime/metrics.ts'
import type { WorkResult } from '../runtime/work-queue.ts'
import { CONDITION_TYPES, bootstrapAddresses, canonicalJson, caSecretRef, findCondition, planNetworkSecrets, setConditions, swarmKeySecretRef, type ConditionUpdate } from '../render/index.ts'
import type { ControllerComponents } from './context.ts'
import { refuseInvalidSpec } from './invalid-spec.ts'
import { observeMesh, type MeshWatch } from './mesh.ts'
import { reconcileMonitoring } from './monitoring.ts'
import { networkNameOf, poolsOf, reportedPeers } from './pools.ts'
import { createSecretIfAbsent, readNetworkSecrets } from './secrets.ts'

/**
 * DawnNetwork: makes sure the PSK and membership-CA Secrets exist (generating them
 * only when the user gave none and never overwriting one), aggregates the
 * network's pools into its status, and (with `mesh`) asks the nodes whether they
 * form one mesh, looking again every `mesh.intervalMs` while the network has nodes.
 */
export function createNetworkController (c: ControllerComponents, opts: { metrics?: OperatorMetrics, mesh?: MeshWatch } = {}): Controller<DawnNetwork> {
  return new Controller<DawnNetwork>({
    name: KINDS.network,
    primary: c.caches.networks,
    watches: [
      // Pool status (ready replicas, peers) feeds the network status.
      watch(c.caches.nodes, n => n.metadata.namespace === undefined ? [] : [`${n.metadata.namespace}/${n.spec.networkRef.name}`])
    ],
    logger: c.logger,
    ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
    reconcile: async (_key, signal, ctx) => {
      const net = ctx.object
      if (net === undefined || net.metadata.deletionTimestamp !== undefined) return
      if (await refuseInvalidSpec(c, KINDS.network, net, dawnNetworkValidator, signal)) return
      return await reconcileNetwork(c, net, signal, opts.mesh)
    }
  })
}

async function reconcileNetwork (c: ControllerComponents, net: DawnNetwork, signal: AbortSignal, mesh: MeshWatch | undefined): Promise<WorkResult | undefined> {
  const namespace = net.metadata.namespace ?? ''
  const name = net.metadata.name ?? ''
  const pskRef = swarmKeySecretRef(net)
  const caRef = caSecretRef(net)
  const plan = planNetworkSecrets(net, await readNetworkSecrets(c, net, signal))
  let raced = false
  for (const secret of plan.create) {
    if (await createSecretIfAbsent(c.client, secret, signal)) void c.events.record(net, { reason: 'SecretGenerated', action: 'CreateSecret', note: `generated Secret ${secret.metadata?.name ?? ''}` })
    else raced = true
  }
  // Someone created it between our read and our create: read again on the next round.
  if (raced) return { requeueAfterMs: 100 }

  const pools = poolsOf(c.caches, namespace, name)
  const nodesTotal = pools.reduce((n, p) => n + p.spec.replicas, 0)
  const nodesReady = pools.reduce((n, p) => n + Math.min(p.status?.readyReplicas ?? 0, p.spec.replicas), 0)
  const problems = [plan.psk.problem, plan.ca.problem].filter((p): p is string => p !== undefined)
  const monitoring = await reconcileMonitoring(c, net, { expectedNodes: nodesTotal }, signal)
  const generation = net.metadata.generation ?? 0
  // Only nodes that exist can answer; without any, there is no mesh to judge.
  const meshCondition = mesh !== undefined && nodesReady > 0 ? await observeMesh(mesh, net, pools, c.now(), signal) : undefined
  const degraded: Omit<ConditionUpdate, 'type' | 'observedGeneration'> = problems.length > 0
    ? { status: 'True', reason: 'SecretsInvalid', message: problems.join('; ') }
    : meshCondition ?? { status: 'False', reason: 'AsExpected', message: '' }
  const now = new Date(c.now())
  const conditions = setConditions(net.status?.conditions ?? [], [
    problems.length > 0
      ? { type: CONDITION_TYPES.ready, status: 'False', reason: 'SecretsInvalid', message: problems.join('; '), observedGeneration: generation }
      : nodesTotal > 0 && nodesReady === nodesTotal
        ? { type: CONDITION_TYPES.ready, status: 'True', reason: 'AllNodesReady', message: `${nodesReady}/${nodesTotal} nodes ready`, observedGeneration: generation }
        : { type: CONDITION_TYPES.ready, status: 'False', reason: nodesTotal === 0 ? 'NoNodes' : 'NodesNotReady', message: `${nodesReady}/${nodesTotal} nodes ready`, observedGeneration: generation },
    { type: CONDITION_TYPES.degraded, ...degraded, observedGeneration: generation },
    monitoring.condition
  ], now)
  const status = {
    observedGeneration: generation,
    conditions,
    networkName: networkNameOf(net),
    nodesReady,
    nodesTotal,
    bootstrapAddresses: bootstrapAddresses(pools.map(reportedPeers), net.spec.clusterDomain, 64),
    swarmKeySecret: pskRef.name,
    caSecret: caRef.name
  }
  // The mesh is looked at every few seconds; most looks change nothing, and need no write.
  if (net.status === undefined || canonicalJson(net.status) !== canonicalJson(status)) {
    await c.applier.applyStatus({ apiVersion: API_VERSION, kind: KINDS.network, metadata: { name, namespace }, status }, { signal })
  }
  recordMeshTransition(c, net, findCondition(net.status?.conditions, CONDITION_TYPES.degraded)?.reason, degraded)
  // User Secrets are not watched (only the operator's own are cached): look again while they are missing or unusable.
  // Missing prometheus-operator CRDs are looked for again too (discovery has no watch), and the mesh has no watch at all.
  const requeues = [problems.length > 0 ? 5000 : undefined, monitoring.requeueAfterMs, mesh !== undefined && nodesReady > 0 ? mesh.intervalMs : undefined]
    .filter((ms): ms is number => ms !== undefined)
  return requeues.length > 0 ? { requeueAfterMs: Math.min(...requeues) } : undefined
}

/** An Event when the mesh splits or heals, for the person reading `kubectl describe`. */
function recordMeshTransition (c: ControllerComponents, net: DawnNetwork, before: string | undefined, after: Omit<ConditionUpdate, 'type' | 'observedGeneration'>): void {
  if (after.reason === 'MeshPartitioned' && before !== 'MeshPartitioned') {
    void c.events.record(net, { type: 'Warning', reason: 'MeshPartitioned', action: 'ObserveMesh', note: after.message })
  } else if (before === 'MeshPartitioned' && after.reason !== 'MeshPartitioned' && after.status === 'False') {
    void c.events.record(net, { reason: 'MeshHealed', action: 'ObserveMesh', note: after.message })
  }
}
