/**
 * A call by a logical or bare name: which replicas may serve it (the plan), and running it
 * on them through failover. A replica name, or a call pinned to one node, runs as before.
 */
import type { AgentRecord } from '../registry/agent-record.ts'
import type { Replica, ReplicaChooser } from '../routing/replica-choice.ts'
import { DEFAULT_MAX_ATTEMPTS, runWithFailover, type FailoverAttempt } from '../routing/run-with-failover.ts'
import type { AgentTarget } from '../routing/types.ts'
import type { Resolved } from './naming-modes.ts'
import type { FilteredAgent } from './tool-filters.ts'

export interface CallPlan {
  agentId: string
  /** The agent's own name of the tool or prompt, what the call sends. */
  name: string
  /** Nodes that may serve the call (sorted); one for a replica name or a pinned call. */
  nodeIds: string[]
  /** What each node lists, for choice and idempotency (prompts list as tools without annotations: never retried once sent). */
  replicas: Replica[]
  /** Whether the result shows the chosen replica and the attempts; a replica name's result stays as it always was. */
  logical: boolean
}

/**
 * The plan for a resolved name. Built-in agents are each node's own (notes keep per-node
 * state, mesh answers from where it runs, content adds to the node's store), so a logical
 * name of one goes to this node's replica when it has one.
 */
export function planOf (agent: FilteredAgent, resolved: Resolved, kind: 'tools' | 'prompts', selfId: string | undefined): CallPlan {
  const replicas: Replica[] = []
  for (const nodeId of resolved.replicas) {
    const record: AgentRecord | undefined = agent.agent.records.get(nodeId)
    if (record === undefined) continue
    replicas.push(kind === 'tools' ? record : { nodeId, tools: (record.prompts ?? []).map((p) => ({ name: p.name })) })
  }
  const own = selfId !== undefined && agent.agent.kind === 'builtin' && resolved.form !== 'replica' && resolved.replicas.includes(selfId)
  return {
    agentId: agent.agentId,
    name: resolved.tool,
    nodeIds: own ? [selfId] : resolved.replicas,
    replicas,
    logical: resolved.form !== 'replica'
  }
}

export interface CallReplicasComponents {
  chooser: ReplicaChooser
  /** A measured round trip to a node, ms; without it the chooser learns from call durations. */
  rtt?: (nodeId: string) => number | undefined
  /** How this node reaches a node now (direct or relayed); undefined without a connection. */
  route?: (nodeId: string) => 'direct' | 'relayed' | undefined
  /** Every logical call's attempts, however it ended (metrics). */
  onAttempts?: (attempts: readonly FailoverAttempt[]) => void
}

export interface ReplicaCall<T> {
  routed: T
  nodeId: string
  /** Every attempt of a logical call; absent for a replica name's. */
  attempts?: FailoverAttempt[]
}

const failedAttempts = new WeakMap<object, FailoverAttempt[]>()

/** The attempts behind a logical call's final error, for its `_meta`. */
export function attemptsOf (err: unknown): FailoverAttempt[] | undefined {
  return typeof err === 'object' && err !== null ? failedAttempts.get(err) : undefined
}

/**
 * One try on one replica; `lastResort` is false while another replica is left to try, and then
 * the attempt should not take the flood route (CallOptions.noFlood).
 */
export type ReplicaTry<T> = (target: AgentTarget, signal: AbortSignal, lastResort: boolean) => Promise<T>

/** Runs the first request of a call on the plan's replicas; throws what failover ended with. */
export async function callReplicas<T> (components: CallReplicasComponents, plan: CallPlan, attempt: ReplicaTry<T>, signal: AbortSignal, prefer?: string): Promise<ReplicaCall<T>> {
  const { chooser, rtt, route } = components
  const target = (nodeId: string): AgentTarget => ({ nodeId, agentId: plan.agentId })
  const only = plan.nodeIds.length === 1 ? plan.nodeIds[0] : undefined
  if (!plan.logical && only !== undefined) return { routed: await attempt(target(only), signal, true), nodeId: only }
  const candidates = new Set(plan.nodeIds)
  const replicas = plan.replicas.filter((r) => candidates.has(r.nodeId))
  for (const { nodeId } of replicas) {
    // Pings only: a call's own time includes the tool's, which would make replicas incomparable.
    const ms = rtt?.(nodeId)
    if (ms !== undefined) chooser.observeRtt(nodeId, ms)
    const how = route?.(nodeId)
    if (how !== undefined) chooser.observeRoute(nodeId, how === 'relayed')
  }
  const tries = Math.min(DEFAULT_MAX_ATTEMPTS, replicas.filter((r) => r.tools.some((t) => t.name === plan.name)).length)
  let tried = 0
  const run = await runWithFailover(chooser, replicas, plan.name, async (nodeId, s) => await attempt(target(nodeId), s, ++tried >= tries), { signal, observeCallRtt: rtt === undefined, ...(prefer === undefined ? {} : { prefer }) })
  components.onAttempts?.(run.attempts)
  if (run.ok) return { routed: run.result, nodeId: run.nodeId, attempts: run.attempts }
  if (typeof run.error === 'object' && run.error !== null) failedAttempts.set(run.error, run.attempts)
  throw run.error
}
