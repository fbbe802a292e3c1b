// Lease-based leader election against a real kube-apiserver.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { LeaderElector, type Lease } from '../../../src/runtime/leader-election.ts'
import { createLogger } from '../../../src/runtime/logger.ts'
import { kubeClient, createNamespace, deleteNamespace, eventually, tick } from './helpers.ts'

const timing = (msg: string): void => { process.stderr.write(`[timing] ${msg}\n`) }

describe('LeaderElector against kube-apiserver', () => {
  const client = kubeClient()
  let ns = ''
  const electors: LeaderElector[] = []
  beforeAll(async () => { ns = await createNamespace(client, 'lease') })
  afterAll(async () => {
    await Promise.all(electors.map(async e => { await e.stop() }))
    await deleteNamespace(client, ns)
  })

  const readLease = async (name: string): Promise<Lease> =>
    await client.request<Lease>({ method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}` })

  const logLines: string[] = []
  /** `startedAt`: wall-clock ms when this candidate became leader (the Lease's times are wall clock). */
  interface Candidate { e: LeaderElector, log: string[], startedAt?: number }
  const make = (lease: string, identity: string, extra: { releaseOnStop?: boolean } = {}): Candidate => {
    const seen: Omit<Candidate, 'e'> = { log: [] }
    const e = new LeaderElector({
      logger: createLogger({ level: 'debug', write: l => logLines.push(`${Math.round(performance.now())} ${l.trim()}`) }),
      client, namespace: ns, name: lease, identity,
      // A busy machine can stall a renewal by seconds: the leader steps down only after 6 s without one.
      leaseDurationMs: 8000, renewDeadlineMs: 6000, retryPeriodMs: 500,
      onStartedLeading: () => { seen.log.push('started'); seen.startedAt = Date.now() },
      onStoppedLeading: () => { seen.log.push('stopped') },
      ...extra
    })
    electors.push(e)
    return Object.assign(seen, { e })
  }

  it('two candidates on one Lease: exactly one leads; stopping it hands over quickly (released lease)', async () => {
    const a = make('op-lock', 'replica-a')
    const b = make('op-lock', 'replica-b')
    a.e.start()
    b.e.start()
    await eventually(async () => a.e.isLeader() || b.e.isLeader(), { what: 'a leader' })
    // Watch it for a few renewals: never two leaders, never a change of leader.
    const first = a.e.isLeader() ? a : b
    const second = first === a ? b : a
    const renewedAt = (await readLease('op-lock')).spec?.renewTime
    for (let i = 0; i < 20; i++) {
      expect([a.e.isLeader(), b.e.isLeader()].filter(Boolean)).toHaveLength(1)
      expect(first.e.isLeader()).toBe(true)
      await tick(200)
    }
    const lease = await readLease('op-lock')
    expect(lease.spec?.renewTime, 'the leader renewed while we watched').not.toBe(renewedAt)
    expect(lease.spec?.holderIdentity).toBe(first.e.identity)
    expect(lease.spec?.leaseDurationSeconds).toBe(8)
    expect(lease.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    expect(second.e.leader).toBe(first.e.identity)

    const t0 = performance.now()
    await first.e.stop()
    expect(first.log, JSON.stringify(logLines)).toEqual(['started', 'stopped'])
    expect((await readLease('op-lock')).spec?.holderIdentity).not.toBe(first.e.identity)
    await second.e.waitForLeadership(AbortSignal.timeout(30_000))
    const took = performance.now() - t0
    timing(`released lease taken over after ${Math.round(took)} ms (retryPeriod 500 ms, leaseDuration 8000 ms)`)
    // Without the release the successor would wait out the lease (8 s after the last
    // renewal); with it, its next retry (500 ms) wins. 6 s leaves room for a busy machine.
    expect(took).toBeLessThan(6000)
    const after = await readLease('op-lock')
    expect(after.spec?.holderIdentity).toBe(second.e.identity)
    expect(after.spec?.leaseTransitions).toBe(1)
  })

  it('a leader that dies without releasing is replaced once the lease expires, never before', async () => {
    const a = make('crash-lock', 'replica-a', { releaseOnStop: false })
    a.e.start()
    await a.e.waitForLeadership(AbortSignal.timeout(10_000))
    const b = make('crash-lock', 'replica-b')
    b.e.start()
    // b has read the Lease and deferred to its holder (it keeps polling every retry period).
    await eventually(async () => b.e.leader === 'replica-a', { what: 'replica-b to observe replica-a as leader' })
    expect(b.e.isLeader()).toBe(false)
    const t0 = performance.now()
    await a.e.stop() // like a crash: the Lease still names replica-a
    const last = (await readLease('crash-lock')).spec
    expect(last?.holderIdentity).toBe('replica-a')
    await b.e.waitForLeadership(AbortSignal.timeout(30_000))
    const took = performance.now() - t0
    timing(`unreleased lease taken over after ${Math.round(took)} ms (leaseDuration 8000 ms, retryPeriod 500 ms)`)
    // Never before the lease expired: b took over at least leaseDuration after replica-a's
    // last renewal (the Lease records it in wall-clock time, the clock startedAt reads;
    // 50 ms for the microsecond-to-millisecond rounding).
    const expiry = Date.parse(last?.renewTime ?? '') + 8000
    expect(b.startedAt).toBeDefined()
    expect(b.startedAt!).toBeGreaterThanOrEqual(expiry - 50)
    // And without waiting for more than the lease: at the latest a few seconds after it ran out.
    expect(b.startedAt! - expiry).toBeLessThan(5000)
  })

  it('many candidates: one leader at a time through a series of hand-overs', async () => {
    const cs = ['r1', 'r2', 'r3'].map(id => make('many-lock', id))
    for (const c of cs) c.e.start()
    const leaders: string[] = []
    for (let round = 0; round < 3; round++) {
      await eventually(async () => cs.some(c => c.e.isLeader()), { what: `leader in round ${round}` })
      const now = cs.filter(c => c.e.isLeader())
      expect(now).toHaveLength(1)
      leaders.push(now[0]!.e.identity)
      await now[0]!.e.stop()
    }
    expect(new Set(leaders).size).toBe(3)
  })
})
