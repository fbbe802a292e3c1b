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
  const make = (lease: string, identity: string, extra: { releaseOnStop?: boolean } = {}): { e: LeaderElector, log: string[] } => {
    const log: string[] = []
    const e = new LeaderElector({
      logger: createLogger({ level: 'debug', write: l => logLines.push(`${Math.round(performance.now())} ${l.trim()}`) }),
      client, namespace: ns, name: lease, identity,
      leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500,
      onStartedLeading: () => { log.push('started') },
      onStoppedLeading: () => { log.push('stopped') },
      ...extra
    })
    electors.push(e)
    return { e, log }
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
    for (let i = 0; i < 20; i++) {
      expect([a.e.isLeader(), b.e.isLeader()].filter(Boolean)).toHaveLength(1)
      expect(first.e.isLeader()).toBe(true)
      await tick(200)
    }
    const lease = await readLease('op-lock')
    expect(lease.spec?.holderIdentity).toBe(first.e.identity)
    expect(lease.spec?.leaseDurationSeconds).toBe(4)
    expect(lease.spec?.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/)
    expect(second.e.leader).toBe(first.e.identity)

    const t0 = performance.now()
    await first.e.stop()
    expect(first.log, JSON.stringify(logLines)).toEqual(['started', 'stopped'])
    expect((await readLease('op-lock')).spec?.holderIdentity).not.toBe(first.e.identity)
    await second.e.waitForLeadership(AbortSignal.timeout(4000))
    const took = performance.now() - t0
    timing(`released lease taken over after ${Math.round(took)} ms (retryPeriod 500 ms, leaseDuration 4000 ms)`)
    expect(took).toBeLessThan(4000)
    const after = await readLease('op-lock')
    expect(after.spec?.holderIdentity).toBe(second.e.identity)
    expect(after.spec?.leaseTransitions).toBe(1)
  })

  it('a leader that dies without releasing is replaced once the lease expires', async () => {
    const a = make('crash-lock', 'replica-a', { releaseOnStop: false })
    a.e.start()
    await a.e.waitForLeadership(AbortSignal.timeout(10_000))
    const b = make('crash-lock', 'replica-b')
    b.e.start()
    await tick(1000)
    expect(b.e.isLeader()).toBe(false)
    const t0 = performance.now()
    await a.e.stop() // like a crash: the Lease still names replica-a
    expect((await readLease('crash-lock')).spec?.holderIdentity).toBe('replica-a')
    await b.e.waitForLeadership(AbortSignal.timeout(10_000))
    const took = performance.now() - t0
    timing(`unreleased lease taken over after ${Math.round(took)} ms (leaseDuration 4000 ms, retryPeriod 500 ms)`)
    // Not before the lease (as b last saw it renewed) expired, and soon after.
    expect(took).toBeGreaterThan(2500)
    expect(took).toBeLessThan(4000 + 1500)
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
