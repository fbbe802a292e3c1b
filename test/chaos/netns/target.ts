// ChaosTarget for real node processes in network namespaces (topology.ts, faults.ts,
// ns-mesh.ts). Every node hosts the built-in agents of a local mesh (echo, notes, mesh,
// content); the workload's agents are echo agents added to and removed from the config
// files, which the nodes reload live.
import { existsSync } from 'node:fs'
import { NodeProcess } from '../../../node-image/src/local-mesh/node-process.ts'
import { demoAgents } from '../../../node-image/src/local-mesh/demo-agents.ts'
import type { AgentConfig } from '../../../node-image/src/config/schema.ts'
import type { ChaosTarget, LinkFault } from '../target.ts'
import { flaky, healAll, partition, probe } from './faults.ts'
import { startNsMesh, type NsMesh } from './ns-mesh.ts'

export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

export class NetnsTargetError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'NetnsTargetError'
  }
}

export interface NetnsTargetInit {
  nodes: number
  /** How long a (re)started node may take to be ready. */
  readyTimeoutMs?: number
}

/** Storage timers shortened so a healed mesh re-replicates within seconds, not a minute. */
function chaosConfig (_i: number, config: Record<string, unknown>): void {
  config.storage = { manifestIntervalSeconds: 3, repairIntervalSeconds: 2 }
}

export class NetnsTarget implements ChaosTarget {
  readonly kind = 'netns' as const
  readonly size: number
  readonly mesh: NsMesh
  private readonly readyTimeoutMs: number
  private readonly killed = new Set<number>()
  private readonly paused = new Set<number>()

  private constructor (mesh: NsMesh, init: NetnsTargetInit) {
    this.mesh = mesh
    this.size = init.nodes
    this.readyTimeoutMs = init.readyTimeoutMs ?? 60_000
  }

  static async start (init: NetnsTargetInit): Promise<NetnsTarget> {
    const mesh = await startNsMesh({ nodes: init.nodes, agents: demoAgents, patch: chaosConfig })
    return new NetnsTarget(mesh, init)
  }

  url (i: number): string { return this.node(i).httpUrl }
  peerId (i: number): string { return this.node(i).peerId }

  async partition (groups: number[][]): Promise<void> { await partition(this.mesh.topo, groups) }
  async flaky (fault: LinkFault, nodes?: number[]): Promise<void> { await flaky(this.mesh.topo, fault, nodes) }
  async heal (): Promise<void> { await healAll(this.mesh.topo) }

  async kill (i: number): Promise<void> {
    const p = this.proc(i)
    this.paused.delete(i)
    this.killed.add(i)
    p.kill()
    const deadline = Date.now() + 10_000
    while (p.running && Date.now() < deadline) await new Promise(r => setTimeout(r, 20))
    if (p.running) throw new NetnsTargetError(`node ${i} survived SIGKILL`)
  }

  async restart (i: number): Promise<void> {
    const p = this.proc(i)
    if (p.running) throw new NetnsTargetError(`node ${i} is running; kill it first`)
    p.start()
    await p.waitReady(this.readyTimeoutMs)
    this.killed.delete(i)
  }

  async pause (i: number): Promise<void> { this.signal(i, 'SIGSTOP'); this.paused.add(i) }
  async resume (i: number): Promise<void> { this.signal(i, 'SIGCONT'); this.paused.delete(i) }

  /** Restarts node i under libfaketime, its wall clock off by `ms` (monotonic time left alone). */
  async skew (i: number, ms: number): Promise<void> {
    if (ms !== 0 && !existsSync(LIBFAKETIME)) throw new NetnsTargetError(`libfaketime is missing (clock skew preloads it): run sh scripts/install-debian-packages.sh (or apt-get install -y libfaketime)`)
    const old = this.proc(i)
    await old.stop()
    const env = ms === 0
      ? {}
      : { LD_PRELOAD: LIBFAKETIME, FAKETIME: `${ms >= 0 ? '+' : '-'}${Math.abs(ms) / 1000}s`, FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' }
    const next = new NodeProcess({ ...old.init, env })
    this.mesh.procs[i] = next
    next.start()
    await next.waitReady(this.readyTimeoutMs)
  }

  /** A killed node opens no connection: its row is cut as well as its column. */
  async probe (): Promise<boolean[][]> {
    const m = await probe(this.mesh.topo)
    return m.map((row, i) => row.map((v, j) => i === j || (v && !this.killed.has(i))))
  }

  async addAgent (id: string, i: number): Promise<number[]> {
    await this.mesh.editConfig(i, c => {
      const agents = c.agents as AgentConfig[]
      if (!agents.some(a => a.id === id)) agents.push({ id, kind: 'builtin', builtin: 'echo', description: 'chaos workload agent' })
    })
    return [i]
  }

  async removeAgent (id: string, i: number): Promise<number[]> {
    await this.mesh.editConfig(i, c => { c.agents = (c.agents as AgentConfig[]).filter(a => a.id !== id) })
    return [i]
  }

  async close (): Promise<void> {
    for (const i of this.paused) this.signal(i, 'SIGCONT')
    this.paused.clear()
    await this.mesh.stop()
  }

  /** Node i's log tail, for failure reports. */
  logs (i: number): string { return this.proc(i).logs() }

  private signal (i: number, sig: 'SIGSTOP' | 'SIGCONT'): void {
    const pid = this.proc(i).pid
    if (pid === undefined || !this.proc(i).running) throw new NetnsTargetError(`node ${i} is not running`)
    process.kill(pid, sig)
  }

  private node (i: number): { httpUrl: string, peerId: string } {
    const n = this.mesh.net.nodes[i]
    if (n === undefined) throw new RangeError(`node ${i} is not in 0..${this.size - 1}`)
    return n
  }

  private proc (i: number): NodeProcess {
    const p = this.mesh.procs[i]
    if (p === undefined) throw new RangeError(`node ${i} is not in 0..${this.size - 1}`)
    return p
  }
}
