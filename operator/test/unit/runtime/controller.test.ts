import { describe, it, expect, afterEach } from 'vitest'
import type { KubernetesObject } from '@kubernetes/client-node'
import { Controller, watch, ownerKeys, labelKey, specChanged } from '../../../src/runtime/controller.ts'
import { Informer, type InformerEvent } from '../../../src/runtime/informer.ts'
import { Manager, runWhenLeader } from '../../../src/runtime/manager.ts'
import { LeaderElector, type Lease, type LeaseStore } from '../../../src/runtime/leader-election.ts'
import { OperatorMetrics } from '../../../src/runtime/metrics.ts'
import { KubeApiError } from '../../../src/runtime/errors.ts'
import { FakeListWatch, type Obj } from './fake-list-watch.ts'

const tick = async (ms = 0): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }
async function until (cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await tick(2)
  }
}

const fastInformer = (lw: FakeListWatch): Informer<Obj> => new Informer<Obj>({ listWatch: lw, resyncPeriodMs: 0, backoff: { baseMs: 5, capMs: 20 } })

describe('key mappers', () => {
  const child = (refs: Array<{ apiVersion: string, kind: string, name: string, controller?: boolean }>, ns = 'ns'): KubernetesObject => ({
    metadata: { name: 'c', namespace: ns, ownerReferences: refs.map(r => ({ ...r, uid: 'u' })) }
  })
  it('ownerKeys picks owners of the kind and group, any version', () => {
    const m = ownerKeys({ group: 'mesh.dawn.dev', kind: 'DawnNode' })
    expect([...m(child([{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', name: 'n1' }, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 's' }, { apiVersion: 'other.dev/v1', kind: 'DawnNode', name: 'x' }]))]).toEqual(['ns/n1'])
    const ctl = ownerKeys({ group: 'mesh.dawn.dev', kind: 'DawnNode' }, { controllerOnly: true })
    expect([...ctl(child([{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', name: 'n1' }, { apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', name: 'n2', controller: true }]))]).toEqual(['ns/n2'])
    expect([...ownerKeys({ group: '', kind: 'Namespace' })({ metadata: { name: 'x', ownerReferences: [{ apiVersion: 'v1', kind: 'Namespace', name: 'top', uid: 'u' }] } })]).toEqual(['top'])
  })
  it('labelKey maps a label value to a key in the object\'s namespace', () => {
    const m = labelKey('mesh.dawn.dev/network')
    expect([...m({ metadata: { name: 'a', namespace: 'ns', labels: { 'mesh.dawn.dev/network': 'net1' } } })]).toEqual(['ns/net1'])
    expect([...m({ metadata: { name: 'a', namespace: 'ns' } })]).toEqual([])
  })
  it('specChanged ignores status-only updates but never resyncs, adds or deletes', () => {
    const o = (gen: number, status: string): KubernetesObject & { status: string } => ({ metadata: { name: 'x', generation: gen }, status })
    const upd = (a: KubernetesObject, b: KubernetesObject, resync = false): InformerEvent<KubernetesObject> => ({ type: 'update', old: a, object: b, resync })
    expect(specChanged(upd(o(1, 'a'), o(1, 'b')))).toBe(false)
    expect(specChanged(upd(o(1, 'a'), o(2, 'a')))).toBe(true)
    expect(specChanged(upd(o(1, 'a'), o(1, 'a'), true))).toBe(true)
    expect(specChanged({ type: 'add', object: o(1, 'a') })).toBe(true)
  })
})

describe('Controller', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c() })

  function setup (opts: { initial?: string[], reconcile?: (key: string, signal: AbortSignal) => Promise<{ requeueAfterMs?: number } | undefined> } = {}): {
    parents: FakeListWatch, children: FakeListWatch, controller: Controller<Obj>, reconciled: string[], metrics: OperatorMetrics
  } {
    const parents = new FakeListWatch()
    for (const n of opts.initial ?? []) parents.upsert(n)
    const children = new FakeListWatch()
    const pInf = fastInformer(parents)
    const cInf = fastInformer(children)
    pInf.start(); cInf.start()
    const reconciled: string[] = []
    const metrics = new OperatorMetrics({ defaultMetrics: false })
    const controller = new Controller<Obj>({
      name: 'Parent',
      primary: pInf,
      watches: [watch(cInf, obj => obj.metadata?.labels?.parent !== undefined ? [`${obj.metadata.namespace}/${obj.metadata.labels.parent}`] : [])],
      reconcile: opts.reconcile ?? (async (key) => { reconciled.push(key); return undefined }),
      backoff: { baseMs: 10, capMs: 50 },
      metrics
    })
    cleanup.push(async () => { await controller.stop(); await pInf.stop(); await cInf.stop() })
    return { parents, children, controller, reconciled, metrics }
  }

  it('start() waits for sync, then reconciles every existing primary once', async () => {
    const { controller, reconciled } = setup({ initial: ['p1', 'p2'] })
    await controller.start(AbortSignal.timeout(2000))
    await controller.queue.onIdle()
    expect(reconciled.sort()).toEqual(['default/p1', 'default/p2'])
  })

  it('maps primary and watched events to primary keys; a child changing parent wakes both', async () => {
    const { parents, children, controller, reconciled } = setup()
    parents.upsert('p1'); parents.upsert('p2')
    await controller.start()
    await controller.queue.onIdle()
    reconciled.length = 0
    children.upsert('c1', {}, 'default', { parent: 'p1' })
    await until(() => reconciled.includes('default/p1'), 'p1 from its child')
    await controller.queue.onIdle()
    reconciled.length = 0
    children.upsert('c1', {}, 'default', { parent: 'p2' })
    await until(() => reconciled.includes('default/p1') && reconciled.includes('default/p2'), 'old and new parent')
    await controller.queue.onIdle()
    reconciled.length = 0
    parents.upsert('p2', { changed: 'yes' })
    await until(() => reconciled.includes('default/p2'), 'p2 from its own update')
  })

  it('a failing reconcile is retried with backoff until it succeeds; metrics count each result', async () => {
    let failures = 2
    const { parents, controller, metrics } = setup({
      reconcile: async () => {
        if (failures-- > 0) throw new KubeApiError({ status: 500, message: 'boom' })
        return undefined
      }
    })
    parents.upsert('p')
    await controller.start()
    await until(() => failures < 0, 'third attempt')
    await controller.queue.onIdle()
    const text = await metrics.text()
    expect(text).toContain('dawn_operator_reconcile_total{kind="Parent",result="error"} 2')
    expect(text).toContain('dawn_operator_reconcile_total{kind="Parent",result="success"} 1')
    expect(text).toContain('dawn_operator_reconcile_errors_total{kind="Parent"} 2')
    expect(text).toMatch(/dawn_operator_reconcile_duration_seconds_count\{kind="Parent"\} 3/)
  })

  it('stop() aborts in-flight reconciles and stops reacting to events', async () => {
    let aborted = false
    const started: string[] = []
    const { parents, controller } = setup({
      reconcile: async (key, signal) => {
        started.push(key)
        await new Promise<void>(resolve => { signal.addEventListener('abort', () => { aborted = true; resolve() }) })
        return undefined
      }
    })
    parents.upsert('p')
    await controller.start()
    await until(() => started.length === 1, 'reconcile to start')
    await controller.stop()
    expect(aborted).toBe(true)
    parents.upsert('p', { again: '1' })
    await tick(50)
    expect(started).toHaveLength(1)
  })
})

/** A shared in-memory Lease for two electors. */
function memoryLeaseStore (): () => LeaseStore {
  let lease: Lease | undefined
  let rv = 0
  return () => ({
    description: 'memory',
    get: async () => lease === undefined ? undefined : structuredClone(lease),
    create: async (l) => {
      if (lease !== undefined) throw new KubeApiError({ status: 409, reason: 'AlreadyExists' })
      lease = { ...structuredClone(l), metadata: { resourceVersion: String(++rv) } }
      return structuredClone(lease)
    },
    update: async (l) => {
      if (lease?.metadata?.resourceVersion !== l.metadata?.resourceVersion) throw new KubeApiError({ status: 409, reason: 'Conflict' })
      lease = { ...structuredClone(l), metadata: { resourceVersion: String(++rv) } }
      return structuredClone(lease)
    }
  })
}

describe('Manager and runWhenLeader', () => {
  it('controllers run only on the leader; stopping the leader hands the work over', async () => {
    const store = memoryLeaseStore()
    const lw = new FakeListWatch()
    lw.upsert('p1')
    const mk = (id: string): { m: Manager, reconciled: string[], e: LeaderElector, inf: Informer<Obj> } => {
      const inf = fastInformer(lw)
      const reconciled: string[] = []
      const c = new Controller<Obj>({ name: 'P', primary: inf, reconcile: async key => { reconciled.push(key); return undefined } })
      const e = new LeaderElector({ store: store(), identity: id, leaseDurationMs: 1000, renewDeadlineMs: 600, renewIntervalMs: 100, retryPeriodMs: 50 })
      return { m: new Manager({ controllers: [c], elector: e, shutdownGraceMs: 100 }), reconciled, e, inf }
    }
    const a = mk('a')
    const b = mk('b')
    await a.m.start()
    await a.e.waitForLeadership()
    await b.m.start()
    await until(() => a.reconciled.length === 1, 'a reconciles')
    // b runs its informer (warm cache) but not its controller.
    await until(() => b.inf.hasSynced(), 'b synced')
    lw.upsert('p2')
    await until(() => a.reconciled.includes('default/p2'), 'a reconciles p2')
    expect(b.reconciled).toEqual([])
    await a.m.stop()
    await b.e.waitForLeadership(AbortSignal.timeout(2000))
    await until(() => b.reconciled.length === 2, 'b reconciles everything after takeover')
    expect(b.reconciled.sort()).toEqual(['default/p1', 'default/p2'])
    await b.m.stop()
  })

  it('runWhenLeader stops the runnable when leadership is lost and starts it again when regained', async () => {
    const store = memoryLeaseStore()()
    let broken = false
    const flaky: LeaseStore = {
      description: 'flaky',
      get: async (s) => { if (broken) throw new Error('ECONNREFUSED'); return await store.get(s) },
      create: async (l, s) => await store.create(l, s),
      update: async (l, s) => { if (broken) throw new Error('ECONNREFUSED'); return await store.update(l, s) }
    }
    const e = new LeaderElector({ store: flaky, identity: 'x', leaseDurationMs: 1000, renewDeadlineMs: 300, renewIntervalMs: 50, retryPeriodMs: 50 })
    const log: string[] = []
    const detach = runWhenLeader(e, {
      name: 'r',
      start: async (signal) => { log.push('start'); signal?.addEventListener('abort', () => log.push('signal aborted')) },
      stop: async () => { log.push('stop') }
    })
    e.start()
    await until(() => log.includes('start'), 'start')
    broken = true
    await until(() => log.includes('stop'), 'stop after losing leadership')
    broken = false
    await until(() => log.filter(l => l === 'start').length === 2, 'second start')
    await detach()
    await e.stop()
    // detach() stops it while still leading; the term's signal aborts only when the elector stops.
    expect(log).toEqual(['start', 'signal aborted', 'stop', 'start', 'stop', 'signal aborted'])
  })
})
