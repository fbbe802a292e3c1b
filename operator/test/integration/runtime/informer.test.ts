// The informer against a real kube-apiserver: list+watch, server-side watch timeouts, resync,
// CRDs, a real 410 after the watch cache moved past our resourceVersion, and stall detection.
// Timings observed are printed (grep for "[timing]").
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { KubernetesObject, V1ConfigMap } from '@kubernetes/client-node'
import { Informer, createInformer, type InformerEvent } from '../../../src/runtime/informer.ts'
import { createKubeListWatch, type ListWatch, type WatchEvent } from '../../../src/runtime/list-watch.ts'
import { Applier } from '../../../src/runtime/apply.ts'
import { KubeTransportError, abortReason } from '../../../src/runtime/errors.ts'
import { resourcePath } from '../../../src/runtime/kube-client.ts'
import { kubeClient, createNamespace, deleteNamespace, installWidgetCrd, eventually, tick, CONFIGMAPS, PODTEMPLATES, type Widget } from './helpers.ts'

const timing = (msg: string): void => { process.stderr.write(`[timing] ${msg}\n`) }
const names = (objs: KubernetesObject[]): string[] => objs.map(o => o.metadata?.name ?? '').sort()

describe('Informer against kube-apiserver', () => {
  const client = kubeClient()
  const applier = new Applier({ client })
  const informers: Array<Informer<KubernetesObject>> = []
  let ns = ''
  const track = <T extends KubernetesObject>(i: Informer<T>): Informer<T> => { informers.push(i as unknown as Informer<KubernetesObject>); return i }

  beforeAll(async () => { ns = await createNamespace(client, 'informer') })
  afterAll(async () => {
    await Promise.all(informers.map(async i => { await i.stop() }))
    await deleteNamespace(client, ns)
  })

  const cm = (name: string, data: Record<string, string>, namespace = ns): V1ConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data })
  const serverNames = async (ref = CONFIGMAPS, namespace = ns, selector?: string): Promise<string[]> =>
    names((await client.request<{ items: KubernetesObject[] }>({ method: 'GET', path: resourcePath(ref, { namespace }), query: { labelSelector: selector } })).items)

  it('lists, then delivers adds, updates and deletes; the cache matches the server', async () => {
    for (const n of ['a', 'b', 'c']) await applier.apply(cm(n, { v: '0' }))
    // The controller-manager adds kube-root-ca.crt to every new namespace; let it land in the
    // initial list, or its late add shows up among the events below.
    await eventually(async () => (await serverNames()).includes('kube-root-ca.crt'), { what: 'kube-root-ca.crt in the namespace' })
    const inf = track(createInformer<V1ConfigMap>(client, CONFIGMAPS, { namespace: ns }))
    const events: Array<InformerEvent<V1ConfigMap>> = []
    inf.subscribe(e => events.push(e))
    const t0 = performance.now()
    inf.start()
    await inf.waitForSync(AbortSignal.timeout(10_000))
    timing(`initial list+sync of ${inf.size} configmaps: ${Math.round(performance.now() - t0)} ms (list ${Math.round(inf.stats.lastListMs ?? 0)} ms)`)
    // kube-root-ca.crt is created in every namespace by the controller-manager.
    expect(names(inf.list())).toEqual(await serverNames())
    expect(inf.get(`${ns}/a`)?.kind).toBe('ConfigMap') // list items get their kind filled in

    events.length = 0
    const t1 = performance.now()
    await applier.apply(cm('d', { v: '0' }))
    await applier.apply(cm('a', { v: '1' }))
    await applier.deleteIfExists({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'b' })
    await eventually(async () => events.length >= 3, { what: 'three events' })
    timing(`write→event latency for 3 writes: ${Math.round(performance.now() - t1)} ms total`)
    expect(events.map(e => `${e.type}:${e.object.metadata?.name}`)).toEqual(['add:d', 'update:a', 'delete:b'])
    const upd = events[1]
    expect(upd?.type === 'update' && upd.old.data?.v).toBe('0')
    expect(inf.get(`${ns}/a`)?.data?.v).toBe('1')
    expect(names(inf.list())).toEqual(await serverNames())
  })

  it('survives server-side watch timeouts: resumes from its resourceVersion without relisting or losing a write', async () => {
    const inf = track(createInformer<V1ConfigMap>(client, CONFIGMAPS, { namespace: ns, watchTimeoutSeconds: 1 }))
    const seen: string[] = []
    inf.subscribe(e => { if (e.object.metadata?.name === 'counter' && e.type !== 'delete') seen.push(e.object.data?.n ?? '') })
    inf.start()
    await inf.waitForSync()
    const writes = 120
    const t0 = performance.now()
    for (let i = 1; i <= writes; i++) {
      await applier.apply(cm('counter', { n: String(i) }))
      await tick(40) // ~5 s of writes across several 1–2 s watches
    }
    await eventually(async () => inf.get(`${ns}/counter`)?.data?.n === String(writes), { what: 'last write' })
    const elapsed = (performance.now() - t0) / 1000
    timing(`${inf.stats.watches} watches in ${elapsed.toFixed(1)} s with timeoutSeconds 1–2; lists ${inf.stats.lists}, early closes ${inf.stats.watchFailures}`)
    expect(inf.stats.watches).toBeGreaterThanOrEqual(3)
    expect(inf.stats.lists).toBe(1)
    expect(inf.stats.relistsOnExpired).toBe(0)
    // Every single version was delivered, in order.
    expect(seen.filter(v => v !== '' && Number(v) > 0)).toEqual(Array.from({ length: writes }, (_, i) => String(i + 1)))
  })

  it('resyncs: re-delivers every cached object on its period, never early and never skipping one', async () => {
    const periodMs = 3000
    const inf = track(createInformer<V1ConfigMap>(client, CONFIGMAPS, { namespace: ns, resyncPeriodMs: periodMs }))
    const at: number[] = []
    inf.subscribe(e => { if (e.type === 'update' && e.resync && e.object.metadata?.name === 'a') at.push(performance.now()) })
    inf.start()
    await inf.waitForSync()
    await eventually(async () => at.length >= 4, { what: '4 resyncs', timeoutMs: 30_000 })
    const gaps = at.slice(1).map((t, i) => Math.round(t - at[i]!))
    timing(`resync period ${periodMs} ms → observed gaps ${gaps.join(', ')} ms`)
    // Timers never fire early (50 ms for clock granularity); a busy machine may delay one
    // by seconds, but a gap of two periods would be a skipped resync.
    for (const g of gaps) { expect(g).toBeGreaterThan(periodMs - 50); expect(g).toBeLessThan(2 * periodMs) }
  })

  it('informs on custom resources across all namespaces', async () => {
    const widgets = await installWidgetCrd(client)
    const ns2 = await createNamespace(client, 'informer-b')
    try {
      const inf = track(createInformer<Widget>(client, widgets))
      inf.start()
      await inf.waitForSync()
      await applier.apply<Widget>({ apiVersion: 'test.dawn.dev/v1', kind: 'Widget', metadata: { name: 'w', namespace: ns }, spec: { size: 1 } })
      await applier.apply<Widget>({ apiVersion: 'test.dawn.dev/v1', kind: 'Widget', metadata: { name: 'w', namespace: ns2 }, spec: { size: 2 } })
      await eventually(async () => inf.get(`${ns}/w`) !== undefined && inf.get(`${ns2}/w`) !== undefined, { what: 'both widgets' })
      expect(inf.get(`${ns2}/w`)?.spec?.size).toBe(2)
      await applier.applyStatus<Widget>({ apiVersion: 'test.dawn.dev/v1', kind: 'Widget', metadata: { name: 'w', namespace: ns }, status: { phase: 'Ready' } })
      await eventually(async () => inf.get(`${ns}/w`)?.status?.phase === 'Ready', { what: 'status update' })
    } finally {
      await deleteNamespace(client, ns2)
    }
  })

  it('restarts a watch that goes silent with its connection open, resuming without a relist', async () => {
    // The real stream, frozen by a wrapper that drops every event while keeping the connection
    // open — what a half-open TCP connection or a wedged proxy looks like from here.
    const real = createKubeListWatch<V1ConfigMap>(client, CONFIGMAPS, { namespace: ns })
    let freezeNext = false
    let frozenAt: number | undefined
    const lw: ListWatch<V1ConfigMap> = {
      description: 'freezable configmaps',
      list: real.list,
      async watch (opts) {
        const stream = await real.watch(opts)
        if (!freezeNext) return stream
        freezeNext = false
        frozenAt = performance.now()
        const silent: AsyncIterable<WatchEvent<V1ConfigMap>> = {
          [Symbol.asyncIterator]: () => ({
            next: async (): Promise<IteratorResult<WatchEvent<V1ConfigMap>>> => {
              for await (const _ of stream) { /* dropped */ }
              // Half-open: even the server's close never arrives. Silent until the informer gives up on it.
              if (!opts.signal.aborted) await new Promise(resolve => { opts.signal.addEventListener('abort', resolve, { once: true }) })
              throw abortReason(opts.signal)
            }
          })
        }
        return silent
      }
    }
    // Heartbeats come every 300 ms; a busy machine may hold one back by seconds without a stall.
    const stallMs = 4000
    // Short server-side watches (2–4 s) so that a new watch, the frozen one, comes along soon.
    const inf = track(new Informer<V1ConfigMap>({ listWatch: lw, stallTimeoutMs: stallMs, watchTimeoutSeconds: 2, backoff: { baseMs: 50 } }))
    inf.start()
    await inf.waitForSync()
    // Heartbeat writes keep healthy watches busy (a real quiet watch gets a bookmark a minute).
    const beat = { on: true, delivered: 0 }
    inf.subscribe(e => { if (e.object.metadata?.name === 'hb') beat.delivered++ })
    const heartbeat = (async () => {
      for (let i = 0; beat.on; i++) { await applier.apply(cm('hb', { i: String(i) })); await tick(300) }
    })()
    try {
      // Healthy watches end on the server's timeout and are replaced; heartbeats arrive across them.
      await eventually(async () => inf.stats.watches >= 3 && beat.delivered >= 10, {
        what: 'three watches and ten heartbeats', timeoutMs: 30_000, detail: async () => `watches ${inf.stats.watches}, heartbeats ${beat.delivered}`
      })
      expect(inf.stats.stalls).toBe(0) // events are liveness: no false alarm across server closes

      freezeNext = true
      await eventually(async () => frozenAt !== undefined, { what: 'the frozen watch to open', timeoutMs: 30_000 })
      await applier.apply(cm('stall', { v: '1' }))
      await eventually(async () => inf.get(`${ns}/stall`)?.data?.v === '1', { what: 'write after the frozen watch was restarted', timeoutMs: 30_000 })
      const healed = performance.now() - frozenAt!
      timing(`frozen watch restarted and caught up ${Math.round(healed)} ms after it opened (stallTimeoutMs ${stallMs}); stalls ${inf.stats.stalls}, watches ${inf.stats.watches}, lists ${inf.stats.lists}`)
      expect(inf.stats.stalls).toBe(1)
      expect(healed).toBeGreaterThanOrEqual(stallMs - 50)
      expect(inf.stats.lists).toBe(1) // resumed from its resourceVersion
    } finally {
      beat.on = false
      await heartbeat
    }
  })

  it('relists after a real 410 once the apiserver\'s watch cache has moved past its resourceVersion, delivering what it missed', async () => {
    // A partition: while `blocked`, watches fail to connect and the open one is cut.
    const real = createKubeListWatch<KubernetesObject>(client, PODTEMPLATES, { namespace: ns })
    let blocked = false
    const cut = new Set<AbortController>()
    const lw: ListWatch<KubernetesObject> = {
      description: 'partitionable podtemplates',
      list: real.list,
      async watch (opts) {
        if (blocked) throw new KubeTransportError('GET', 'watch', new Error('ENETUNREACH (simulated partition)'))
        const ac = new AbortController()
        cut.add(ac)
        const signal = AbortSignal.any([opts.signal, ac.signal])
        return await real.watch({ ...opts, signal })
      }
    }
    const pt = (name: string, v: string): KubernetesObject & { template: unknown } => ({
      apiVersion: 'v1', kind: 'PodTemplate', metadata: { name, namespace: ns, labels: { v } },
      template: { spec: { containers: [{ name: 'c', image: 'example.invalid/none:0' }] } }
    })
    for (const n of ['keep', 'change', 'drop']) await applier.apply(pt(n, '0'))
    const inf = track(new Informer<KubernetesObject>({ listWatch: lw, backoff: { baseMs: 200, capMs: 1000 } }))
    const events: string[] = []
    inf.subscribe(e => { if (e.object.metadata?.name !== 'churn') events.push(`${e.type}:${e.object.metadata?.name}${e.type === 'delete' && e.finalStateUnknown ? ':unknown' : ''}`) })
    inf.start()
    await inf.waitForSync()
    await eventually(async () => inf.stats.watches >= 1, { what: 'watch' })
    events.length = 0

    blocked = true
    for (const ac of cut) ac.abort(new Error('partition'))
    const lastSeenRv = inf.resourceVersion
    await applier.apply(pt('change', '1'))
    await applier.apply(pt('new', '1'))
    await applier.deleteIfExists({ apiVersion: 'v1', kind: 'PodTemplate', namespace: ns, name: 'drop' })

    // The apiserver's watch cache keeps every event for at least 75 s (growing its buffer while
    // they are younger) and evicts the oldest only when the buffer is full. So: write slowly
    // for 75 s (the buffer stays small), then fast until a watch from our resourceVersion is
    // answered with 410 Expired.
    const t0 = performance.now()
    let churned = 0
    let expiredAfter: number | undefined
    while (expiredAfter === undefined) {
      const batch = performance.now() - t0 < 74_000 ? 1 : 40
      for (let i = 0; i < batch; i++) await applier.apply(pt('churn', String(++churned)))
      const { lines } = await client.stream({ method: 'GET', path: resourcePath(PODTEMPLATES, { namespace: ns }), query: { watch: true, resourceVersion: lastSeenRv, timeoutSeconds: 1 } })
      for await (const line of lines) {
        if (line.includes('"type":"ERROR"') && line.includes('"code":410')) expiredAfter = performance.now() - t0
        break
      }
      if (performance.now() - t0 > 170_000) throw new Error(`no 410 after ${churned} writes`)
      await tick(1000)
    }
    timing(`apiserver answered 410 for a resourceVersion ${Math.round(expiredAfter / 1000)} s old, after ${churned} later writes to the resource`)

    const t1 = performance.now()
    blocked = false
    await eventually(async () => inf.stats.relistsOnExpired >= 1 && inf.get(`${ns}/new`) !== undefined, { what: 'relist after 410', timeoutMs: 15_000 })
    timing(`partition healed → 410 → relist done in ${Math.round(performance.now() - t1)} ms (list ${Math.round(inf.stats.lastListMs ?? 0)} ms)`)
    expect(events.sort()).toEqual(['add:new', 'delete:drop:unknown', 'update:change'])
    expect(names(inf.list())).toEqual(await serverNames(PODTEMPLATES))
    expect(inf.stats.lists).toBe(2)
  })
})
