// The load a scenario runs while faults come and go: agents added and removed on every
// side, tool calls across the mesh whose execution the target records (notes.put with a
// unique key), and content pinned with a replication factor. Random choices come from
// the seed, so a run can be repeated.
import { randomBytes } from 'node:crypto'
import { emptyHistory, type CallOutcome, type History } from './history.ts'
import { addContent, call, metricSum, registry } from './node-api.ts'
import { RECORDER_AGENT, type ChaosTarget } from './target.ts'

/**
 * Refusals that mean the call never reached the agent; anything else might have run. The
 * router answers node-unreachable only before the request left the caller (after that it is
 * outcome-unknown), so the checker proves it: a node-unreachable call that executed is a violation.
 */
export const NOT_RUN: ReadonlySet<string> = new Set(['unknown-agent', 'node-unreachable', 'bad-request', 'too-large', 'busy'])

/** How a refused call is counted: certainly not run, or unknown (`outcome-unknown`, `deadline-exceeded`, ...). */
export const refusalOutcome = (code: string): CallOutcome => NOT_RUN.has(code) ? 'error' : 'unknown'
export const SERVED_OK = 'dawn_tool_calls_served_total'

export interface WorkloadInit {
  seed: number
  /** Mesh deadline of a call; the HTTP request gets a few seconds more. */
  callTimeoutMs?: number
  /** Pauses between operations of each stream. */
  callEveryMs?: number
  agentEveryMs?: number
  pinEveryMs?: number
  replication?: number
  /** How long an agent change may take to show in its node's own registry. */
  ackTimeoutMs?: number
}

/** mulberry32: small, seedable, good enough to pick nodes. */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export class Workload {
  readonly history: History
  private readonly t: ChaosTarget
  private readonly init: Required<WorkloadInit>
  private readonly random: () => number
  private readonly down = new Set<number>()
  private readonly busyAgents = new Set<string>()
  private readonly hosted = new Map<number, Set<string>>()
  private abort = new AbortController()
  private loops: Array<Promise<void>> = []
  private seq = 0

  constructor (t: ChaosTarget, init: WorkloadInit) {
    this.t = t
    this.init = { callTimeoutMs: 6000, callEveryMs: 150, agentEveryMs: 700, pinEveryMs: 1500, replication: 3, ackTimeoutMs: 15_000, ...init }
    this.random = seededRandom(init.seed)
    this.history = emptyHistory(`chaos-${init.seed}-${randomBytes(3).toString('hex')}-`, t.size)
  }

  /** Reads what the mesh holds before any load (agents, served counters), then starts the load. */
  async start (): Promise<void> {
    for (let i = 0; i < this.t.size; i++) {
      const own = await registry(this.t.url(i), this.t.peerId(i))
      this.history.initialAgents.push(...own.map(e => `${i}:${e.agentId}`))
      this.history.servedAtStart[i] = await metricSum(this.t.url(i), SERVED_OK, { result: 'ok' })
    }
    this.abort = new AbortController()
    const signal = this.abort.signal
    this.loops = [
      this.loop(signal, this.init.callEveryMs, async () => { await this.oneCall() }),
      this.loop(signal, this.init.callEveryMs, async () => { await this.oneCall() }),
      this.loop(signal, this.init.agentEveryMs, async () => { await this.oneAgentChange() }),
      this.loop(signal, this.init.agentEveryMs, async () => { await this.oneAgentChange() }),
      this.loop(signal, this.init.pinEveryMs, async () => { await this.onePin() })
    ]
  }

  /** Stops issuing operations and waits for those in flight to end. */
  async stop (): Promise<void> {
    this.abort.abort()
    await Promise.all(this.loops)
  }

  /** Nodes that cannot take requests now (killed, paused): no call, agent change or pin goes through them. */
  setDown (nodes: number[]): void {
    this.down.clear()
    for (const n of nodes) this.down.add(n)
  }

  /** A node restarted: its served counter started over, so its duplicates cannot be counted. */
  restarted (i: number): void {
    this.history.servedAtStart[i] = undefined
  }

  /** The scenario sent node i a call of its own (not the workload's) that may have run. */
  extraCall (i: number): void {
    this.history.extraServed[i] = (this.history.extraServed[i] ?? 0) + 1
  }

  counts (): Record<CallOutcome, number> {
    const c: Record<CallOutcome, number> = { ok: 0, error: 0, unknown: 0 }
    for (const r of this.history.calls) c[r.outcome]++
    return c
  }

  private async loop (signal: AbortSignal, everyMs: number, step: () => Promise<void>): Promise<void> {
    while (!signal.aborted) {
      await step()
      await new Promise(r => setTimeout(r, everyMs * (0.5 + this.random())))
    }
  }

  private up (): number[] {
    return Array.from({ length: this.t.size }, (_, i) => i).filter(i => !this.down.has(i))
  }

  private pick<T> (xs: T[]): T | undefined {
    return xs[Math.floor(this.random() * xs.length)]
  }

  /** notes.put(key, value) on a random node, through another; the outcome as the caller was told. */
  private async oneCall (): Promise<void> {
    const caller = this.pick(this.up())
    const target = this.pick(Array.from({ length: this.t.size }, (_, i) => i).filter(i => i !== caller))
    if (caller === undefined || target === undefined) return
    const key = `${this.history.keyPrefix}${(this.seq++).toString().padStart(5, '0')}`
    const value = `${caller}->${target}:${Math.floor(this.random() * 1e9)}`
    const record = { key, value, caller, target, outcome: 'unknown' as CallOutcome, detail: 'no answer yet' }
    this.history.calls.push(record)
    try {
      const reply = await call(this.t.url(caller), {
        target: `${this.t.peerId(target)}:${RECORDER_AGENT}`, tool: 'put', arguments: { key, value }, timeoutMs: this.init.callTimeoutMs
      }, this.init.callTimeoutMs + 4000)
      if ('route' in reply) {
        record.outcome = reply.result.isError === true ? 'unknown' : 'ok'
        record.detail = reply.result.isError === true ? 'tool reported an error' : reply.route
      } else {
        record.outcome = refusalOutcome(reply.code)
        record.detail = `${reply.status} ${reply.code}`
      }
    } catch (err) {
      record.outcome = 'unknown'
      record.detail = (err as Error).name === 'TimeoutError' ? 'HTTP timeout' : (err as Error).message
    }
  }

  /** Adds an echo agent to a random up node, or removes one the workload added there. */
  private async oneAgentChange (): Promise<void> {
    const node = this.pick(this.up())
    if (node === undefined) return
    const mine = [...(this.hosted.get(node) ?? [])].filter(a => !this.busyAgents.has(`${node}:${a}`))
    const remove = mine.length > 0 && this.random() < 0.4
    const agentId = remove ? this.pick(mine) ?? '' : `w${this.init.seed % 1000}-${(this.seq++).toString(36)}`
    const key = `${node}:${agentId}`
    this.busyAgents.add(key)
    try {
      const hosts = remove ? await this.t.removeAgent(agentId, node) : await this.t.addAgent(agentId, node)
      const changes = hosts.map(n => ({ op: remove ? 'remove' as const : 'add' as const, agentId, node: n, acknowledged: false, at: Date.now() }))
      this.history.registry.push(...changes)
      await Promise.all(changes.map(async c => { c.acknowledged = await this.acknowledged(c.node, agentId, !remove) }))
      for (const n of hosts) {
        const set = this.hosted.get(n) ?? new Set<string>()
        if (remove) set.delete(agentId)
        else set.add(agentId)
        this.hosted.set(n, set)
      }
    } catch {
      // The target refused the change: nothing was written, nothing is expected.
    } finally {
      this.busyAgents.delete(key)
    }
  }

  /** Whether node's own registry shows (or no longer shows) the agent within the ack timeout. */
  private async acknowledged (node: number, agentId: string, present: boolean): Promise<boolean> {
    const deadline = Date.now() + this.init.ackTimeoutMs
    while (Date.now() < deadline) {
      try {
        const own = await registry(this.t.url(node), this.t.peerId(node))
        if (own.some(e => e.agentId === agentId) === present) return true
      } catch { /* paused or restarting: keep asking */ }
      await new Promise(r => setTimeout(r, 100))
    }
    return false
  }

  /** Adds a few KiB of seeded bytes on a random up node, pinned on `replication` nodes. */
  private async onePin (): Promise<void> {
    const node = this.pick(this.up())
    if (node === undefined) return
    const bytes = new Uint8Array(1024 + Math.floor(this.random() * 8192))
    for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(this.random() * 256)
    try {
      const added = await addContent(this.t.url(node), bytes, this.init.replication, 10_000)
      this.history.pins.push({ cid: added.cid, replication: added.replication, node })
    } catch { /* not acknowledged: not expected to be kept */ }
  }
}
