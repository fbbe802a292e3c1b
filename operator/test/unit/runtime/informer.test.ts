import { describe, it, expect, afterEach } from 'vitest'
import { Informer, type InformerEvent } from '../../../src/runtime/informer.ts'
import { KubeApiError, NotStartedError } from '../../../src/runtime/errors.ts'
import { FakeListWatch, gone, type Obj } from './fake-list-watch.ts'

const tick = async (ms = 0): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }
async function until (cond: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await tick(2)
  }
}

const summary = (e: InformerEvent<Obj>): string =>
  `${e.type}:${e.object.metadata?.name}${e.type === 'update' && e.resync ? ':resync' : ''}${e.type === 'delete' && e.finalStateUnknown ? ':unknown' : ''}`

describe('Informer (fake list/watch)', () => {
  const informers: Array<Informer<Obj>> = []
  const make = (lw: FakeListWatch, init: Partial<ConstructorParameters<typeof Informer<Obj>>[0]> = {}): { inf: Informer<Obj>, events: Array<InformerEvent<Obj>> } => {
    const inf = new Informer<Obj>({ listWatch: lw, resyncPeriodMs: 0, backoff: { baseMs: 10, capMs: 200, jitter: 0 }, random: () => 0, ...init })
    const events: Array<InformerEvent<Obj>> = []
    inf.subscribe(e => events.push(e))
    informers.push(inf)
    return { inf, events }
  }
  afterEach(async () => { await Promise.all(informers.splice(0).map(async i => { await i.stop() })) })

  it('lists, then watches from the list\'s resourceVersion; cache keyed namespace/name', async () => {
    const lw = new FakeListWatch()
    lw.upsert('a', { v: '1' })
    lw.upsert('b', { v: '1' }, 'other')
    const { inf, events } = make(lw)
    expect(inf.hasSynced()).toBe(false)
    inf.start()
    await inf.waitForSync()
    expect(inf.hasSynced()).toBe(true)
    expect(inf.keys().sort()).toEqual(['default/a', 'other/b'])
    expect(inf.list({ namespace: 'other' }).map(o => o.metadata?.name)).toEqual(['b'])
    await until(() => lw.openStreams === 1, 'watch')
    expect(lw.streams[0]!.rv).toBe(inf.resourceVersion)

    lw.upsert('c')
    lw.upsert('a', { v: '2' })
    lw.remove('b', 'other')
    await until(() => events.length === 5, 'events')
    expect(events.map(summary)).toEqual(['add:a', 'add:b', 'add:c', 'update:a', 'delete:b'])
    const upd = events[3]!
    expect(upd.type === 'update' && upd.old.data?.v).toBe('1')
    expect(inf.get('default/a')?.data?.v).toBe('2')
    expect(inf.getByName('other', 'b')).toBeUndefined()
    expect(inf.stats.lists).toBe(1)
  })

  it('relists on a 410 Expired ERROR event, delivering what it missed (deletes as finalStateUnknown)', async () => {
    const lw = new FakeListWatch()
    lw.upsert('keep'); lw.upsert('change', { v: '1' }); lw.upsert('drop')
    const { inf, events } = make(lw)
    inf.start()
    await inf.waitForSync()
    await until(() => lw.openStreams === 1, 'watch')
    events.length = 0

    // Changes the watch never delivered, then the server forgets the history and says 410.
    lw.breakAll()
    lw.watchFailures.push(new Error('ECONNREFUSED'))
    lw.silentlyUpsert('change', { v: '2' })
    lw.silentlyUpsert('new')
    const fake = lw as unknown as { store: Map<string, Obj> }
    fake.store.delete('default/drop')
    lw.compact()

    await until(() => inf.stats.relistsOnExpired === 1 && lw.openStreams === 1, 'relist after 410')
    expect(events.map(summary).sort()).toEqual(['add:new', 'delete:drop:unknown', 'update:change'])
    expect(inf.keys().sort()).toEqual(['default/change', 'default/keep', 'default/new'])
    expect(inf.stats.lists).toBe(2)
    // Resumed from the relist's resourceVersion.
    expect(lw.streams.at(-1)!.rv).toBe(inf.resourceVersion)
  })

  it('relists when the watch request itself is answered 410', async () => {
    const lw = new FakeListWatch()
    lw.upsert('a')
    const { inf } = make(lw)
    lw.watchFailures.push(gone())
    inf.start()
    await until(() => inf.stats.lists === 2 && lw.openStreams === 1, 'second list')
    expect(inf.stats.relistsOnExpired).toBe(1)
  })

  it('reconnects after watch errors with exponential backoff, resuming from the last resourceVersion without relisting', async () => {
    const lw = new FakeListWatch()
    lw.upsert('a')
    const { inf, events } = make(lw, { backoff: { baseMs: 40, capMs: 1000, jitter: 0 } })
    inf.start()
    await inf.waitForSync()
    await until(() => lw.openStreams === 1, 'watch')
    lw.upsert('b')
    await until(() => events.length === 2, 'b')
    const rvAfterB = inf.resourceVersion

    const opened: number[] = []
    const origWatch = lw.watch.bind(lw)
    lw.watch = async (opts) => { opened.push(Date.now()); return await origWatch(opts) }
    const t0 = Date.now()
    lw.watchFailures.push(new KubeApiError({ status: 503, message: 'unavailable' }), new Error('ECONNREFUSED'))
    lw.breakAll()
    await until(() => lw.openStreams === 1 && opened.length === 3, 'reconnect', 5000)
    const gaps = opened.map(t => t - t0)
    // failure 1 (stream broke) → 40 ms, failure 2 → 80 ms, failure 3 → 160 ms
    expect(gaps[0]).toBeGreaterThanOrEqual(35)
    expect(gaps[1]! - gaps[0]!).toBeGreaterThanOrEqual(75)
    expect(gaps[2]! - gaps[1]!).toBeGreaterThanOrEqual(150)
    expect(lw.streams.at(-1)!.rv).toBe(rvAfterB)
    expect(inf.stats.lists).toBe(1)
    expect(inf.stats.watchFailures).toBe(3)
    lw.upsert('c')
    await until(() => events.length === 3, 'c')
    expect(events.map(summary)).toEqual(['add:a', 'add:b', 'add:c'])
  })

  it('reconnects at once after a healthy close, with backoff after an early empty one', async () => {
    const lw = new FakeListWatch()
    const { inf } = make(lw, { backoff: { baseMs: 300, jitter: 0 } })
    inf.start()
    await until(() => lw.openStreams === 1, 'watch')
    // Healthy: it delivered an event before the server closed it.
    lw.upsert('x')
    await until(() => inf.size === 1, 'x')
    lw.closeAll()
    await until(() => lw.streams.length === 2 && lw.openStreams === 1, 'immediate reconnect', 100)
    // Early and empty: looks like a server or proxy dropping us; back off.
    lw.closeAll()
    await tick(100)
    expect(lw.streams.length).toBe(2)
    await until(() => lw.streams.length === 3, 'reconnect after backoff', 1000)
    expect(inf.stats.watchFailures).toBe(1)
  })

  it('restarts a stalled watch (no event, no bookmark) even if the stream ignores abort', async () => {
    const lw = new FakeListWatch()
    lw.upsert('a')
    lw.stallNextWatches = 1
    const { inf, events } = make(lw, { stallTimeoutMs: 150 })
    inf.start()
    await inf.waitForSync()
    const t0 = Date.now()
    lw.upsert('b') // not delivered to the stalled stream
    await until(() => inf.stats.stalls === 1, 'stall detection', 2000)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140)
    // The restarted watch resumes from the last seen resourceVersion and gets the missed event.
    await until(() => events.length === 2, 'missed event after restart')
    expect(events.map(summary)).toEqual(['add:a', 'add:b'])
    expect(inf.stats.lists).toBe(1)
  })

  it('bookmarks keep a quiet watch alive and advance the resourceVersion', async () => {
    const lw = new FakeListWatch()
    const { inf } = make(lw, { stallTimeoutMs: 120 })
    inf.start()
    await until(() => lw.openStreams === 1, 'watch')
    lw.silentlyUpsert('elsewhere') // bumps the server's rv without an event for us
    for (let i = 0; i < 6; i++) { await tick(50); lw.bookmark() }
    expect(inf.stats.stalls).toBe(0)
    expect(lw.streams.length).toBe(1)
    expect(inf.resourceVersion).toBe('101')
  })

  it('resyncs: re-delivers every cached object as update(resync) on its period', async () => {
    const lw = new FakeListWatch()
    lw.upsert('a'); lw.upsert('b')
    const { inf, events } = make(lw, { resyncPeriodMs: 80 })
    inf.start()
    await inf.waitForSync()
    await until(() => inf.stats.resyncs >= 2, 'two resyncs', 2000)
    const resyncs = events.filter(e => e.type === 'update' && e.resync)
    expect(resyncs.length).toBeGreaterThanOrEqual(4)
    expect(new Set(resyncs.map(e => e.object.metadata?.name))).toEqual(new Set(['a', 'b']))
  })

  it('retries a failing list with backoff; waitForSync resolves once it succeeds', async () => {
    const lw = new FakeListWatch()
    lw.upsert('a')
    lw.listFailures.push(new Error('ECONNREFUSED'), new KubeApiError({ status: 500 }))
    const { inf } = make(lw)
    inf.start()
    await inf.waitForSync(AbortSignal.timeout(2000))
    expect(inf.size).toBe(1)
    expect(inf.stats.lists).toBe(1)
  })

  it('waitForSync rejects on abort and on stop, and before start', async () => {
    const lw = new FakeListWatch()
    lw.listDelayMs = 10_000
    const { inf } = make(lw)
    await expect(inf.waitForSync()).rejects.toBeInstanceOf(NotStartedError)
    inf.start()
    await expect(inf.waitForSync(AbortSignal.timeout(20))).rejects.toThrow()
    const waiting = inf.waitForSync()
    await inf.stop()
    await expect(waiting).rejects.toBeInstanceOf(NotStartedError)
  })

  it('stop() ends a watch that is stuck on a stream that ignores abort', async () => {
    const lw = new FakeListWatch()
    lw.stallNextWatches = 1
    const { inf } = make(lw, { stallTimeoutMs: 60_000 })
    inf.start()
    await until(() => lw.streams.length === 1, 'watch')
    const t0 = Date.now()
    await inf.stop()
    expect(Date.now() - t0).toBeLessThan(500)
  })

  it('a throwing subscriber does not break delivery to others', async () => {
    const lw = new FakeListWatch()
    lw.upsert('a')
    const { inf, events } = make(lw)
    inf.subscribe(() => { throw new Error('bad handler') })
    inf.start()
    await inf.waitForSync()
    lw.upsert('b')
    await until(() => events.length === 2, 'b')
  })

  it('jitters the server-side watch timeout between 1x and 2x', async () => {
    const lw = new FakeListWatch()
    const { inf } = make(lw, { watchTimeoutSeconds: 100, random: () => 0.5 })
    inf.start()
    await until(() => lw.streams.length === 1, 'watch')
    expect(lw.streams[0]!.timeoutSeconds).toBe(150)
  })
})
