// An in-memory stand-in for one apiserver resource: a store with resourceVersions, an event
// history with a compaction point (watching from before it yields 410 Expired), and knobs to
// break things the way real connections break (fail the next calls, close streams, stall).
import type { KubernetesObject } from '@kubernetes/client-node'
import { KubeApiError, abortReason } from '../../../src/runtime/errors.ts'
import type { ListWatch, WatchEvent, WatchOptions } from '../../../src/runtime/list-watch.ts'

export interface Obj extends KubernetesObject {
  data?: Record<string, string>
}

interface Stream {
  rv: string
  timeoutSeconds: number
  queue: Array<WatchEvent<Obj> | Error | 'close'>
  wake: (() => void) | undefined
  closed: boolean
  ignoreAbort: boolean
}

export class FakeListWatch implements ListWatch<Obj> {
  readonly description = 'fake'
  private rv = 100
  private readonly store = new Map<string, Obj>()
  private history: Array<{ rv: number, ev: WatchEvent<Obj> }> = []
  private compactedRv = 0
  readonly streams: Stream[] = []
  lists = 0
  /** Errors thrown by the next list() calls, in order. */
  listFailures: Error[] = []
  /** Errors thrown by the next watch() calls, in order. */
  watchFailures: Error[] = []
  /** Next watch streams never deliver anything and ignore abort (a hung socket). */
  stallNextWatches = 0
  /** Delay of list() (lets tests observe the not-yet-synced state). */
  listDelayMs = 0

  private key (name: string, ns = 'default'): string { return `${ns}/${name}` }

  private record (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: Obj): void {
    const ev: WatchEvent<Obj> = { type, object: structuredClone(obj) }
    this.history.push({ rv: this.rv, ev })
    for (const s of this.streams) if (!s.closed && !s.ignoreAbort) this.deliver(s, ev)
  }

  private deliver (s: Stream, item: WatchEvent<Obj> | Error | 'close'): void {
    s.queue.push(item)
    s.wake?.()
  }

  upsert (name: string, data: Record<string, string> = {}, ns = 'default', labels?: Record<string, string>): Obj {
    const k = this.key(name, ns)
    const existed = this.store.has(k)
    const obj: Obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, resourceVersion: String(++this.rv), uid: `uid-${name}`, ...(labels !== undefined ? { labels } : {}) }, data }
    this.store.set(k, obj)
    this.record(existed ? 'MODIFIED' : 'ADDED', obj)
    return obj
  }

  remove (name: string, ns = 'default'): void {
    const k = this.key(name, ns)
    const obj = this.store.get(k)
    if (obj === undefined) return
    this.store.delete(k)
    const gone = structuredClone(obj)
    gone.metadata = Object.assign(gone.metadata ?? {}, { resourceVersion: String(++this.rv) })
    this.record('DELETED', gone)
  }

  /** Changes the store without telling any open watch (an event lost in transit). */
  silentlyUpsert (name: string, data: Record<string, string> = {}, ns = 'default'): void {
    this.store.set(this.key(name, ns), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, resourceVersion: String(++this.rv), uid: `uid-${name}` }, data })
  }

  /** Forget history up to now: watches from older resourceVersions get 410. */
  compact (): void {
    this.compactedRv = this.rv
    this.history = []
  }

  bookmark (): void {
    for (const s of this.streams) if (!s.closed) this.deliver(s, { type: 'BOOKMARK', resourceVersion: String(this.rv) })
  }

  /** Ends every open stream as the server would at its timeout. */
  closeAll (): void {
    for (const s of this.streams) if (!s.closed) this.deliver(s, 'close')
  }

  /** Breaks every open stream with a connection error. */
  breakAll (err = new Error('ECONNRESET')): void {
    for (const s of this.streams) if (!s.closed) this.deliver(s, err)
  }

  /** Sends a 410 ERROR event on every open stream. */
  expireAll (): void {
    for (const s of this.streams) if (!s.closed) this.deliver(s, { type: 'ERROR', status: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })
  }

  get openStreams (): number {
    return this.streams.filter(s => !s.closed).length
  }

  async list ({ signal }: { signal: AbortSignal }): Promise<{ items: Obj[], resourceVersion: string }> {
    if (this.listDelayMs > 0) {
      await new Promise<void>(resolve => {
        const t = setTimeout(resolve, this.listDelayMs)
        signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
      })
    }
    if (signal.aborted) throw abortReason(signal)
    const f = this.listFailures.shift()
    if (f !== undefined) throw f
    this.lists++
    return { items: [...this.store.values()].map(o => structuredClone(o)), resourceVersion: String(this.rv) }
  }

  async watch ({ resourceVersion, timeoutSeconds, signal }: WatchOptions): Promise<AsyncIterable<WatchEvent<Obj>>> {
    const f = this.watchFailures.shift()
    if (f !== undefined) throw f
    const stall = this.stallNextWatches > 0
    if (stall) this.stallNextWatches--
    const s: Stream = { rv: resourceVersion, timeoutSeconds, queue: [], wake: undefined, closed: false, ignoreAbort: stall }
    this.streams.push(s)
    if (!stall) {
      const from = Number(resourceVersion)
      if (from < this.compactedRv) {
        s.queue.push({ type: 'ERROR', status: { kind: 'Status', code: 410, reason: 'Expired', message: `too old resource version: ${from} (${this.compactedRv})` } })
      } else {
        for (const h of this.history) if (h.rv > from) s.queue.push(h.ev)
      }
    }
    return (async function * () {
      try {
        for (;;) {
          if (signal.aborted && !s.ignoreAbort) throw abortReason(signal)
          const item = s.queue.shift()
          if (item === undefined) {
            await new Promise<void>(resolve => {
              s.wake = resolve
              if (!s.ignoreAbort) signal.addEventListener('abort', () => { resolve() }, { once: true })
            })
            s.wake = undefined
            continue
          }
          if (item === 'close') return
          if (item instanceof Error) throw item
          yield item
        }
      } finally {
        s.closed = true
      }
    })()
  }
}

export const gone = (): KubeApiError => new KubeApiError({ status: 410, reason: 'Expired', message: 'too old resource version' })
