import type { DawnAgent } from '../api/index.ts'
import { API_VERSION, GROUP, KINDS, agentRuntime, dawnAgentValidator } from '../api/index.ts'
import { Controller, ownerKeys, watch } from '../runtime/controller.ts'
import type { OperatorMetrics } from '../runtime/metrics.ts'
import {
  CONDITION_TYPES, agentEndpoint, agentWorkloadName, renderAgentDeployment, renderAgentService, resolvePlacement,
  setConditions, unknownPlacementNodes, type ConditionUpdate
} from '../render/index.ts'
import type { ControllerComponents } from './context.ts'
import { refuseInvalidSpec } from './invalid-spec.ts'
import { networkOf, poolsOf } from './pools.ts'
import { RESOURCES } from './resources.ts'

/**
 * DawnAgent: runs the image runtime's Deployment and Service, and reports where
 * the agent is placed. The agent reaches nodes through their config, which the
 * DawnNode controller renders (it watches DawnAgents), so pods never restart for it.
 */
export function createAgentController (c: ControllerComponents, opts: { metrics?: OperatorMetrics } = {}): Controller<DawnAgent> {
  const owned = ownerKeys({ group: GROUP, kind: KINDS.agent }, { controllerOnly: true })
  return new Controller<DawnAgent>({
    name: KINDS.agent,
    primary: c.caches.agents,
    watches: [
      watch(c.caches.deployments, owned),
      watch(c.caches.services, owned),
      // New or removed pools change placement.
      watch(c.caches.nodes, n => c.caches.agents.list({ namespace: n.metadata.namespace ?? '', where: a => a.spec.networkRef.name === n.spec.networkRef.name }).map(a => `${a.metadata.namespace ?? ''}/${a.metadata.name ?? ''}`),
        ev => ev.type !== 'update' || JSON.stringify(ev.old.metadata.labels) !== JSON.stringify(ev.object.metadata.labels))
    ],
    logger: c.logger,
    ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
    reconcile: async (_key, signal, ctx) => {
      const agent = ctx.object
      if (agent === undefined || agent.metadata.deletionTimestamp !== undefined) return
      if (await refuseInvalidSpec(c, KINDS.agent, agent, dawnAgentValidator, signal)) return
      await reconcileAgent(c, agent, signal)
    }
  })
}

async function reconcileAgent (c: ControllerComponents, agent: DawnAgent, signal: AbortSignal): Promise<void> {
  const namespace = agent.metadata.namespace ?? ''
  const name = agent.metadata.name ?? ''
  const net = networkOf(c.caches, namespace, agent.spec.networkRef.name)
  const pools = poolsOf(c.caches, namespace, agent.spec.networkRef.name)
  const nodes = resolvePlacement(agent, pools)
  const missing = unknownPlacementNodes(agent, pools)
  const runtime = agentRuntime(agent)
  const workload = agentWorkloadName(name)

  let workloadReady = true
  if (runtime === 'image') {
    await c.applier.apply(renderAgentDeployment(agent), { signal, resource: RESOURCES.deployments })
    await c.applier.apply(renderAgentService(agent), { signal, resource: RESOURCES.services })
    const deployment = c.caches.deployments.getByName(namespace, workload)
    workloadReady = (deployment?.status?.availableReplicas ?? 0) >= 1
  } else {
    // The runtime changed away from image: its workload goes.
    await c.applier.deleteIfExists({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: workload }, { signal, resource: RESOURCES.deployments })
    await c.applier.deleteIfExists({ apiVersion: 'v1', kind: 'Service', namespace, name: workload }, { signal, resource: RESOURCES.services })
  }

  const generation = agent.metadata.generation ?? 0
  const ready: Omit<ConditionUpdate, 'type'> = net === undefined
    ? { status: 'False', reason: 'NetworkNotFound', message: `DawnNetwork ${agent.spec.networkRef.name} does not exist in ${namespace}` }
    : nodes.length === 0
      ? { status: 'False', reason: 'NotPlaced', message: 'no DawnNode of the network matches spec.placement' }
      : !workloadReady
          ? { status: 'False', reason: 'WorkloadNotAvailable', message: `Deployment ${workload} has no available replica yet` }
          : { status: 'True', reason: 'Placed', message: `configured on ${nodes.join(', ')}` }
  const conditions = setConditions(agent.status?.conditions ?? [], [
    { type: CONDITION_TYPES.ready, ...ready, observedGeneration: generation },
    missing.length > 0
      ? { type: CONDITION_TYPES.degraded, status: 'True', reason: 'UnknownNodes', message: `spec.placement.nodes names pools that do not exist: ${missing.join(', ')}`, observedGeneration: generation }
      : { type: CONDITION_TYPES.degraded, status: 'False', reason: 'AsExpected', message: '', observedGeneration: generation }
  ], new Date(c.now()))
  const endpoint = net === undefined ? undefined : agentEndpoint(agent, net.spec.clusterDomain)
  await c.applier.applyStatus({
    apiVersion: API_VERSION,
    kind: KINDS.agent,
    metadata: { name, namespace },
    // Tools are reported by the nodes' registry once the MCP runtime runs the agent.
    status: { observedGeneration: generation, conditions, nodes, tools: agent.status?.tools ?? [], ...(endpoint === undefined ? {} : { endpoint }) }
  }, { signal })
}
