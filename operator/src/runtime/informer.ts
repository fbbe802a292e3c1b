// A typed informer for one resource: list, then watch from the list's resourceVersion, keeping
// an in-memory cache keyed `namespace/name` and telling subscribers what changed.
//
// Written (instead of using client-node's informer) because a controller's correctness rests on
// the cache converging to the server's state no matter how the watch fails. This one:
//   - relists when the server says the resourceVersion is gone (410 / Expired ERROR event),
//     diffing the new list against the cache so deletions missed meanwhile are delivered;
//   - reconnects after any watch error or unexpected close, with exponential backoff + jitter;
//   - restarts a watch that has gone silent (no event and no bookmark for `stallTimeoutMs`),
//     which catches half-open connections that never error;
//   - periodically re-delivers every cached object (resync) so a lost event or a failed
//     reconcile heals on its own.
import type { KubernetesObject } from '@kubernetes/client-node'
import { Backoff, sleepUnlessAborted, type BackoffInit } from './backoff.ts'
import { KubeApiError, NotStartedError, WatchStalledError, abortReason, errorMessage, isAbortError, isAborted, isGone } from './errors.ts'
import { objectKey, keyOf, type KubeClient, type ResourceRef } from './kube-client.ts'
import { createKubeListWatch, type KubeListWatchInit, type ListWatch, type WatchEvent } from './list-watch.ts'
import { silentLogger, type Logger } from './logger.ts'

export type InformerEvent<T> =
  | { type: 'add', object: T }
  /** `resync`: a periodic re-delivery (object === old), not a change. */
  | { type: 'update', object: T, old: T, resync: boolean }
  /**
   * `finalStateUnknown`: the deletion was noticed by a relist, not a watch event, so `object`
   * is the last state the cache saw.
   */
  | { type: 'delete', object: T, finalStateUnknown: boolean }

export type InformerHandler<T> = (event: InformerEvent<T>) => void

export interface InformerStats {
  /** Successful lists (the first one included). */
  lists: number
  /** Lists forced by 410 Gone / Expired. */
  relistsOnExpired: number
  /** Watches opened. */
  watches: number
  /** Watches that ended in an error or closed early (each followed by a backoff). */
  watchFailures: number
  /** Watches restarted by the stall detector. */
  stalls: number
  resyncs: number
  /** Duration of the latest successful list. */
  lastListMs: number | undefined
  /** When the latest event or bookmark arrived (epoch ms). */
  lastEventAt: number | undefined
  /** The last error of the list/watch loop (cleared by a successful list or watch event). */
  lastError: string | undefined
}

export interface InformerInit<T> {
  listWatch: ListWatch<T>
  /** Name for logs and metrics; default the ListWatch's description. */
  name?: string
  /** Re-deliver every cached object as an `update` (resync: true) this often; 0 disables. Default 10 min. */
  resyncPeriodMs?: number
  /**
   * Restart a watch that delivered neither an event nor a bookmark for this long. The apiserver
   * sends a bookmark about once a minute on a quiet watch (and ~2 s before the watch's
   * timeout), so the default is 90 s.
   */
  stallTimeoutMs?: number
  /** Server-side watch lifetime, jittered up to 2x so many informers do not reconnect together. Default 300 s. */
  watchTimeoutSeconds?: number
  /** Reconnect backoff; default 250 ms doubling to 30 s, 20 % jitter. */
  backoff?: BackoffInit
  logger?: Logger
  random?: () => number
  /**
   * Applied to every object before it is cached, e.g. to fill in schema defaults that an
   * install path dropped from the CRD: readers then see the object as its schema says.
   */
  transform?: (obj: T) => T
}

export interface KubeInformerInit<T = never> extends KubeListWatchInit, Omit<InformerInit<T>, 'listWatch'> {}

/** An informer on the real apiserver for `resource` (optionally one namespace / selectors). */
export function createInformer<T extends KubernetesObject> (client: KubeClient, resource: ResourceRef, init: KubeInformerInit<T> = {}): Informer<T> {
  const listWatch = createKubeListWatch<T>(client, resource, init)
  return new Informer<T>({ ...init, listWatch, name: init.name ?? listWatch.description })
}

type WatchOutcome = 'expired' | 'closed' | 'closed-early'

export class Informer<T extends KubernetesObject> {
  readonly name: string
  private readonly lw: ListWatch<T>
  private readonly cache = new Map<string, T>()
  private readonly handlers = new Set<InformerHandler<T>>()
  private readonly resyncPeriodMs: number
  private readonly stallTimeoutMs: number
  private readonly watchTimeoutSeconds: number
  private readonly backoff: Backoff
  private readonly log: Logger
  private readonly random: () => number
  private readonly transform: (obj: T) => T
  private controller: AbortController | undefined
  private loop: Promise<void> | undefined
  private resyncTimer: NodeJS.Timeout | undefined
  private synced = false
  private syncWaiters: Array<{ resolve: () => void, reject: (e: Error) => void }> = []
  private rv = ''
  readonly stats: InformerStats = {
    lists: 0, relistsOnExpired: 0, watches: 0, watchFailures: 0, stalls: 0, resyncs: 0,
    lastListMs: undefined, lastEventAt: undefined, lastError: undefined
  }

  constructor (init: InformerInit<T>) {
    this.lw = init.listWatch
    this.transform = init.transform ?? (obj => obj)
    this.name = init.name ?? init.listWatch.description
    this.resyncPeriodMs = init.resyncPeriodMs ?? 10 * 60_000
    this.stallTimeoutMs = init.stallTimeoutMs ?? 90_000
    this.watchTimeoutSeconds = init.watchTimeoutSeconds ?? 300
    this.backoff = new Backoff({ baseMs: 250, capMs: 30_000, ...init.backoff })
    this.log = (init.logger ?? silentLogger).child({ component: 'informer', informer: this.name })
    this.random = init.random ?? Math.random
  }

  // -------------------------------------------------------------------------------------
  // lifecycle

  isStarted (): boolean {
    return this.controller !== undefined
  }

  /** Starts listing and watching in the background; see waitForSync(). Idempotent. */
  start (): void {
    if (this.controller !== undefined) return
    const ac = new AbortController()
    this.controller = ac
    this.loop = this.run(ac.signal)
    if (this.resyncPeriodMs > 0) {
      this.resyncTimer = setInterval(() => { this.resync() }, this.resyncPeriodMs)
      this.resyncTimer.unref()
    }
  }

  /** Stops the watch and waits for the loop to end. The cache is kept (but no longer updated). */
  async stop (): Promise<void> {
    const ac = this.controller
    if (ac === undefined) return
    ac.abort(new NotStartedError(`informer ${this.name} stopped`))
    clearInterval(this.resyncTimer)
    this.resyncTimer = undefined
    await this.loop
    this.controller = undefined
    this.loop = undefined
    this.synced = false
    for (const w of this.syncWaiters.splice(0)) w.reject(new NotStartedError(`informer ${this.name} stopped before it synced`))
  }

  /** True once the first list has been stored in the cache. */
  hasSynced (): boolean {
    return this.synced
  }

  /** Resolves once synced; rejects if `signal` aborts or the informer stops first. */
  async waitForSync (signal?: AbortSignal): Promise<void> {
    if (this.synced) return
    if (signal?.aborted === true) throw abortReason(signal)
    if (this.controller === undefined) throw new NotStartedError(`informer ${this.name} is not started`)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.syncWaiters = this.syncWaiters.filter(w => w !== waiter)
        reject(abortReason(signal as AbortSignal))
      }
      const waiter = {
        resolve: () => { signal?.removeEventListener('abort', onAbort); resolve() },
        reject: (e: Error) => { signal?.removeEventListener('abort', onAbort); reject(e) }
      }
      this.syncWaiters.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  // -------------------------------------------------------------------------------------
  // cache and subscriptions
  //
  // Objects handed out (by get/list and in events) are the cached objects themselves, not
  // copies: treat them as read-only (copy with structuredClone before changing one).

  /** Receives every change from now on. Returns an unsubscribe function. */
  subscribe (handler: InformerHandler<T>): () => void {
    this.handlers.add(handler)
    return () => { this.handlers.delete(handler) }
  }

  /** By cache key (`namespace/name`, or `name` for cluster-scoped objects). */
  get (key: string): T | undefined {
    return this.cache.get(key)
  }

  getByName (namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(keyOf(namespace, name))
  }

  /** All cached objects, optionally of one namespace and/or matching a predicate. */
  list (filter: { namespace?: string, where?: (obj: T) => boolean } = {}): T[] {
    const out: T[] = []
    for (const obj of this.cache.values()) {
      if (filter.namespace !== undefined && obj.metadata?.namespace !== filter.namespace) continue
      if (filter.where !== undefined && !filter.where(obj)) continue
      out.push(obj)
    }
    return out
  }

  keys (): string[] {
    return [...this.cache.keys()]
  }

  get size (): number {
    return this.cache.size
  }

  /** The resourceVersion the informer has seen up to. */
  get resourceVersion (): string {
    return this.rv
  }

  /** Re-delivers every cached object as an update with `resync: true`. Runs on a timer; public for tests and for forced resyncs. */
  resync (): void {
    if (!this.synced) return
    this.stats.resyncs++
    for (const obj of this.cache.values()) this.emit({ type: 'update', object: obj, old: obj, resync: true })
  }

  // -------------------------------------------------------------------------------------
  // the list/watch loop

  private async run (signal: AbortSignal): Promise<void> {
    let needList = true
    let failures = 0
    let expiredInARow = 0
    while (!signal.aborted) {
      try {
        if (needList) {
          await this.relist(signal)
          needList = false
          failures = 0
        }
        const outcome = await this.watchOnce(signal)
        if (outcome === 'expired') {
          needList = true
          this.stats.relistsOnExpired++
          // A list is consistent, so a 410 right after one should not happen; if it keeps
          // happening, do not hammer the server with full lists.
          if (++expiredInARow > 1) await sleepUnlessAborted(this.backoff.delay(expiredInARow - 1), signal)
          continue
        }
        expiredInARow = 0
        if (outcome === 'closed') { failures = 0; continue }
        failures++
        this.stats.watchFailures++
        const delay = this.backoff.delay(failures)
        this.log.debug('watch closed early; reconnecting', { delayMs: delay, failures })
        await sleepUnlessAborted(delay, signal)
      } catch (e) {
        if (isAborted(signal)) break
        if (isGone(e)) {
          // An HTTP 410 on the watch request itself (rather than an ERROR event).
          needList = true
          this.stats.relistsOnExpired++
          if (++expiredInARow > 1) await sleepUnlessAborted(this.backoff.delay(expiredInARow - 1), signal)
          continue
        }
        failures++
        if (!needList) this.stats.watchFailures++
        this.stats.lastError = errorMessage(e)
        const delay = this.backoff.delay(failures)
        const fields = { err: e, delayMs: delay, failures, phase: needList ? 'list' : 'watch' }
        if (e instanceof WatchStalledError) this.log.warn('watch stalled; restarting it', fields)
        else if (failures >= 3) this.log.warn('list/watch failing; retrying with backoff', fields)
        else this.log.info('list/watch failed; retrying', fields)
        await sleepUnlessAborted(delay, signal)
      }
    }
  }

  private async relist (signal: AbortSignal): Promise<void> {
    const t0 = performance.now()
    const { items, resourceVersion } = await this.lw.list({ signal })
    if (signal.aborted) throw abortReason(signal)
    const ms = performance.now() - t0
    this.stats.lists++
    this.stats.lastListMs = ms
    this.stats.lastError = undefined
    const first = !this.synced
    this.replace(items)
    this.rv = resourceVersion
    this.log.debug(first ? 'listed' : 'relisted', { items: items.length, resourceVersion, ms: Math.round(ms) })
    if (first) {
      this.synced = true
      for (const w of this.syncWaiters.splice(0)) w.resolve()
    }
  }

  /** Stores a full list, emitting the difference to the cache as add/update/delete. */
  private replace (items: T[]): void {
    const seen = new Set<string>()
    for (const item of items) {
      const obj = this.transform(item)
      const key = objectKey(obj)
      seen.add(key)
      const old = this.cache.get(key)
      this.cache.set(key, obj)
      if (old === undefined) this.emit({ type: 'add', object: obj })
      else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) this.emit({ type: 'update', object: obj, old, resync: false })
    }
    for (const [key, old] of [...this.cache]) {
      if (seen.has(key)) continue
      this.cache.delete(key)
      this.emit({ type: 'delete', object: old, finalStateUnknown: true })
    }
  }

  private async watchOnce (outer: AbortSignal): Promise<WatchOutcome> {
    // Per-watch controller: aborting it closes this watch's connection (on stall, on stop,
    // and always on the way out so no socket outlives its watch).
    const ac = new AbortController()
    const onOuter = (): void => { ac.abort(outer.reason) }
    outer.addEventListener('abort', onOuter, { once: true })
    const timeoutSeconds = Math.round(this.watchTimeoutSeconds * (1 + this.random()))
    const started = Date.now()
    let received = 0
    try {
      this.stats.watches++
      const stream = await this.lw.watch({ resourceVersion: this.rv, timeoutSeconds, signal: ac.signal })
      const it = stream[Symbol.asyncIterator]()
      try {
        for (;;) {
          const next = await this.nextWithin(it, ac)
          if (next.done === true) break
          received++
          this.stats.lastEventAt = Date.now()
          this.stats.lastError = undefined
          const outcome = this.apply(next.value)
          if (outcome === 'expired') return 'expired'
        }
      } finally {
        ac.abort(new NotStartedError('watch finished'))
        // Lets a generator run its cleanup (release the response body).
        void Promise.resolve(it.return?.()).catch(() => {})
      }
    } finally {
      outer.removeEventListener('abort', onOuter)
    }
    if (outer.aborted) throw abortReason(outer)
    // A watch that lived its requested lifetime, or that delivered anything at all, was
    // healthy: reconnect at once. One that closed early and empty counts as a failure.
    const lasted = Date.now() - started
    return received > 0 || lasted >= timeoutSeconds * 1000 * 0.9 ? 'closed' : 'closed-early'
  }

  /** The iterator's next event, or WatchStalledError after `stallTimeoutMs` of silence. */
  private async nextWithin (it: AsyncIterator<WatchEvent<T>>, ac: AbortController): Promise<IteratorResult<WatchEvent<T>>> {
    const next = it.next()
    // If the race is lost, the pending next() rejects later (its stream is aborted): not unhandled.
    next.catch(() => {})
    let timer: NodeJS.Timeout | undefined
    let onAbort: (() => void) | undefined
    const stalled = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        this.stats.stalls++
        const err = new WatchStalledError(this.stallTimeoutMs)
        ac.abort(err)
        reject(err)
      }, this.stallTimeoutMs)
      onAbort = () => { reject(abortReason(ac.signal)) }
      ac.signal.addEventListener('abort', onAbort, { once: true })
    })
    stalled.catch(() => {})
    try {
      return await Promise.race([next, stalled])
    } finally {
      clearTimeout(timer)
      if (onAbort !== undefined) ac.signal.removeEventListener('abort', onAbort)
    }
  }

  private apply (ev: WatchEvent<T>): 'ok' | 'expired' {
    switch (ev.type) {
      case 'BOOKMARK':
        this.rv = ev.resourceVersion
        return 'ok'
      case 'ERROR': {
        const err = KubeApiError.fromStatus(ev.status, 500, { method: 'WATCH', path: this.name })
        if (isGone(err)) {
          this.log.info('watch expired (resourceVersion too old); relisting', { resourceVersion: this.rv, message: err.apiMessage })
          return 'expired'
        }
        throw err
      }
      case 'ADDED':
      case 'MODIFIED': {
        const obj = this.transform(ev.object)
        const key = objectKey(obj)
        const old = this.cache.get(key)
        this.cache.set(key, obj)
        this.bump(obj)
        if (old === undefined) this.emit({ type: 'add', object: obj })
        else this.emit({ type: 'update', object: obj, old, resync: false })
        return 'ok'
      }
      case 'DELETED': {
        const obj = ev.object
        const key = objectKey(obj)
        this.cache.delete(key)
        this.bump(obj)
        this.emit({ type: 'delete', object: obj, finalStateUnknown: false })
        return 'ok'
      }
    }
  }

  private bump (obj: T): void {
    const rv = obj.metadata?.resourceVersion
    if (rv !== undefined && rv !== '') this.rv = rv
  }

  private emit (event: InformerEvent<T>): void {
    for (const h of this.handlers) {
      try {
        h(event)
      } catch (e) {
        // One broken subscriber must not starve the others or break the watch loop.
        if (!isAbortError(e)) this.log.error('informer handler threw', { err: e, event: event.type })
      }
    }
  }
}
