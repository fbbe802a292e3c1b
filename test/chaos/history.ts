// What the workload did and what it was told: the record the invariants are checked
// against. Plain data, so a test can hand-edit it (e.g. add a write that never happened).

export type CallOutcome = 'ok' | 'error' | 'unknown'

/** A routed tool call: `notes.put(key, value)` on node `target`, asked through node `caller`. */
export interface CallRecord {
  key: string
  value: string
  caller: number
  target: number
  outcome: CallOutcome
  /** The refusal code or the transport error, for the detail lines. */
  detail?: string
}

/** Adding (or removing) agent `agentId` on node `node`; acknowledged once the node's own registry shows it. */
export interface RegistryOp {
  op: 'add' | 'remove'
  agentId: string
  node: number
  acknowledged: boolean
  at: number
}

export interface PinRecord {
  cid: string
  replication: number
  node: number
}

export interface History {
  /** The prefix of every note key the workload wrote (one run's). */
  keyPrefix: string
  calls: CallRecord[]
  registry: RegistryOp[]
  pins: PinRecord[]
  /** Registry entries ("<node>:<agentId>") each node hosted when the workload started. */
  initialAgents: string[]
  /** dawn_tool_calls_served_total{result="ok"} per node at the start; undefined for nodes restarted since (their counter reset). */
  servedAtStart: Array<number | undefined>
  /** Calls the scenario itself sent to node i that it answered (e.g. latency proofs): they count as served too. */
  extraServed: number[]
}

export function emptyHistory (keyPrefix: string, size: number): History {
  return { keyPrefix, calls: [], registry: [], pins: [], initialAgents: [], servedAtStart: Array.from({ length: size }, () => undefined), extraServed: Array.from({ length: size }, () => 0) }
}

/**
 * Agents whose final state is known: the last operation on each (node, agent) was
 * acknowledged. `present` must be on every node at the end, `absent` on none.
 */
export function expectedAgents (h: History): { present: Set<string>, absent: Set<string>, indeterminate: Set<string> } {
  const present = new Set(h.initialAgents)
  const absent = new Set<string>()
  const indeterminate = new Set<string>()
  for (const op of h.registry) {
    const key = `${op.node}:${op.agentId}`
    present.delete(key)
    absent.delete(key)
    indeterminate.delete(key)
    if (!op.acknowledged) indeterminate.add(key)
    else if (op.op === 'add') present.add(key)
    else absent.add(key)
  }
  return { present, absent, indeterminate }
}
