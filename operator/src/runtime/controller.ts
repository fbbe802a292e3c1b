// A controller: events from a primary informer (e.g. DawnNodes) and from watched informers
// (the StatefulSets, Services, Secrets it owns, or anything else that should trigger it) become
// primary keys in a work queue; workers call `reconcile(key, signal)`, which reads the desired
// state from the caches and drives the cluster towards it. Level-triggered: reconcile never sees
// the event, only the key, so missed or merged events cannot make it wrong.
//
// A controller processes only between start() and stop(); the Manager calls those when this
// replica gains and loses leadership. start() enqueues every primary object, so nothing that
// happened while another replica led (or while nobody did) is missed.
import type { KubernetesObject } from '@kubernetes/client-node'
import type { BackoffInit } from './backoff.ts'
import { abortReason, errorMessage } from './errors.ts'
import type { Informer, InformerEvent } from './informer.ts'
import { objectKey, keyOf, splitKey, parseApiVersion } from './kube-client.ts'
import { silentLogger, type Logger } from './logger.ts'
import type { OperatorMetrics } from './metrics.ts'
import { WorkQueue, type WorkResult } from './work-queue.ts'

export interface ReconcileContext<P> {
  key: string
  namespace: string | undefined
  name: string
  /** The primary object from the cache, or undefined if it is gone (deleted). */
  object: P | undefined
  /** Logger with `controller` and `key` fields. */
  log: Logger
}

export type Reconcile<P> = (key: string, signal: AbortSignal, ctx: ReconcileContext<P>) => Promise<WorkResult | undefined | void> // eslint-disable-line @typescript-eslint/no-invalid-void-type -- nothing to say is fine

/** Maps an object of a watched informer to the primary keys it affects. */
export type KeyMapper<T> = (obj: T) => Iterable<string>

export interface WatchSpec<T extends KubernetesObject> {
  informer: Informer<T>
  map: KeyMapper<T>
  /** Drop some events (e.g. status-only changes). Resync events of watched informers are always dropped: the primary's resync covers them. */
  filter?: (event: InformerEvent<T>) => boolean
}

/** Typed constructor for a WatchSpec (infers T from the informer). */
export function watch<T extends KubernetesObject> (informer: Informer<T>, map: KeyMapper<T>, filter?: (event: InformerEvent<T>) => boolean): WatchSpec<KubernetesObject> {
  return { informer, map, ...(filter !== undefined ? { filter } : {}) } as unknown as WatchSpec<KubernetesObject>
}

/**
 * Keys of the owners of `kind` (any apiVersion of `group`) among an object's ownerReferences.
 * With `controllerOnly`, only the reference marked `controller: true` counts.
 */
export function ownerKeys (owner: { group: string, kind: string }, opts: { controllerOnly?: boolean } = {}): KeyMapper<KubernetesObject> {
  return (obj) => {
    const out: string[] = []
    for (const ref of obj.metadata?.ownerReferences ?? []) {
      if (ref.kind !== owner.kind || parseApiVersion(ref.apiVersion).group !== owner.group) continue
      if (opts.controllerOnly === true && ref.controller !== true) continue
      // Owner references point within the object's namespace (or to cluster-scoped owners).
      out.push(keyOf(obj.metadata?.namespace, ref.name))
    }
    return out
  }
}

/** Key `<namespace>/<label value>` when the object carries `label` (e.g. a network name label). */
export function labelKey (label: string): KeyMapper<KubernetesObject> {
  return (obj) => {
    const v = obj.metadata?.labels?.[label]
    return v === undefined || v === '' ? [] : [keyOf(obj.metadata?.namespace, v)]
  }
}

/** Primary filter: skip updates that changed neither generation (spec), labels, annotations, finalizers, nor deletion. */
export function specChanged<T extends KubernetesObject> (event: InformerEvent<T>): boolean {
  if (event.type !== 'update' || event.resync) return true
  const a = event.old.metadata
  const b = event.object.metadata
  return a?.generation !== b?.generation ||
    a?.deletionTimestamp !== b?.deletionTimestamp ||
    JSON.stringify(a?.labels) !== JSON.stringify(b?.labels) ||
    JSON.stringify(a?.annotations) !== JSON.stringify(b?.annotations) ||
    JSON.stringify(a?.finalizers) !== JSON.stringify(b?.finalizers)
}

export interface ControllerInit<P extends KubernetesObject> {
  /** Short name; the `kind` label of the metrics (e.g. 'DawnNode'). */
  name: string
  primary: Informer<P>
  /** Filter primary events; default: all (including resyncs). */
  primaryFilter?: (event: InformerEvent<P>) => boolean
  watches?: Array<WatchSpec<KubernetesObject>>
  reconcile: Reconcile<P>
  /** Parallel reconciles (of distinct keys); default 2. */
  concurrency?: number
  /** Retry backoff of a failing key; default 100 ms doubling to 5 min, jittered. */
  backoff?: BackoffInit
  /** Abort a reconcile that takes longer than this; default 5 min. */
  reconcileTimeoutMs?: number
  metrics?: OperatorMetrics
  logger?: Logger
}

export class Controller<P extends KubernetesObject> {
  readonly name: string
  readonly primary: Informer<P>
  readonly queue: WorkQueue
  private readonly watches: Array<WatchSpec<KubernetesObject>>
  private readonly primaryFilter: ((event: InformerEvent<P>) => boolean) | undefined
  private readonly reconcileFn: Reconcile<P>
  private readonly metrics: OperatorMetrics | undefined
  private readonly log: Logger
  private unsubscribe: Array<() => void> = []
  private started = false

  constructor (init: ControllerInit<P>) {
    this.name = init.name
    this.primary = init.primary
    this.watches = init.watches ?? []
    this.primaryFilter = init.primaryFilter
    this.reconcileFn = init.reconcile
    this.metrics = init.metrics
    this.metrics?.declareKind(this.name)
    this.log = (init.logger ?? silentLogger).child({ controller: init.name })
    this.queue = new WorkQueue({
      name: init.name,
      concurrency: init.concurrency ?? 2,
      ...(init.backoff !== undefined ? { backoff: init.backoff } : {}),
      handlerTimeoutMs: init.reconcileTimeoutMs ?? 5 * 60_000,
      handler: async (key, signal) => await this.runReconcile(key, signal),
      onResult: r => { this.metrics?.observeReconcile(this.name, r.outcome, r.durationMs / 1000) },
      onDepth: d => { this.metrics?.setQueueDepth(this.name, d) },
      logger: this.log
    })
  }

  /** The informers this controller reads (the Manager starts them). */
  get informers (): Array<Informer<KubernetesObject>> {
    return [this.primary as unknown as Informer<KubernetesObject>, ...this.watches.map(w => w.informer)]
  }

  isStarted (): boolean {
    return this.started
  }

  /**
   * Waits for every informer to sync, subscribes to their events, queues every primary object
   * and starts the workers. Rejects (and stays stopped) if `signal` aborts first.
   */
  async start (signal?: AbortSignal): Promise<void> {
    if (this.started) return
    // Informers may be shared between controllers: the Manager owns their lifecycle. Standalone
    // use still works — start() starts any that are not running (and stop() leaves them be).
    for (const inf of this.informers) inf.start()
    for (const inf of this.informers) await inf.waitForSync(signal)
    if (signal?.aborted === true) throw abortReason(signal)
    this.started = true
    this.unsubscribe.push(this.primary.subscribe(ev => { this.onPrimary(ev) }))
    for (const w of this.watches) this.unsubscribe.push(w.informer.subscribe(ev => { this.onWatched(w, ev) }))
    for (const key of this.primary.keys()) this.queue.add(key)
    this.queue.start()
    this.log.info('controller started', { primaries: this.primary.size })
  }

  /** Stops taking events, aborts in-flight reconciles (after `graceMs`) and waits for them. */
  async stop (opts: { graceMs?: number } = {}): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const u of this.unsubscribe.splice(0)) u()
    await this.queue.stop(opts)
    this.metrics?.setQueueDepth(this.name, 0)
    this.log.info('controller stopped')
  }

  /** Queues a primary key by hand (e.g. from a timer or an external trigger). */
  enqueue (key: string): void {
    this.queue.add(key)
  }

  enqueueAfter (key: string, delayMs: number): void {
    this.queue.addAfter(key, delayMs)
  }

  // -------------------------------------------------------------------------------------

  private onPrimary (ev: InformerEvent<P>): void {
    if (this.primaryFilter !== undefined && !this.primaryFilter(ev)) return
    this.queue.add(objectKey(ev.object))
  }

  private onWatched (w: WatchSpec<KubernetesObject>, ev: InformerEvent<KubernetesObject>): void {
    if (ev.type === 'update' && ev.resync) return
    if (w.filter !== undefined && !w.filter(ev)) return
    const keys = new Set<string>()
    try {
      for (const k of w.map(ev.object)) keys.add(k)
      // A changed owner/label must wake the old primary too (it may have lost a child).
      if (ev.type === 'update') for (const k of w.map(ev.old)) keys.add(k)
    } catch (e) {
      this.log.error('key mapper threw', { err: e, informer: w.informer.name })
      return
    }
    for (const k of keys) this.queue.add(k)
  }

  private async runReconcile (key: string, signal: AbortSignal): Promise<WorkResult | undefined> {
    const { namespace, name } = splitKey(key)
    const log = this.log.child({ key })
    const object = this.primary.get(key)
    const t0 = performance.now()
    try {
      const r = await this.reconcileFn(key, signal, { key, namespace, name, object, log })
      if (log.isLevelEnabled('debug')) log.debug('reconciled', { ms: Math.round(performance.now() - t0), requeueAfterMs: r?.requeueAfterMs })
      return r ?? undefined
    } catch (e) {
      if (!signal.aborted) log.debug('reconcile failed', { err: errorMessage(e) })
      throw e
    }
  }
}
