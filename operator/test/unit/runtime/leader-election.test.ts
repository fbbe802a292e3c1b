import { describe, it, expect, afterEach } from 'vitest'
import { LeaderElector, microTime, type Lease, type LeaseStore } from '../../../src/runtime/leader-election.ts'
import { KubeApiError, abortReason } from '../../../src/runtime/errors.ts'

const tick = async (ms = 0): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }
async function until (cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await tick(5)
  }
}

/** One Lease in memory with resourceVersion compare-and-swap, like the apiserver's. */
class MemoryLease {
  lease: Lease | undefined
  private rv = 0
  writes = 0

  /** A view of the store for one elector; `broken`/`hung` simulate that replica's connectivity. */
  view (): LeaseStore & { broken: boolean, hung: boolean } {
    const gate = async (signal: AbortSignal): Promise<void> => {
      if (v.hung) {
        await new Promise<void>((_resolve, reject) => { signal.addEventListener('abort', () => { reject(abortReason(signal)) }, { once: true }) })
      }
      if (v.broken) throw new Error('ECONNREFUSED')
    }
    const v = {
      description: 'memory lease',
      broken: false,
      hung: false,
      get: async (signal: AbortSignal): Promise<Lease | undefined> => {
        await gate(signal)
        return this.lease === undefined ? undefined : structuredClone(this.lease)
      },
      create: async (lease: Lease, signal: AbortSignal): Promise<Lease> => {
        await gate(signal)
        if (this.lease !== undefined) throw new KubeApiError({ status: 409, reason: 'AlreadyExists' })
        this.lease = { ...structuredClone(lease), metadata: { resourceVersion: String(++this.rv) } }
        this.writes++
        return structuredClone(this.lease)
      },
      update: async (lease: Lease, signal: AbortSignal): Promise<Lease> => {
        await gate(signal)
        if (this.lease?.metadata?.resourceVersion !== lease.metadata?.resourceVersion) throw new KubeApiError({ status: 409, reason: 'Conflict' })
        this.lease = { ...structuredClone(lease), metadata: { resourceVersion: String(++this.rv) } }
        this.writes++
        return structuredClone(this.lease)
      }
    }
    return v
  }
}

describe('LeaderElector (in-memory lease)', () => {
  const electors: LeaderElector[] = []
  const make = (mem: MemoryLease, identity: string, extra: Partial<ConstructorParameters<typeof LeaderElector>[0]> = {}): { e: LeaderElector, store: ReturnType<MemoryLease['view']>, log: string[] } => {
    const store = mem.view()
    const log: string[] = []
    const e = new LeaderElector({
      store, identity, leaseDurationMs: 1000, renewDeadlineMs: 600, renewIntervalMs: 150, retryPeriodMs: 100,
      onStartedLeading: () => { log.push('start') },
      onStoppedLeading: () => { log.push('stop') },
      random: () => 0,
      ...extra
    })
    electors.push(e)
    return { e, store, log }
  }
  afterEach(async () => { await Promise.all(electors.splice(0).map(async e => { await e.stop() })) })

  it('formats MicroTime with six fractional digits', () => {
    expect(microTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678))).toBe('2025-01-02T03:04:05.678000Z')
  })

  it('acquires a missing lease, renews it, and releases it on stop', async () => {
    const mem = new MemoryLease()
    const { e, log } = make(mem, 'a')
    e.start()
    await e.waitForLeadership(AbortSignal.timeout(2000))
    expect(e.isLeader()).toBe(true)
    expect(mem.lease?.spec?.holderIdentity).toBe('a')
    expect(mem.lease?.spec?.leaseDurationSeconds).toBe(1)
    const renew0 = mem.lease?.spec?.renewTime
    await until(() => mem.lease?.spec?.renewTime !== renew0, 'a renewal')
    // Several renewDeadlines later it still leads, in the same term (no flapping).
    await tick(1500)
    expect(e.isLeader()).toBe(true)
    expect(log).toEqual(['start'])
    expect(mem.writes).toBeGreaterThanOrEqual(8)
    await e.stop()
    expect(log).toEqual(['start', 'stop'])
    expect(mem.lease?.spec?.holderIdentity).toBe('')
    expect(e.isLeader()).toBe(false)
  })

  it('only one of several candidates leads', async () => {
    const mem = new MemoryLease()
    const all = ['a', 'b', 'c', 'd'].map(id => make(mem, id))
    for (const x of all) x.e.start()
    await until(() => all.some(x => x.e.isLeader()), 'a leader')
    for (let i = 0; i < 10; i++) {
      expect(all.filter(x => x.e.isLeader())).toHaveLength(1)
      await tick(60)
    }
    const leader = all.find(x => x.e.isLeader())!
    expect(mem.lease?.spec?.holderIdentity).toBe(leader.e.identity)
    for (const x of all) expect(x.e.leader).toBe(leader.e.identity)
  })

  it('a released lease is taken over at the next retry, not after leaseDuration', async () => {
    const mem = new MemoryLease()
    const a = make(mem, 'a')
    a.e.start()
    await a.e.waitForLeadership()
    const b = make(mem, 'b')
    b.e.start()
    await tick(300)
    expect(b.e.isLeader()).toBe(false)
    const t0 = performance.now()
    await a.e.stop()
    await b.e.waitForLeadership(AbortSignal.timeout(3000))
    const took = performance.now() - t0
    expect(took).toBeLessThan(400) // retryPeriod 100 ms (+ jitter), far below leaseDuration 1000 ms
    expect(mem.lease?.spec?.leaseTransitions).toBe(1)
  })

  it('a crashed leader (no release) is replaced after leaseDuration, measured on the candidate\'s clock', async () => {
    const mem = new MemoryLease()
    const a = make(mem, 'a', { releaseOnStop: false })
    a.e.start()
    await a.e.waitForLeadership()
    const b = make(mem, 'b')
    b.e.start()
    await tick(200)
    await a.e.stop() // stops renewing, keeps the record
    const t0 = performance.now()
    await b.e.waitForLeadership(AbortSignal.timeout(5000))
    const took = performance.now() - t0
    expect(took).toBeGreaterThan(500)
    expect(took).toBeLessThan(1600)
  })

  it('steps down when renewals fail for renewDeadline — before the lease could expire for others', async () => {
    const mem = new MemoryLease()
    const a = make(mem, 'a')
    let termSignal: AbortSignal | undefined
    a.e.subscribe(l => { if (l) termSignal = a.e.leadershipSignal })
    a.e.start()
    await a.e.waitForLeadership()
    expect(termSignal?.aborted).toBe(false)
    const lastRenew = performance.now()
    a.store.broken = true
    await until(() => !a.e.isLeader(), 'step down', 3000)
    const after = performance.now() - lastRenew
    expect(after).toBeLessThan(1000) // leaseDuration
    expect(termSignal?.aborted).toBe(true)
    expect(a.log).toEqual(['start', 'stop'])
    // Connectivity back: it campaigns again and, being the recorded holder, re-acquires.
    a.store.broken = false
    await a.e.waitForLeadership(AbortSignal.timeout(3000))
  })

  it('a renewal that hangs does not keep it leading past renewDeadline', async () => {
    const mem = new MemoryLease()
    const a = make(mem, 'a')
    a.e.start()
    await a.e.waitForLeadership()
    const t0 = performance.now()
    a.store.hung = true
    await until(() => !a.e.isLeader(), 'step down', 3000)
    expect(performance.now() - t0).toBeLessThan(1000)
    a.store.hung = false
  })

  it('notices a takeover by another replica at the next renewal', async () => {
    const mem = new MemoryLease()
    const a = make(mem, 'a')
    a.e.start()
    await a.e.waitForLeadership()
    // Someone (say, an operator with a skewed view) overwrites the holder.
    mem.lease = { ...mem.lease!, spec: { ...mem.lease!.spec, holderIdentity: 'intruder', renewTime: microTime(Date.now()) }, metadata: { resourceVersion: '999' } }
    await until(() => !a.e.isLeader(), 'lost leadership', 1000)
    expect(a.e.leader).toBe('intruder')
  })

  it('onStartedLeading\'s signal aborts at the end of the term, and its promise is awaited before onStoppedLeading', async () => {
    const mem = new MemoryLease()
    const order: string[] = []
    const { e } = make(mem, 'a', {
      onStartedLeading: async signal => {
        order.push('started')
        await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }) })
        await tick(20)
        order.push('work done')
      },
      onStoppedLeading: () => { order.push('stopped') }
    })
    e.start()
    await e.waitForLeadership()
    await e.stop()
    expect(order).toEqual(['started', 'work done', 'stopped'])
  })

  it('rejects a renewDeadline that is not below leaseDuration', () => {
    const mem = new MemoryLease()
    expect(() => new LeaderElector({ store: mem.view(), leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(RangeError)
  })
})
