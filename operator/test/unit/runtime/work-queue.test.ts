import { describe, it, expect, vi, afterEach } from 'vitest'
import fc from 'fast-check'
import { WorkQueue, type WorkOutcome } from '../../../src/runtime/work-queue.ts'
import { Backoff } from '../../../src/runtime/backoff.ts'

const tick = async (ms = 0): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }

/** A handler whose calls stay open until the test settles them. */
function manualHandler (): {
  handler: (key: string, signal: AbortSignal) => Promise<undefined>
  calls: Array<{ key: string, signal: AbortSignal, resolve: () => void, reject: (e: Error) => void }>
} {
  const calls: Array<{ key: string, signal: AbortSignal, resolve: () => void, reject: (e: Error) => void }> = []
  return {
    calls,
    handler: async (key, signal) => {
      await new Promise<void>((resolve, reject) => { calls.push({ key, signal, resolve, reject }) })
      return undefined
    }
  }
}

describe('Backoff', () => {
  it('doubles from base to cap, jitter only ever shortens', () => {
    const b = new Backoff({ baseMs: 100, capMs: 1000, jitter: 0 })
    expect([1, 2, 3, 4, 5, 6].map(n => b.delay(n))).toEqual([100, 200, 400, 800, 1000, 1000])
    expect(b.delay(0)).toBe(0)
    expect(b.delay(10_000)).toBe(1000)
    const j = new Backoff({ baseMs: 100, capMs: 1000, jitter: 0.2, random: () => 0.999 })
    expect(j.delay(1)).toBeGreaterThanOrEqual(80)
    expect(j.delay(1)).toBeLessThanOrEqual(100)
  })

  it('every delay stays within [(1-jitter)·min(cap, base·2^(n-1)), min(cap, ...)]', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 0.9999, noNaN: true }), (n, r) => {
      const b = new Backoff({ baseMs: 100, capMs: 300_000, jitter: 0.2, random: () => r })
      const ideal = Math.min(300_000, 100 * 2 ** Math.min(n - 1, 64))
      const d = b.delay(n)
      return d <= ideal && d >= Math.floor(ideal * 0.8)
    }))
  })
})

describe('WorkQueue', () => {
  afterEach(() => { vi.useRealTimers() })

  it('deduplicates keys while queued', async () => {
    const seen: string[] = []
    const q = new WorkQueue({ handler: async key => { seen.push(key) } })
    q.add('a'); q.add('b'); q.add('a'); q.add('a')
    expect(q.depth).toBe(2)
    q.start()
    await q.onIdle()
    expect(seen).toEqual(['a', 'b'])
    await q.stop()
  })

  it('a key re-added while in process runs exactly once more, afterwards, never concurrently', async () => {
    const h = manualHandler()
    const q = new WorkQueue({ handler: h.handler, concurrency: 4 })
    q.start()
    q.add('k')
    await tick()
    expect(h.calls).toHaveLength(1)
    q.add('k'); q.add('k'); q.add('k')
    await tick()
    expect(h.calls).toHaveLength(1) // not concurrently, despite 4 workers
    expect(q.depth).toBe(0) // not queued either: parked until the run ends
    h.calls[0]!.resolve()
    await tick()
    expect(h.calls).toHaveLength(2)
    h.calls[1]!.resolve()
    await q.onIdle()
    expect(h.calls).toHaveLength(2)
    await q.stop()
  })

  it('processes distinct keys in parallel up to `concurrency`', async () => {
    const h = manualHandler()
    const q = new WorkQueue({ handler: h.handler, concurrency: 2 })
    q.start()
    for (const k of ['a', 'b', 'c', 'd']) q.add(k)
    await tick()
    expect(h.calls.map(c => c.key)).toEqual(['a', 'b'])
    expect(q.depth).toBe(2)
    h.calls[0]!.resolve()
    await tick()
    expect(h.calls.map(c => c.key)).toEqual(['a', 'b', 'c'])
    for (const c of h.calls) c.resolve()
    await tick()
    for (const c of h.calls) c.resolve()
    await q.onIdle()
    await q.stop()
  })

  it('retries a failing key with per-key exponential backoff and resets it on success', async () => {
    vi.useFakeTimers()
    let fail = 3
    const runs: number[] = []
    const outcomes: WorkOutcome[] = []
    const q = new WorkQueue({
      handler: async () => {
        runs.push(Date.now())
        if (fail-- > 0) throw new Error('boom')
      },
      backoff: { baseMs: 100, capMs: 10_000, jitter: 0 },
      onResult: r => outcomes.push(r.outcome)
    })
    q.start()
    const t0 = Date.now()
    q.add('x')
    await vi.advanceTimersByTimeAsync(0)
    expect(q.failureCount('x')).toBe(1)
    await vi.advanceTimersByTimeAsync(99)
    expect(runs).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1) // 100 ms
    expect(runs).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(200) // +200 ms
    expect(runs).toHaveLength(3)
    await vi.advanceTimersByTimeAsync(400) // +400 ms: succeeds
    expect(runs.map(t => t - t0)).toEqual([0, 100, 300, 700])
    expect(outcomes).toEqual(['error', 'error', 'error', 'success'])
    expect(q.failureCount('x')).toBe(0)
    // After the success the next failure starts from the base again.
    fail = 1
    q.add('x')
    await vi.advanceTimersByTimeAsync(0)
    await vi.advanceTimersByTimeAsync(100)
    expect(runs).toHaveLength(6)
    await q.stop()
  })

  it('one failing key does not delay the others', async () => {
    const seen: string[] = []
    const q = new WorkQueue({
      handler: async key => { seen.push(key); if (key === 'bad') throw new Error('no') },
      backoff: { baseMs: 60_000 }
    })
    q.start()
    q.add('bad'); q.add('good1'); q.add('good2')
    await q.onIdle()
    expect(seen).toEqual(['bad', 'good1', 'good2'])
    expect(q.delayedCount).toBe(1)
    await q.stop()
    expect(q.delayedCount).toBe(0)
  })

  it('requeueAfterMs schedules another run without counting a failure', async () => {
    vi.useFakeTimers()
    let runs = 0
    const q = new WorkQueue({ handler: async () => { runs++; return runs < 3 ? { requeueAfterMs: 1000 } : undefined } })
    q.start()
    q.add('p')
    await vi.advanceTimersByTimeAsync(0)
    expect(runs).toBe(1)
    await vi.advanceTimersByTimeAsync(999)
    expect(runs).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(runs).toBe(2)
    await vi.advanceTimersByTimeAsync(5000)
    expect(runs).toBe(3)
    expect(q.failureCount('p')).toBe(0)
    await q.stop()
  })

  it('addAfter keeps the earliest pending time per key', async () => {
    vi.useFakeTimers()
    const seen: number[] = []
    const q = new WorkQueue({ handler: async () => { seen.push(Date.now()) } })
    q.start()
    const t0 = Date.now()
    q.addAfter('k', 500)
    q.addAfter('k', 2000)
    q.addAfter('k', 300)
    await vi.advanceTimersByTimeAsync(3000)
    expect(seen.map(t => t - t0)).toEqual([300])
    await q.stop()
  })

  it('stop() aborts the handlers\' signal and waits for them to return', async () => {
    let sawAbort = false
    let finished = false
    const q = new WorkQueue({
      handler: async (_key, signal) => {
        await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }) })
        sawAbort = true
        await tick(20) // cleanup after the abort still completes before stop() resolves
        finished = true
      }
    })
    q.start()
    q.add('a'); q.add('b')
    await tick()
    await q.stop()
    expect(sawAbort).toBe(true)
    expect(finished).toBe(true)
    expect(q.depth).toBe(0)
  })

  it('stop({ graceMs }) lets in-flight work finish before aborting', async () => {
    let aborted = false
    const q = new WorkQueue({
      handler: async (_key, signal) => {
        await tick(30)
        aborted = signal.aborted
      }
    })
    q.start()
    q.add('a')
    await tick()
    await q.stop({ graceMs: 1000 })
    expect(aborted).toBe(false)
  })

  it('handlerTimeoutMs aborts a slow handler and retries it', async () => {
    const reasons: string[] = []
    let calls = 0
    const q = new WorkQueue({
      handlerTimeoutMs: 30,
      backoff: { baseMs: 10, jitter: 0 },
      handler: async (_key, signal) => {
        if (++calls > 1) return
        await new Promise<void>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason as Error) }) })
      },
      onResult: r => reasons.push(r.outcome)
    })
    q.start()
    q.add('slow')
    for (let i = 0; i < 50 && reasons.length < 2; i++) await tick(10)
    expect(reasons).toEqual(['error', 'success'])
    await q.stop()
  })

  it('can be started again after stop()', async () => {
    const seen: string[] = []
    const q = new WorkQueue({ handler: async key => { seen.push(key) } })
    q.start(); q.add('a'); await q.onIdle(); await q.stop()
    q.add('b'); q.start(); await q.onIdle(); await q.stop()
    expect(seen).toEqual(['a', 'b'])
  })

  it('reports depth changes', async () => {
    const depths: number[] = []
    const q = new WorkQueue({ handler: async () => {}, onDepth: d => depths.push(d) })
    q.add('a'); q.add('b'); q.add('a')
    expect(depths).toEqual([1, 2])
    q.start()
    await q.onIdle()
    expect(depths.at(-1)).toBe(0)
    await q.stop()
  })

  // ---------------------------------------------------------------------------------------
  // properties

  type Op = { op: 'add', key: string } | { op: 'finish', index: number, fail: boolean } | { op: 'tick' }
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('add' as const), key: fc.constantFrom('a', 'b', 'c', 'd') }),
    fc.record({ op: fc.constant('finish' as const), index: fc.nat(8), fail: fc.boolean() }),
    fc.constant({ op: 'tick' as const })
  )

  it('property: never two concurrent runs of one key; every add is followed by a run that starts after it; no run without an add', async () => {
    await fc.assert(fc.asyncProperty(fc.array(opArb, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), async (ops, concurrency) => {
      const active = new Map<string, number>()
      const pending: Array<{ key: string, resolve: () => void, reject: (e: Error) => void }> = []
      let seq = 0
      const lastAdd = new Map<string, number>()
      const lastStart = new Map<string, number>()
      const adds = new Map<string, number>()
      const starts = new Map<string, number>()
      let violation = ''
      const q = new WorkQueue({
        concurrency,
        // Retries far in the future: only explicit adds drive runs here.
        backoff: { baseMs: 3_600_000, capMs: 3_600_000 },
        handler: async key => {
          if ((active.get(key) ?? 0) > 0) violation = `concurrent run of ${key}`
          active.set(key, (active.get(key) ?? 0) + 1)
          lastStart.set(key, ++seq)
          starts.set(key, (starts.get(key) ?? 0) + 1)
          try {
            await new Promise<void>((resolve, reject) => { pending.push({ key, resolve, reject }) })
          } finally {
            active.set(key, (active.get(key) ?? 1) - 1)
          }
        }
      })
      q.start()
      for (const o of ops) {
        if (o.op === 'add') {
          lastAdd.set(o.key, ++seq)
          adds.set(o.key, (adds.get(o.key) ?? 0) + 1)
          q.add(o.key)
        } else if (o.op === 'finish') {
          const p = pending.splice(o.index % Math.max(1, pending.length), 1)[0]
          if (o.fail) p?.reject(new Error('fail')); else p?.resolve()
        }
        await tick()
      }
      // Drain: finish everything still running until the queue is idle.
      for (let guard = 0; guard < 1000 && (pending.length > 0 || q.depth > 0 || q.processingCount > 0); guard++) {
        pending.shift()?.resolve()
        await tick()
      }
      await q.stop()
      if (violation !== '') throw new Error(violation)
      for (const [key, added] of lastAdd) {
        const started = lastStart.get(key)
        if (started === undefined || started < added) throw new Error(`key ${key}: last add #${added} not followed by a run (last run #${started})`)
      }
      for (const [key, n] of starts) {
        // Dedup: never more runs than adds (failures are retried only after an hour here).
        if (n > (adds.get(key) ?? 0)) throw new Error(`key ${key}: ${n} runs for ${adds.get(key)} adds`)
      }
    }), { numRuns: 150 })
  })

  it('property: with instant handlers, the number of runs per key equals the number of times it was added while not queued', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(fc.constantFrom('a', 'b', 'c'), fc.constant('|')), { maxLength: 80 }), async (script) => {
      const runs = new Map<string, number>()
      const q = new WorkQueue({ handler: async key => { runs.set(key, (runs.get(key) ?? 0) + 1) }, concurrency: 2 })
      // Before start, every batch separated by '|' collapses to one run per distinct key.
      const expected = new Map<string, number>()
      let batch = new Set<string>()
      const flush = async (): Promise<void> => {
        for (const k of batch) expected.set(k, (expected.get(k) ?? 0) + 1)
        batch = new Set()
        q.start()
        await q.onIdle()
        await q.stop()
      }
      for (const s of script) {
        if (s === '|') await flush()
        else { q.add(s); batch.add(s) }
      }
      await flush()
      expect(Object.fromEntries(runs)).toEqual(Object.fromEntries(expected))
    }), { numRuns: 100 })
  })
})
