// The reconcile queue. Keys (not objects) go in, so a burst of events for one object collapses
// into one reconcile that reads the latest state from the cache. Guarantees:
//   - a key is queued at most once (adds while queued are no-ops);
//   - a key is never processed by two workers at once; added while in process, it is processed
//     exactly once more afterwards;
//   - a failing key is retried with per-key exponential backoff (reset by a success), so one
//     broken object neither spins nor delays the others;
//   - stop() aborts the handlers' signal and waits for them to finish.
import { Backoff, type BackoffInit } from './backoff.ts'
import { NotStartedError, errorMessage } from './errors.ts'
import { silentLogger, type Logger } from './logger.ts'

/** What a handler may ask for after a success: come back later even without events (polling). */
export interface WorkResult {
  requeueAfterMs?: number
}

export type WorkHandler = (key: string, signal: AbortSignal) => Promise<WorkResult | undefined | void> // eslint-disable-line @typescript-eslint/no-invalid-void-type -- reconcilers that have nothing to say just return

export type WorkOutcome = 'success' | 'requeue' | 'error'

export interface WorkQueueInit {
  handler: WorkHandler
  /** Keys processed in parallel (distinct keys only); default 1. */
  concurrency?: number
  /** Per-key retry backoff; default 100 ms doubling to 5 min, 20 % jitter. */
  backoff?: BackoffInit
  /** Abort a handler call after this long (its signal fires; its failure is retried). Default: no limit. */
  handlerTimeoutMs?: number
  /** Called after each handler call (metrics). */
  onResult?: (info: { key: string, outcome: WorkOutcome, durationMs: number, error?: unknown, retryInMs?: number }) => void
  /** Called whenever the number of queued keys changes (metrics). */
  onDepth?: (depth: number) => void
  logger?: Logger
  name?: string
}

export class WorkQueue {
  readonly name: string
  private readonly handler: WorkHandler
  private readonly concurrency: number
  private readonly backoff: Backoff
  private readonly handlerTimeoutMs: number | undefined
  private readonly onResult: WorkQueueInit['onResult']
  private readonly onDepth: WorkQueueInit['onDepth']
  private readonly log: Logger
  /** Ready keys in FIFO order (a Set keeps insertion order and deduplicates). */
  private readonly ready = new Set<string>()
  private readonly processing = new Set<string>()
  /** Keys added while being processed: go again once the current run ends. */
  private readonly again = new Set<string>()
  private readonly delayed = new Map<string, { timer: NodeJS.Timeout, dueAt: number }>()
  private readonly failures = new Map<string, number>()
  private readonly inFlight = new Set<Promise<void>>()
  private idleWaiters: Array<() => void> = []
  private controller: AbortController | undefined
  private running = false

  constructor (init: WorkQueueInit) {
    this.handler = init.handler
    this.concurrency = Math.max(1, Math.floor(init.concurrency ?? 1))
    this.backoff = new Backoff({ baseMs: 100, capMs: 5 * 60_000, ...init.backoff })
    this.handlerTimeoutMs = init.handlerTimeoutMs
    this.onResult = init.onResult
    this.onDepth = init.onDepth
    this.name = init.name ?? 'queue'
    this.log = (init.logger ?? silentLogger).child({ component: 'work-queue', queue: this.name })
  }

  // -------------------------------------------------------------------------------------
  // lifecycle

  isStarted (): boolean {
    return this.running
  }

  /** Starts the workers. Keys added before start() wait in the queue. */
  start (): void {
    if (this.running) return
    this.running = true
    this.controller = new AbortController()
    this.pump()
  }

  /**
   * Stops taking work: pending retries are cancelled, queued keys dropped, the handlers' signal
   * aborted (after `graceMs`, default 0, for in-flight handlers to finish on their own), and
   * resolves once every in-flight handler has returned. The queue can be started again.
   */
  async stop (opts: { graceMs?: number } = {}): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const d of this.delayed.values()) clearTimeout(d.timer)
    this.delayed.clear()
    this.ready.clear()
    this.again.clear()
    this.failures.clear()
    this.depthChanged()
    const graceMs = opts.graceMs ?? 0
    if (graceMs > 0 && this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise<void>(resolve => { timer = setTimeout(resolve, graceMs) })
      ])
      clearTimeout(timer)
    }
    this.controller?.abort(new NotStartedError(`work queue ${this.name} stopped`))
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
    this.controller = undefined
    this.notifyIdle()
  }

  // -------------------------------------------------------------------------------------
  // adding work

  /** Queues `key` (no-op if already queued; if in process, it runs once more afterwards). */
  add (key: string): void {
    if (this.processing.has(key)) {
      this.again.add(key)
      return
    }
    if (this.ready.has(key)) return
    this.ready.add(key)
    this.depthChanged()
    this.pump()
  }

  /** Queues `key` after `delayMs`. If the key already has an earlier pending delayed add, that one stands. */
  addAfter (key: string, delayMs: number): void {
    if (delayMs <= 0) { this.add(key); return }
    const dueAt = Date.now() + delayMs
    const existing = this.delayed.get(key)
    if (existing !== undefined) {
      if (existing.dueAt <= dueAt) return
      clearTimeout(existing.timer)
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key)
      this.add(key)
    }, delayMs)
    timer.unref()
    this.delayed.set(key, { timer, dueAt })
  }

  /** Forgets the failure count of `key` (its next failure backs off from the base delay again). */
  forget (key: string): void {
    this.failures.delete(key)
  }

  // -------------------------------------------------------------------------------------
  // introspection

  /** Keys waiting to be processed (not counting delayed retries or keys in process). */
  get depth (): number {
    return this.ready.size
  }

  get processingCount (): number {
    return this.processing.size
  }

  get delayedCount (): number {
    return this.delayed.size
  }

  failureCount (key: string): number {
    return this.failures.get(key) ?? 0
  }

  isQueued (key: string): boolean {
    return this.ready.has(key)
  }

  isProcessing (key: string): boolean {
    return this.processing.has(key)
  }

  /** Resolves when nothing is queued or in process (delayed retries do not count). */
  async onIdle (): Promise<void> {
    if (this.isIdle()) return
    await new Promise<void>(resolve => { this.idleWaiters.push(resolve) })
  }

  // -------------------------------------------------------------------------------------

  private isIdle (): boolean {
    return this.processing.size === 0 && (this.ready.size === 0 || !this.running)
  }

  private notifyIdle (): void {
    if (!this.isIdle()) return
    for (const w of this.idleWaiters.splice(0)) w()
  }

  private depthChanged (): void {
    this.onDepth?.(this.ready.size)
  }

  private pump (): void {
    while (this.running && this.processing.size < this.concurrency && this.ready.size > 0) {
      const key = this.ready.values().next().value as string
      this.ready.delete(key)
      this.depthChanged()
      this.processing.add(key)
      const p = this.process(key).finally(() => { this.inFlight.delete(p) })
      this.inFlight.add(p)
    }
  }

  private async process (key: string): Promise<void> {
    const queueSignal = (this.controller as AbortController).signal
    const signal = this.handlerTimeoutMs !== undefined
      ? AbortSignal.any([queueSignal, AbortSignal.timeout(Math.max(1, Math.ceil(this.handlerTimeoutMs)))])
      : queueSignal
    const t0 = performance.now()
    let outcome: WorkOutcome
    let error: unknown
    let retryInMs: number | undefined
    try {
      const result = await this.handler(key, signal)
      const after = result?.requeueAfterMs
      this.failures.delete(key)
      if (after !== undefined && after >= 0) {
        outcome = 'requeue'
        retryInMs = after
      } else {
        outcome = 'success'
      }
    } catch (e) {
      outcome = 'error'
      error = e
      const n = (this.failures.get(key) ?? 0) + 1
      this.failures.set(key, n)
      retryInMs = this.backoff.delay(n)
    }
    const durationMs = performance.now() - t0
    this.processing.delete(key)
    const stopping = !this.running || queueSignal.aborted
    if (!stopping) {
      if (outcome === 'error') {
        const fields = { key, err: error, failures: this.failures.get(key), retryInMs: retryInMs }
        if ((this.failures.get(key) ?? 0) >= 5) this.log.warn('handler failed; retrying with backoff', fields)
        else this.log.info('handler failed; retrying', fields)
      }
      if (retryInMs !== undefined) this.addAfter(key, retryInMs)
      if (this.again.delete(key)) this.add(key)
    } else {
      this.again.delete(key)
      if (outcome === 'error') this.log.debug('handler ended while stopping', { key, err: errorMessage(error) })
    }
    try {
      this.onResult?.({ key, outcome, durationMs, ...(error !== undefined ? { error } : {}), ...(retryInMs !== undefined ? { retryInMs } : {}) })
    } catch { /* metrics must not break the queue */ }
    this.pump()
    this.notifyIdle()
  }
}
