import type { DawnAgent } from '../api/index.ts'
import { API_VERSION, GROUP, KINDS, agentRuntime, dawnAgentValidator, effectiveAgentId } from '../api/index.ts'
import { Controller, ownerKeys, watch } from '../runtime/controller.ts'
import type { OperatorMetrics } from '../runtime/metrics.ts'
import type { WorkResult } from '../runtime/work-queue.ts'
import {
  CONDITION_TYPES, agentEndpoint, agentServing, agentWorkloadName, canonicalJson, renderAgentDeployment, renderAgentService, resolvePlacement,
  setConditions, toolFilterProblem, unknownPlacementNodes, type AgentServing, type ConditionUpdate
} from '../render/index.ts'
import { agentProbeTargets, observeAgent, type AgentWatch } from './agent-serving.ts'
import type { ControllerComponents } from './context.ts'
import { refuseInvalidSpec } from './invalid-spec.ts'
import { networkOf, poolsOf } from './pools.ts'
import { RESOURCES } from './resources.ts'

/**
 * DawnAgent: runs the image runtime's Deployment and Service, and reports where
 * the agent is placed. The agent reaches nodes through their config, which the
 * DawnNode controller renders (it watches DawnAgents), so pods never restart for it.
 * With `serving`, it also asks one node what the mesh registry says about the agent
 * (tools, replicas, differences), looking again every `serving.intervalMs`.
 */
export function createAgentController (c: ControllerComponents, opts: { metrics?: OperatorMetrics, serving?: AgentWatch } = {}): Controller<DawnAgent> {
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
      return await reconcileAgent(c, agent, signal, opts.serving)
    }
  })
}

async function reconcileAgent (c: ControllerComponents, agent: DawnAgent, signal: AbortSignal, serving: AgentWatch | undefined): Promise<WorkResult | undefined> {
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
  // The nodes hide every tool of an agent whose filter they cannot use (render/tool-filters.ts).
  const filterProblem = agent.spec.tools === undefined ? undefined : toolFilterProblem(agent.spec.tools)
  const degraded: Omit<ConditionUpdate, 'type'> = missing.length > 0
    ? { status: 'True', reason: 'UnknownNodes', message: `spec.placement.nodes names pools that do not exist: ${missing.join(', ')}` }
    : filterProblem !== undefined
      ? { status: 'True', reason: 'InvalidToolFilter', message: `${filterProblem}; the nodes hide every tool of this agent until it is fixed` }
      : { status: 'False', reason: 'AsExpected', message: '' }
  let served: AgentServing | undefined
  if (serving !== undefined && net !== undefined) {
    // The registry is mesh-wide: any node of the network can say what serves the agent.
    const agentId = effectiveAgentId(agent)
    const placed = pools.filter(p => nodes.includes(p.metadata.name ?? ''))
    const observation = await observeAgent(serving, agentId, agentProbeTargets(placed, pools, net.spec.clusterDomain), signal)
    served = agentServing({ agentId, placed, pools, observation, previous: agent.status })
  }
  const conditions = setConditions(agent.status?.conditions ?? [], [
    { type: CONDITION_TYPES.ready, ...ready, observedGeneration: generation },
    { type: CONDITION_TYPES.degraded, ...degraded, observedGeneration: generation },
    ...(served === undefined ? [] : [{ type: CONDITION_TYPES.serving, ...served.condition, observedGeneration: generation }])
  ], new Date(c.now()))
  const endpoint = net === undefined ? undefined : agentEndpoint(agent, net.spec.clusterDomain)
  const status = {
    observedGeneration: generation,
    conditions,
    nodes,
    tools: agent.status?.tools ?? [],
    ...served?.status,
    ...(endpoint === undefined ? {} : { endpoint })
  }
  // Looked at every few seconds; most looks change nothing, and need no write.
  if (agent.status === undefined || canonicalJson(agent.status) !== canonicalJson(status)) {
    await c.applier.applyStatus({ apiVersion: API_VERSION, kind: KINDS.agent, metadata: { name, namespace }, status }, { signal })
  }
  return served === undefined || serving === undefined ? undefined : { requeueAfterMs: serving.intervalMs }
}
