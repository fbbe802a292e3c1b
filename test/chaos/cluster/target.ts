// ChaosTarget for a Dawn pool deployed by the operator: the project's single-node cluster
// ('cluster') or kind ('kind'). Node i is the pod of ordinal i. Faults live in the pods'
// network namespaces (pod-faults.ts); kill deletes the pod with no grace period and the
// StatefulSet brings it back. A pod that comes back has a fresh namespace and maybe a new
// address, so every fault in force is laid again over all pods once it is there.
import type { V1Pod } from '@kubernetes/client-node'
import { eventually } from '../../support/eventually.ts'
import { cutPairs, groupsMatrix } from '../matrix.ts'
import type { ChaosTarget, LinkFault } from '../target.ts'
import { clearFlakyScript, cutScript, flakyScript, probeScript, runInPods, type FaultPod } from './pod-faults.ts'
import type { PodNet } from './pod-net.ts'

/** What the target needs from the cluster; the e2e test wires these to its fixture. */
export interface ClusterTargetComponents {
  /** The pool's pods (any order). */
  listPods: () => Promise<V1Pod[]>
  /** Deletes a pod with grace period 0. */
  deletePod: (name: string) => Promise<void>
  /** Creates (or keeps) a DawnAgent with agent id `id` on the pool: an echo agent. */
  putAgent: (id: string) => Promise<void>
  deleteAgent: (id: string) => Promise<void>
  /** A loopback URL leading to ip:port inside the cluster. */
  bridge: (ip: string, port: number) => Promise<string>
  podNet: PodNet
}

export interface ClusterTargetInit {
  kind: 'cluster' | 'kind'
  /** The DawnNode (pool) name: pods are `<pool>-<i>`. */
  pool: string
  size: number
  ports: { p2p: number, http: number }
  /** The container whose PID gives the pod's network namespace. */
  container: string
  /** How long a restarted pod may take to be back; default 180 s. */
  restartTimeoutMs?: number
  /** Per-connection timeout of probe(); default 3.5 s (three SYNs: a lossy link still counts). */
  probeTimeoutS?: number
}

interface Node extends FaultPod {
  uid: string
  url: string
  peerId: string
}

export class ClusterTargetError extends Error {
  constructor (message: string) { super(message); this.name = 'ClusterTargetError' }
}

const ordinalOf = (pool: string, pod: V1Pod): number => {
  const m = new RegExp(`^${pool}-(\\d+)$`).exec(pod.metadata?.name ?? '')
  return m === null ? -1 : Number(m[1])
}
const isReady = (pod: V1Pod): boolean => pod.status?.conditions?.some(c => c.type === 'Ready' && c.status === 'True') === true

export class ClusterChaosTarget implements ChaosTarget {
  readonly kind: 'cluster' | 'kind'
  readonly size: number
  private readonly c: ClusterTargetComponents
  private readonly init: ClusterTargetInit
  private nodes: Node[] = []
  /** Cut pairs "i-j" (i<j) in force. */
  private blocked = new Set<string>()
  private flakyState: { fault: LinkFault, nodes: number[] } | undefined
  private readonly agents = new Set<string>()
  private readonly killed = new Map<number, string>()

  private constructor (c: ClusterTargetComponents, init: ClusterTargetInit) {
    this.c = c
    this.init = init
    this.kind = init.kind
    this.size = init.size
  }

  /** Attaches to a pool whose `size` pods are all Ready. */
  static async attach (c: ClusterTargetComponents, init: ClusterTargetInit): Promise<ClusterChaosTarget> {
    const t = new ClusterChaosTarget(c, init)
    const pods = await t.podsByOrdinal()
    for (let i = 0; i < init.size; i++) {
      const pod = pods[i]
      if (pod === undefined || !isReady(pod)) throw new ClusterTargetError(`pod ${init.pool}-${i} is not Ready`)
      t.nodes[i] = await t.nodeOf(pod, undefined)
    }
    return t
  }

  url (i: number): string { return this.node(i).url }
  peerId (i: number): string { return this.node(i).peerId }

  async partition (groups: number[][]): Promise<void> {
    const before = this.blocked
    this.blocked = new Set(cutPairs(groupsMatrix(this.size, groups)).map(([i, j]) => `${i}-${j}`))
    await this.layCuts([...this.blocked].filter(p => !before.has(p)))
  }

  async flaky (fault: LinkFault, nodes: number[] = this.nodes.map((_, i) => i)): Promise<void> {
    this.flakyState = { fault, nodes: [...nodes] }
    await this.layFlaky()
  }

  async heal (): Promise<void> {
    this.blocked = new Set()
    this.flakyState = undefined
    await this.layCuts([])
    await runInPods(this.c.podNet, this.live().map(i => ({ pod: this.nodes[i]!, script: clearFlakyScript() })))
  }

  async kill (i: number): Promise<void> {
    const n = this.node(i)
    this.killed.set(i, n.uid)
    await this.c.deletePod(`${this.init.pool}-${i}`)
    // Proof that it happened: the pod object of that uid is gone (its replacement may already exist).
    await eventually(async () => (await this.podsByOrdinal())[i]?.metadata?.uid !== n.uid,
      { what: `pod ${this.init.pool}-${i} (uid ${n.uid}) to be gone`, timeoutMs: 60_000, intervalMs: 250 })
  }

  async restart (i: number): Promise<void> {
    const oldUid = this.killed.get(i) ?? this.node(i).uid
    const timeoutMs = this.init.restartTimeoutMs ?? 180_000
    // The StatefulSet made a new pod: wait for it to run, then put the faults in force on it (and
    // on the others, whose rules name its old address) before waiting for it to be ready.
    const pod = await eventually(async () => {
      const p = (await this.podsByOrdinal())[i]
      const running = p?.status?.containerStatuses?.find(s => s.name === this.init.container)?.state?.running !== undefined
      return p !== undefined && p.metadata?.uid !== oldUid && p.status?.podIP !== undefined && running ? p : undefined
    }, { what: `pod ${this.init.pool}-${i} to come back`, timeoutMs, intervalMs: 250 })
    this.nodes[i] = await this.nodeOf(pod, this.nodes[i]?.peerId)
    this.killed.delete(i)
    await this.layCuts(this.cutPeersOf(i).map(j => i < j ? `${i}-${j}` : `${j}-${i}`))
    if (this.flakyState !== undefined) await this.layFlaky()
    // Ready needs a peer; a node the faults cut from everyone can only be alive.
    const alone = this.cutPeersOf(i).length === this.size - 1
    await eventually(async () => {
      if (alone) return (await fetch(`${this.nodes[i]!.url}/healthz`, { signal: AbortSignal.timeout(3000) })).ok
      const p = (await this.podsByOrdinal())[i]
      return p?.metadata?.uid === this.nodes[i]!.uid && isReady(p)
    }, { what: `pod ${this.init.pool}-${i} to be ${alone ? 'alive' : 'Ready'} again`, timeoutMs, intervalMs: 250 })
  }

  async probe (): Promise<boolean[][]> {
    const live = this.live()
    const outs = await runInPods(this.c.podNet, live.map(i => ({
      pod: this.nodes[i]!,
      shell: 'bash' as const,
      script: probeScript(this.nodes.map((n, j) => ({ index: j, ip: n.ip })).filter(t => t.index !== i && live.includes(t.index)), this.init.ports.p2p, this.init.probeTimeoutS ?? 3.5)
    })))
    const open = new Map(live.map((i, k) => [i, new Set(outs[k]!.split('\n').filter(Boolean).map(Number))]))
    return this.nodes.map((_, i) => this.nodes.map((_, j) => i === j || open.get(i)?.has(j) === true))
  }

  async addAgent (id: string, _i: number): Promise<number[]> {
    this.agents.add(id)
    await this.c.putAgent(id)
    // A DawnAgent is placed on a whole pool.
    return this.nodes.map((_, j) => j)
  }

  async removeAgent (id: string, _i: number): Promise<number[]> {
    await this.c.deleteAgent(id)
    this.agents.delete(id)
    return this.nodes.map((_, j) => j)
  }

  async close (): Promise<void> {
    const errors: unknown[] = []
    await this.heal().catch((e: unknown) => { errors.push(e) })
    for (const id of [...this.agents]) await this.c.deleteAgent(id).catch((e: unknown) => { errors.push(e) })
    this.agents.clear()
    if (errors.length > 0) throw new ClusterTargetError(`close: ${errors.map(e => (e as Error).message).join('; ')}`)
  }

  // -------------------------------------------------------------------------------------

  private node (i: number): Node {
    const n = this.nodes[i]
    if (n === undefined) throw new RangeError(`node ${i} is not in 0..${this.size - 1}`)
    return n
  }

  /** Nodes whose pod is not killed-and-not-yet-restarted. */
  private live (): number[] {
    return this.nodes.map((_, i) => i).filter(i => !this.killed.has(i))
  }

  private cutPeersOf (i: number): number[] {
    return [...this.blocked].map(p => p.split('-').map(Number) as [number, number])
      .filter(([a, b]) => a === i || b === i).map(([a, b]) => a === i ? b : a)
  }

  /** Lays the cut set on every live pod; destroys open sockets across the `fresh` pairs. */
  private async layCuts (fresh: string[]): Promise<void> {
    const killNow = new Map<number, number[]>()
    for (const [a, b] of fresh.map(p => p.split('-').map(Number) as [number, number])) {
      killNow.set(a, [...(killNow.get(a) ?? []), b])
      killNow.set(b, [...(killNow.get(b) ?? []), a])
    }
    const ip = (j: number): string => this.node(j).ip
    await runInPods(this.c.podNet, this.live().map(i => ({
      pod: this.nodes[i]!,
      script: cutScript(this.cutPeersOf(i).map(ip), (killNow.get(i) ?? []).map(ip))
    })))
  }

  private async layFlaky (): Promise<void> {
    const s = this.flakyState
    if (s === undefined) return
    const all = this.nodes.map((_, j) => j)
    await runInPods(this.c.podNet, this.live().map(i => {
      // Node i delays its packets to every peer when it is flaky, else only those to flaky peers.
      const peers = all.filter(j => j !== i && (s.nodes.includes(i) || s.nodes.includes(j)))
      return { pod: this.nodes[i]!, script: flakyScript(s.fault, peers.map(j => this.node(j).ip)) }
    }))
  }

  private async podsByOrdinal (): Promise<Array<V1Pod | undefined>> {
    const out: Array<V1Pod | undefined> = []
    for (const p of await this.c.listPods()) {
      const i = ordinalOf(this.init.pool, p)
      if (i >= 0 && p.metadata?.deletionTimestamp === undefined) out[i] = p
    }
    return out
  }

  private async nodeOf (pod: V1Pod, knownPeerId: string | undefined): Promise<Node> {
    const name = pod.metadata?.name ?? ''
    const ip = pod.status?.podIP
    const containerId = pod.status?.containerStatuses?.find(s => s.name === this.init.container)?.containerID
    if (ip === undefined || containerId === undefined) throw new ClusterTargetError(`pod ${name} has no address or no ${this.init.container} container yet`)
    const url = await this.c.bridge(ip, this.init.ports.http)
    // The identity is per ordinal and survives restarts; ask the node only the first time.
    const peerId = knownPeerId ?? await eventually(async () => {
      const r = await fetch(`${url}/api/v1/node`, { signal: AbortSignal.timeout(5000) })
      return r.ok ? (await r.json() as { peerId: string }).peerId : undefined
    }, { what: `the peer id of ${name}`, timeoutMs: 60_000, intervalMs: 500 })
    return { name, nodeName: pod.spec?.nodeName ?? '', containerId, ip, uid: pod.metadata?.uid ?? '', url, peerId }
  }
}
