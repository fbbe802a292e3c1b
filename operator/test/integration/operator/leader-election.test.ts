// Two dawn-operator processes with Lease-based leader election (short lease): only the leader
// reconciles; when it is SIGKILLed the other takes over and reconciles what changes next.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { V1Lease } from '@kubernetes/client-node'
import {
  applyCrds, clients, createNamespace, Dawn, deleteNamespace, eventually, gauge, killAll, networkManifest, poolManifest,
  printLogsOnFailure, reconcileCount, spawnOperator, type OperatorProcess
} from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
let ns = ''
const procs: OperatorProcess[] = []
const LEASE = 'dawn-operator-test'

beforeAll(async () => {
  await applyCrds(c)
  ns = await createNamespace(c, 'op-leader')
})
afterAll(async () => {
  await killAll(procs)
  await deleteNamespace(c, ns)
})
printLogsOnFailure(() => procs.map(p => ({ name: p.name, lines: p.lines })))

function start (id: string, extra: string[] = []): OperatorProcess {
  const p = spawnOperator(id, [
    '--namespace', ns, '--leader-elect', 'true', '--lease-namespace', ns, '--lease-name', LEASE, '--id', id,
    // Short enough for a takeover within the test, long enough that a busy machine (a renewal
    // stalled by seconds) does not make the leader step down.
    '--lease-duration', '8s', '--renew-deadline', '6s', '--retry-period', '500ms', '--metrics-port', '0', ...extra
  ])
  procs.push(p)
  return p
}

async function lease (): Promise<V1Lease | undefined> {
  return await c.coordination.readNamespacedLease({ namespace: ns, name: LEASE }).catch(() => undefined)
}

/** A follower never reconciles and never claims leadership; checked on every poll of a wait. */
async function expectIdle (p: OperatorProcess): Promise<void> {
  const text = await p.metrics()
  expect(reconcileCount(text), `${p.name} reconciles`).toBe(0)
  expect(gauge(text, 'dawn_operator_is_leader'), `${p.name} is_leader`).toBe(0)
}

async function settled (name: string, replicas: number, watchIdle?: OperatorProcess): Promise<void> {
  await eventually(async () => {
    if (watchIdle !== undefined) await expectIdle(watchIdle)
    const p = await dawn.get('DawnNode', ns, name)
    return p.status?.observedGeneration === p.metadata.generation && p.status?.peers?.length === replicas
  }, { what: `pool ${name} at ${replicas} peers`, timeoutMs: 30_000 })
  await eventually(async () => (await c.apps.readNamespacedStatefulSet({ namespace: ns, name }).catch(() => undefined))?.spec?.replicas === replicas,
    { what: `StatefulSet ${name} at ${replicas}` })
}

describe('two dawn-operator processes with leader election', () => {
  it('only the leader writes; after the leader is killed the other takes over and reconciles a new change', async () => {
    await dawn.create(networkManifest(ns, 'le-net'))
    const a = start('op-a')
    await eventually(async () => (await lease())?.spec?.holderIdentity === 'op-a', { what: 'op-a to take the Lease', timeoutMs: 30_000 })
    await eventually(async () => gauge(await a.metrics(), 'dawn_operator_is_leader') === 1, { what: 'op-a is_leader 1' })
    // Debug logs: b says when it reads the Lease and finds another holder.
    const b = start('op-b', ['--log-level', 'debug'])
    // b is up (informers synced: ready), has read the Lease and defers to op-a.
    await eventually(async () => (await fetch(`http://127.0.0.1:${await b.metricsPort()}/readyz`)).status === 200, { what: 'op-b ready', timeoutMs: 30_000 })
    await eventually(async () => b.lines.some(l => l.includes('"msg":"observed leader"') && l.includes('"leader":"op-a"')),
      { what: 'op-b to observe op-a as leader', detail: async () => b.lines.slice(-20).join('\n') })
    await expectIdle(b)

    await dawn.create(poolManifest(ns, 'first', 'le-net', { replicas: 2 }))
    await settled('first', 2, b)
    const l1 = await lease()
    expect(l1?.spec?.holderIdentity).toBe('op-a')
    expect(l1?.spec?.leaseDurationSeconds).toBe(8)
    expect(reconcileCount(await a.metrics(), 'DawnNode')).toBeGreaterThan(0)
    // What the leader wrote, it wrote by server-side apply as dawn-operator; nobody else touched it.
    const sts = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'first' })
    expect(sts.metadata?.managedFields?.filter(f => f.operation === 'Apply').map(f => f.manager)).toEqual(['dawn-operator'])
    expect(sts.metadata?.managedFields?.every(f => f.manager === 'dawn-operator' || f.manager === 'kube-controller-manager')).toBe(true)
    // Two more renewals by op-a with b polling the Lease all along: b still does nothing.
    let renewals = 0
    let renewTime = l1?.spec?.renewTime
    await eventually(async () => {
      await expectIdle(b)
      const now = (await lease())?.spec
      expect(now?.holderIdentity).toBe('op-a')
      if (now?.renewTime !== renewTime) { renewals++; renewTime = now?.renewTime }
      return renewals >= 2
    }, { what: 'two more renewals by op-a', timeoutMs: 20_000 })
    await expectIdle(b)
    const transitions = l1?.spec?.leaseTransitions ?? 0

    // The leader dies without releasing the Lease.
    a.kill('SIGKILL')
    expect(await a.exited).toBe('SIGKILL')
    expect((await lease())?.spec?.holderIdentity).toBe('op-a')
    const t0 = performance.now()
    await eventually(async () => (await lease())?.spec?.holderIdentity === 'op-b', { what: 'op-b to take over the Lease', timeoutMs: 30_000 })
    const tookMs = Math.round(performance.now() - t0)
    expect((await lease())?.spec?.leaseTransitions).toBe(transitions + 1)
    await eventually(async () => gauge(await b.metrics(), 'dawn_operator_is_leader') === 1, { what: 'op-b is_leader 1' })

    // A change after the takeover is reconciled by op-b.
    await dawn.scale(ns, 'first', 3)
    await dawn.create(poolManifest(ns, 'second', 'le-net', { replicas: 1 }))
    await settled('first', 3)
    await settled('second', 1)
    expect(reconcileCount(await b.metrics(), 'DawnNode')).toBeGreaterThan(0)
    process.stderr.write(`[leader-election] op-b took over ${tookMs} ms after op-a was killed (lease 8 s)\n`)

    // A graceful stop releases the Lease for the next replica.
    b.kill('SIGTERM')
    expect(await b.exited).toBe(0)
    expect((await lease())?.spec?.holderIdentity ?? '').toBe('')
  })
})
