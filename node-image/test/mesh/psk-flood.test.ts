import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { sleep } from '../../src/timing/backoff.ts'
import { procStatusBytes, startFlood, type Flood, type FloodInit, type FloodResult } from '../../bench/flooder.ts'

// The attack that killed nodes on @libp2p/pnet 3.0.27: tens of thousands of TCP
// connections to the libp2p port, each from its own loopback source address, each
// sending a fake 24-byte nonce and closing, plus connections that send nothing.
// Node 1 is the target; nodes 2 and 3 are members that keep calling through it.

const MiB = 1024 * 1024
const FLOOD = 50_000
const SILENT = 2_000
/**
 * The silent burst comes first, the worst case: it would fill every pending-handshake
 * slot, and a node that refused new connections while they were full would refuse the
 * whole flood (and every honest newcomer). Node 1 evicts its oldest waiter instead.
 */
const SHAPE = { connections: FLOOD, silent: SILENT, silentAfter: 0, concurrency: 256, silentHoldMs: 30_000 }
/** A silent socket must be dropped by node 1, well before the flooder's own 30 s hold; the slack is for a busy event loop. */
const DROP_SLACK_MS = 10_000
const GROWTH_DURING = 64 * MiB
const GROWTH_AFTER = 32 * MiB

interface Probe { what: string, ok: boolean, detail: string }

describe('a node under a pre-handshake connection flood', () => {
  let mesh: Mesh
  const url = (i: number): string => mesh.net.nodes[i]?.httpUrl ?? ''
  const peerId = (i: number): string => mesh.net.nodes[i]?.peerId ?? ''

  /** A tool call from node `from` to node `to`'s echo agent over the mesh. */
  const call = async (from: number, to: number): Promise<Probe> => {
    const what = `call node ${from + 1} -> node ${to + 1}`
    const text = `${what} ${Date.now()}`
    try {
      const res = await fetch(`${url(from)}/api/v1/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target: `${peerId(to)}:echo`, tool: 'echo', arguments: { text }, timeoutMs: 15_000 }),
        signal: AbortSignal.timeout(20_000)
      })
      const body = await res.json() as { result?: { content?: Array<{ text?: string }> } }
      const echoed = body.result?.content?.map(c => c.text ?? '').join('')
      return { what, ok: res.ok && echoed === text, detail: `${res.status} ${JSON.stringify(body).slice(0, 200)}` }
    } catch (err) {
      return { what, ok: false, detail: (err as Error).message }
    }
  }
  const healthz = async (): Promise<Probe> => {
    const status = await fetch(`${url(0)}/healthz`, { signal: AbortSignal.timeout(10_000) }).then(r => r.status, (err: unknown) => String(err))
    return { what: 'node 1 /healthz', ok: status === 200, detail: String(status) }
  }
  /** Node 1's health, a member calling into it, and node 1 calling out. */
  const probeRound = async (): Promise<Probe[]> => await Promise.all([healthz(), call(1, 0), call(0, 2)])

  const counters = async (): Promise<{ completed: number, failed: number, evicted: number }> => ({
    completed: await mesh.metric(0, 'dawn_p2p_handshakes_total', { result: 'completed' }),
    failed: await mesh.metric(0, 'dawn_p2p_handshakes_total', { result: 'failed' }),
    evicted: await mesh.metric(0, 'dawn_p2p_handshakes_total', { result: 'evicted' })
  })

  beforeAll(async () => {
    mesh = await startMesh({ nodes: 3, agents: () => [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }] })
    await eventually(async () => (await probeRound()).every(p => p.ok), { what: 'calls 2 -> 1 and 1 -> 3 before the flood', timeoutMs: 60_000 })
  })
  afterAll(async () => { await mesh.stop() })

  it(`stays healthy, bounded in memory and usable by members through ${FLOOD} nonce-only and ${SILENT} silent connections`, async () => {
    const target = mesh.procs[0]
    const pid = target?.pid ?? 0
    const port = Number(/\/tcp\/(\d+)\//.exec(mesh.net.nodes[0]?.p2pAddr ?? '')?.[1])
    const rss = (): number => procStatusBytes(pid, 'VmRSS')
    const handshakeTimeoutMs = await mesh.metric(0, 'dawn_p2p_inbound_limit', { limit: 'handshake_timeout_ms' })
    expect(handshakeTimeoutMs).toBeGreaterThan(0)

    /** A flood with node 1's RSS sampled; it stops if node 1 dies or after 150 s. */
    const watched = (init: Omit<FloodInit, 'port' | 'signal'>): { flood: Flood, watch: { peak: number, diedAt?: number, timedOut: boolean }, done: Promise<FloodResult> } => {
      const abort = new AbortController()
      const guard = setTimeout(() => { abort.abort() }, 150_000)
      const flood = startFlood({ ...init, port, signal: abort.signal })
      const watch: { peak: number, diedAt?: number, timedOut: boolean } = { peak: 0, timedOut: false }
      const sampler = setInterval(() => {
        try {
          watch.peak = Math.max(watch.peak, rss())
        } catch {
          // /proc/<pid> is gone: node 1 died.
          watch.diedAt ??= flood.progress.attempted
          abort.abort()
        }
      }, 200)
      const done = flood.done.finally(() => {
        clearTimeout(guard)
        clearInterval(sampler)
        watch.timedOut = abort.signal.aborted && watch.diedAt === undefined
      })
      return { flood, watch, done }
    }
    const died = (watch: { peak: number, diedAt?: number }): string =>
      `node 1 died during a flood, ${String(watch.diedAt)} nonce-only connections started (RSS peak ${(watch.peak / MiB).toFixed(0)} MiB):\n${target?.logs().split('\n').slice(-15).join('\n') ?? ''}`

    // Warm-up, the same flood twice: under a flood's allocation rate V8 grows its heap
    // (young generation to its cap, old generation before each major GC) and keeps the
    // pages resident after the garbage is gone. Measured on one node over six such
    // floods: 200 -> 552 -> 561 -> 578 -> 579 -> 580 -> 581 MB, so a high-water mark,
    // not a per-connection cost (the same with @libp2p/pnet until it dies; the heap in
    // use after a full GC stays ~60 MB). From a baseline past that mark, the measured
    // flood shows what connections keep.
    for (const sourceNet of [10, 12]) {
      const warmUp = watched({ ...SHAPE, sourceNet })
      await warmUp.done
      expect(warmUp.watch.diedAt, died(warmUp.watch)).toBeUndefined()
    }
    await sleep(3_000)
    const baseline = rss()
    const before = await counters()

    const { flood, watch, done } = watched({ ...SHAPE, sourceNet: 1 })
    const state = { flooding: true }
    const probing = (async () => {
      const rounds: Array<{ attempted: number, probes: Probe[] }> = []
      while (state.flooding && watch.diedAt === undefined) {
        const attempted = flood.progress.attempted
        rounds.push({ attempted, probes: await probeRound() })
        await sleep(500)
      }
      return rounds
    })()
    const result = await done.finally(() => { state.flooding = false })
    const during = await probing
    expect(watch.diedAt, died(watch)).toBeUndefined()
    expect(watch.timedOut, 'the flood did not finish in 150 s').toBe(false)
    const peak = Math.max(baseline, watch.peak)
    const after = await counters()
    const report = `flood ${JSON.stringify({ ...result, silent: { ...result.silent, heldMs: undefined } })}; RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB; handshakes +${after.completed - before.completed} completed, +${after.failed - before.failed} failed, +${after.evicted - before.evicted} evicted`
    process.stdout.write(`psk-flood: ${report}\n`)

    // The flood happened: every connection was made, most reached the PSK stage, and node 1 counted them.
    expect(result.attempted).toBe(FLOOD)
    expect(result.answered).toBeGreaterThan(FLOOD / 2)
    expect(after.completed - before.completed).toBeGreaterThanOrEqual(result.answered * 0.95)
    // The silent connections node 1 accepted were dropped, evicted by newer handshakes or by
    // the handshake timeout, and counted; they never kept the flood out.
    expect(result.silent.answered).toBeGreaterThan(0)
    expect(Math.max(...result.silent.heldMs)).toBeLessThan(handshakeTimeoutMs + DROP_SLACK_MS)
    expect((after.failed - before.failed) + (after.evicted - before.evicted)).toBeGreaterThanOrEqual(result.silent.answered)

    // Members kept calling through node 1 while the flood ran.
    expect(during.length, 'probe rounds during the flood').toBeGreaterThanOrEqual(3)
    expect(during.filter(r => r.attempted > FLOOD / 4).length, 'probe rounds after a quarter of the flood').toBeGreaterThanOrEqual(1)
    const failedDuring = during.flatMap(r => r.probes.filter(p => !p.ok).map(p => `at ${r.attempted}: ${p.what}: ${p.detail}`))
    expect(failedDuring, report).toEqual([])
    expect(peak - baseline, report).toBeLessThan(GROWTH_DURING)

    // Afterwards memory comes back near the baseline, and everything still works.
    const settled = await eventually(async () => { const now = rss(); return now - baseline < GROWTH_AFTER ? now : false }, {
      what: `node 1 RSS back within ${GROWTH_AFTER / MiB} MiB of ${(baseline / MiB).toFixed(0)} MiB`,
      timeoutMs: 60_000,
      intervalMs: 1_000,
      detail: async () => await Promise.resolve(`RSS now ${(rss() / MiB).toFixed(0)} MiB; ${report}`)
    })
    process.stdout.write(`psk-flood: RSS after ${(settled / MiB).toFixed(0)} MiB\n`)
    const afterProbes = await probeRound()
    expect(afterProbes.filter(p => !p.ok)).toEqual([])
    expect(target?.running).toBe(true)
  }, 300_000)
})
