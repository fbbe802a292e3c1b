// The chaos scenarios' target on a pool the operator deployed (the project's cluster or
// kind), and what the operator says about the network meanwhile.
import { clusterPaths } from '../cluster/layout.ts'
import { ClusterChaosTarget } from '../chaos/cluster/target.ts'
import { cutPairs, formatMatrix, groupsMatrix, matrixDiff } from '../chaos/matrix.ts'
import type { ChaosTarget, LinkFault } from '../chaos/target.ts'
import { kindPodNet, localPodNet } from '../chaos/cluster/pod-net.ts'
import type { Condition } from '../../operator/src/api/index.ts'
import { NODE_CONTAINER } from '../../operator/src/render/index.ts'
import { eventually } from './access.ts'
import { HTTP_PORT, type PoolFixture } from './pool-fixture.ts'
import { e2eTarget } from './target.ts'

export const P2P_PORT = 4001

/** Agent ids of the scenarios' workload become DawnAgent names: a DNS label, unique per id. */
export function agentObjectName (id: string): string {
  const label = id.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40)
  let h = 0
  for (const ch of id) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0
  return `chaos-${label === '' ? 'agent' : label}-${h.toString(36)}`
}

export async function attachChaosTarget (f: PoolFixture, network: string, pool: string, size: number): Promise<ClusterChaosTarget> {
  const where = e2eTarget()
  return await ClusterChaosTarget.attach({
    listPods: async () => await f.pods(pool),
    deletePod: async name => { await f.c.core.deleteNamespacedPod({ namespace: f.ns, name, gracePeriodSeconds: 0 }) },
    putAgent: async id => {
      const name = agentObjectName(id)
      if (await f.dawn.find('DawnAgent', f.ns, name) === undefined) await f.apply(f.agent(name, network, { agentId: id, builtin: { name: 'echo' } }))
    },
    deleteAgent: async id => { await f.dawn.delete('DawnAgent', f.ns, agentObjectName(id)).catch(() => {}) },
    bridge: async (ip, port) => await f.bridges.url(ip, port),
    podNet: where.kind === 'kind' ? kindPodNet() : localPodNet(clusterPaths().containerdSocket)
  }, { kind: where.kind === 'kind' ? 'kind' : 'cluster', pool, size, ports: { p2p: P2P_PORT, http: HTTP_PORT }, container: NODE_CONTAINER })
}

/** The DawnNetwork's conditions, waited on (never slept on). */
export class NetworkConditions {
  private readonly f: PoolFixture
  private readonly name: string

  constructor (f: PoolFixture, name: string) { this.f = f; this.name = name }

  async conditions (): Promise<Condition[]> {
    return (await this.f.dawn.get('DawnNetwork', this.f.ns, this.name)).status?.conditions ?? []
  }

  /** Waits for Degraded=True with `reason`; returns it and how long it took. */
  async degraded (reason: string, timeoutMs = 90_000): Promise<{ ms: number, condition: Condition }> {
    const t0 = Date.now()
    const condition = await eventually(async () => (await this.conditions()).find(c => c.type === 'Degraded' && c.status === 'True' && c.reason === reason),
      { what: `DawnNetwork ${this.name} Degraded (${reason})`, timeoutMs, intervalMs: 500, detail: async () => JSON.stringify(await this.conditions()) })
    return { ms: Date.now() - t0, condition }
  }

  /** Waits for Ready=True and Degraded=False; returns how long it took. */
  async healthy (timeoutMs = 120_000): Promise<{ ms: number }> {
    const t0 = Date.now()
    await eventually(async () => {
      const cs = await this.conditions()
      return cs.some(c => c.type === 'Ready' && c.status === 'True') && cs.some(c => c.type === 'Degraded' && c.status === 'False')
    }, { what: `DawnNetwork ${this.name} Ready and not Degraded`, timeoutMs, intervalMs: 500, detail: async () => JSON.stringify(await this.conditions()) })
    return { ms: Date.now() - t0 }
  }
}

/**
 * A target that also holds the operator to account: after a partition that splits the
 * mesh it returns only once the network is Degraded (MeshPartitioned), so the fault is
 * still in place when the condition is read; after the heal it starts waiting for Ready
 * and not Degraded, which `healthyAfterHeal` awaits.
 */
export class OperatorWatch implements ChaosTarget {
  readonly kind: ChaosTarget['kind']
  readonly size: number
  /** The Degraded condition seen during the last split, and ms from the cut to it. */
  degraded: { ms: number, condition: Condition } | undefined
  private healthy: Promise<{ ms: number }> | undefined
  private readonly t: ChaosTarget
  private readonly net: NetworkConditions

  constructor (t: ChaosTarget, net: NetworkConditions) {
    this.t = t
    this.net = net
    this.kind = t.kind
    this.size = t.size
  }

  url (i: number): string { return this.t.url(i) }
  peerId (i: number): string { return this.t.peerId(i) }
  async probe (): Promise<boolean[][]> { return await this.t.probe() }
  async flaky (fault: LinkFault, nodes?: number[]): Promise<void> { await this.t.flaky(fault, nodes) }
  async kill (i: number): Promise<void> { await this.t.kill(i) }
  async restart (i: number): Promise<void> { await this.t.restart(i) }
  async addAgent (id: string, i: number): Promise<number[]> { return await this.t.addAgent(id, i) }
  async removeAgent (id: string, i: number): Promise<number[]> { return await this.t.removeAgent(id, i) }
  async close (): Promise<void> { await this.t.close() }

  async partition (groups: number[][]): Promise<void> {
    const t0 = Date.now()
    await this.t.partition(groups)
    const expected = groupsMatrix(this.size, groups)
    if (cutPairs(expected).length === 0) return
    // The fault first (the scenario proves it again), so that a fault that did not bite is
    // reported as such, not as an operator that failed to notice it.
    const actual = await this.t.probe()
    const diff = matrixDiff(expected, actual)
    if (diff.length > 0) throw new Error(`the partition is not in place:\n${diff.join('\n')}\nprobed:\n${formatMatrix(actual)}`)
    const { condition } = await this.net.degraded('MeshPartitioned')
    this.degraded = { ms: Date.now() - t0, condition }
  }

  async heal (): Promise<void> {
    await this.t.heal()
    const t0 = Date.now()
    const waiting = this.net.healthy().then(() => ({ ms: Date.now() - t0 }))
    // Awaited by healthyAfterHeal; a failure before that is not unhandled.
    waiting.catch(() => {})
    this.healthy = waiting
  }

  /** How long after the heal the network was Ready and not Degraded again. */
  async healthyAfterHeal (): Promise<{ ms: number }> {
    if (this.healthy === undefined) throw new Error('heal() was never called')
    return await this.healthy
  }
}
