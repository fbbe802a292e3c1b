/**
 * Where a chaos scenario runs: node processes in network namespaces, pods on the
 * project's cluster, or pods in kind. Scenarios, workload and invariants are
 * written once against this; each target only knows how to break and mend itself.
 */
export type TargetKind = 'netns' | 'cluster' | 'kind'

/**
 * Every node hosts the built-in `notes` agent under this id from the start. The workload's
 * tool calls each write one unique note there, so what a node really executed can be
 * read back through its own API (a local call) and compared with what callers were told.
 */
export const RECORDER_AGENT = 'notes'

export interface LinkFault {
  delayMs: number
  jitterMs: number
  lossPercent: number
}

export interface ChaosTarget {
  readonly kind: TargetKind
  /** Number of mesh nodes, indexed 0..size-1 in every method. */
  readonly size: number
  /** Node i's HTTP base URL, reachable from the test process (not through the faults). */
  url: (i: number) => string
  peerId: (i: number) => string

  /** Nodes in different groups exchange no packets; open connections are cut too. Replaces any earlier partition. */
  partition: (groups: number[][]) => Promise<void>
  /** Delay and loss on every link of `nodes` (default: all). */
  flaky: (fault: LinkFault, nodes?: number[]) => Promise<void>
  /** Removes every partition and link fault. */
  heal: () => Promise<void>
  /** kill -9 (a pod: deleted with no grace period). */
  kill: (i: number) => Promise<void>
  /** Starts node i again after kill and waits until it is ready. */
  restart: (i: number) => Promise<void>
  /** SIGSTOP / SIGCONT; undefined where the target cannot do it. */
  pause?: (i: number) => Promise<void>
  resume?: (i: number) => Promise<void>
  /** Runs node i with its wall clock off by `ms` (restarts it); undefined where unsupported. */
  skew?: (i: number, ms: number) => Promise<void>
  /** N×N: whether node i can open a TCP connection to node j's p2p port right now (diagonal true). */
  probe: () => Promise<boolean[][]>

  /**
   * Makes node i host agent `id` (an echo-capable agent). Returns the nodes that now host it:
   * a target that can only place agents on a whole pool returns all of them.
   */
  addAgent: (id: string, i: number) => Promise<number[]>
  removeAgent: (id: string, i: number) => Promise<number[]>

  /** Removes everything the target made, even after a failure. */
  close: () => Promise<void>
}
