// A minimal list+watch mirror of one namespaced collection for the bench (not the operator's
// informer: the bench measures the operator, so it observes the cluster through
// @kubernetes/client-node's own Watch). Every event is stamped with performance.now() on
// arrival, and waiters are checked synchronously in the event callback, so a measured
// latency ends when the bench first could have seen the change.
import { Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node'
import { performance } from 'node:perf_hooks'

export interface ListResult<T> { items: T[], resourceVersion: string }

export interface TrackerInit<T> {
  kubeConfig: KubeConfig
  /** Collection path, e.g. /apis/apps/v1/namespaces/bench/statefulsets */
  path: string
  list: () => Promise<ListResult<T>>
  /** For messages. */
  name: string
  log?: (message: string) => void
}

type Listener<T> = (name: string, object: T | undefined, at: number) => void

export class TrackerTimeoutError extends Error {
  override name = 'TrackerTimeoutError'
}

export class Tracker<T extends KubernetesObject> {
  readonly name: string
  private readonly kubeConfig: KubeConfig
  private readonly path: string
  private readonly lister: () => Promise<ListResult<T>>
  private readonly log: (message: string) => void
  private readonly objects = new Map<string, T>()
  private readonly listeners = new Set<Listener<T>>()
  private watchAbort: AbortController | undefined
  private rv = ''
  private stopped = false
  private restarting = false
  /** Watch events received (ADDED, MODIFIED, DELETED). */
  events = 0
  restarts = 0

  constructor (init: TrackerInit<T>) {
    this.name = init.name
    this.kubeConfig = init.kubeConfig
    this.path = init.path
    this.lister = init.list
    this.log = init.log ?? ((): void => {})
  }

  async start (): Promise<void> {
    await this.relistAndWatch()
  }

  stop (): void {
    this.stopped = true
    this.watchAbort?.abort()
    this.watchAbort = undefined
    this.listeners.clear()
  }

  get (name: string): T | undefined {
    return this.objects.get(name)
  }

  values (): T[] {
    return [...this.objects.values()]
  }

  /** Called for every change (and for every object after a relist). Returns an unsubscribe function. */
  subscribe (listener: Listener<T>): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /**
   * Resolves with the performance.now() of the event after which `predicate(get(name))` holds
   * (at once if it already holds); rejects after `timeoutMs` or when `signal` aborts.
   */
  async waitFor (name: string, predicate: (obj: T | undefined) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<number> {
    if (predicate(this.objects.get(name))) return performance.now()
    return await new Promise<number>((resolve, reject) => {
      const finish = (): void => {
        clearTimeout(timer)
        unsubscribe()
        signal?.removeEventListener('abort', onAbort)
      }
      const onAbort = (): void => { finish(); reject(new Error(`aborted while waiting for ${this.name} ${name}`)) }
      const timer = setTimeout(() => {
        finish()
        reject(new TrackerTimeoutError(`${this.name} ${name}: condition not met within ${timeoutMs} ms`))
      }, timeoutMs)
      const unsubscribe = this.subscribe((n, obj, at) => {
        if (n !== name || !predicate(obj)) return
        finish()
        resolve(at)
      })
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  private emit (name: string, obj: T | undefined, at: number): void {
    for (const l of [...this.listeners]) {
      try { l(name, obj, at) } catch (e) { this.log(`${this.name}: listener threw: ${String(e)}`) }
    }
  }

  private async relistAndWatch (): Promise<void> {
    const { items, resourceVersion } = await this.lister()
    const at = performance.now()
    const seen = new Set<string>()
    for (const item of items) {
      const n = item.metadata?.name ?? ''
      seen.add(n)
      this.objects.set(n, item)
    }
    for (const n of [...this.objects.keys()]) if (!seen.has(n)) this.objects.delete(n)
    this.rv = resourceVersion
    for (const [n, obj] of this.objects) this.emit(n, obj, at)
    for (const n of this.objects.keys()) if (!seen.has(n)) this.emit(n, undefined, at)
    await this.openWatch()
  }

  private async openWatch (): Promise<void> {
    if (this.stopped) return
    const watch = new Watch(this.kubeConfig)
    this.watchAbort = await watch.watch(this.path, { resourceVersion: this.rv, allowWatchBookmarks: true },
      (phase: string, apiObj: unknown) => { this.onEvent(phase, apiObj) },
      (err: unknown) => { this.onDone(err) })
  }

  private onEvent (phase: string, apiObj: unknown): void {
    const at = performance.now()
    const obj = apiObj as T
    const rv = obj.metadata?.resourceVersion
    if (phase === 'BOOKMARK') { if (rv !== undefined) this.rv = rv; return }
    if (phase === 'ERROR') {
      // 410 Gone and friends: relist (onDone follows once the stream ends).
      this.rv = ''
      return
    }
    if (rv !== undefined) this.rv = rv
    const n = obj.metadata?.name ?? ''
    this.events++
    if (phase === 'DELETED') {
      this.objects.delete(n)
      this.emit(n, undefined, at)
    } else {
      this.objects.set(n, obj)
      this.emit(n, obj, at)
    }
  }

  private onDone (err: unknown): void {
    if (this.stopped || this.restarting) return
    this.restarting = true
    this.restarts++
    // client-node's Watch aborts a watch after 30 s without events (TimeoutError): expected on
    // a quiet collection, so only other endings are worth a line.
    const expected = err === null || err === undefined || (err instanceof Error && err.name === 'TimeoutError')
    if (!expected) this.log(`${this.name}: watch ended (${err instanceof Error ? err.message : JSON.stringify(err)}); re-watching`)
    const again = async (): Promise<void> => {
      for (let attempt = 1; !this.stopped; attempt++) {
        await new Promise(r => setTimeout(r, Math.min(2000, 100 * attempt)))
        try {
          if (this.rv === '') await this.relistAndWatch()
          else await this.openWatch()
          return
        } catch (e) {
          this.rv = ''
          this.log(`${this.name}: re-watch failed (${e instanceof Error ? e.message : String(e)})`)
        }
      }
    }
    void again().finally(() => { this.restarting = false })
  }
}
