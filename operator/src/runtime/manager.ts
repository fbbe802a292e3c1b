// Runs an operator's parts in the right order. Informers run on every replica (a standby keeps
// warm caches, so failover costs no relist); controllers run only on the leader. Stop order
// matters: controllers first (in-flight reconciles finish or abort), then the elector (which
// releases the Lease only once nothing of ours writes any more), then informers and server.
import type { KubernetesObject } from '@kubernetes/client-node'
import type { Informer } from './informer.ts'
import type { LeaderElector } from './leader-election.ts'
import { silentLogger, type Logger } from './logger.ts'
import type { MetricsServer, OperatorMetrics } from './metrics.ts'
import { errorMessage, isAbortError, isAborted } from './errors.ts'

/** Anything with the Controller lifecycle. */
export interface LeaderRunnable {
  readonly name: string
  readonly informers?: ReadonlyArray<Informer<KubernetesObject>>
  /** Called on gaining leadership; `signal` aborts when it is lost. */
  start: (signal?: AbortSignal) => Promise<void>
  stop: (opts?: { graceMs?: number }) => Promise<void>
}

/**
 * Starts `runnable` each time `elector` wins leadership and stops it when leadership ends.
 * Transitions are serialised (a stop never overlaps the start it follows). Returns a function
 * that detaches it (and stops it if running).
 */
export function runWhenLeader (elector: LeaderElector, runnable: LeaderRunnable, opts: { logger?: Logger, graceMs?: number } = {}): () => Promise<void> {
  const log = (opts.logger ?? silentLogger).child({ component: 'run-when-leader', runnable: runnable.name })
  let chain: Promise<void> = Promise.resolve()
  let running = false
  const serial = (fn: () => Promise<void>): Promise<void> => {
    chain = chain.then(fn).catch((e: unknown) => {
      if (!isAbortError(e)) log.error('leadership transition failed', { err: errorMessage(e) })
    })
    return chain
  }
  const startIt = (signal: AbortSignal | undefined): void => {
    void serial(async () => {
      if (signal?.aborted === true) return
      running = true
      try {
        await runnable.start(signal)
      } catch (e) {
        running = false
        // Lost leadership while waiting for caches: nothing to undo.
        if (isAborted(signal)) return
        throw e
      }
    })
  }
  const stopIt = (graceMs = 0): Promise<void> => serial(async () => {
    if (!running) return
    running = false
    await runnable.stop({ graceMs })
  })
  const unsubscribe = elector.subscribe(leading => {
    if (leading) startIt(elector.leadershipSignal)
    else void stopIt()
  })
  if (elector.isLeader()) startIt(elector.leadershipSignal)
  return async () => {
    unsubscribe()
    await stopIt(opts.graceMs ?? 0)
  }
}

export interface ManagerInit {
  controllers: LeaderRunnable[]
  /** Informers not owned by any controller (e.g. read by reconcilers only). */
  informers?: Array<Informer<KubernetesObject>>
  /** Without an elector, this replica always leads (single-replica or tests). */
  elector?: LeaderElector
  metrics?: OperatorMetrics
  server?: MetricsServer
  /** Time in-flight reconciles get to finish on stop() before their signal aborts; default 10 s. */
  shutdownGraceMs?: number
  logger?: Logger
}

export class Manager {
  private readonly controllers: LeaderRunnable[]
  private readonly informers: Array<Informer<KubernetesObject>>
  private readonly elector: LeaderElector | undefined
  private readonly metrics: OperatorMetrics | undefined
  private readonly server: MetricsServer | undefined
  private readonly graceMs: number
  private readonly log: Logger
  private detach: Array<() => Promise<void>> = []
  private started = false

  constructor (init: ManagerInit) {
    this.controllers = init.controllers
    const all = new Set<Informer<KubernetesObject>>(init.informers ?? [])
    for (const c of init.controllers) for (const i of c.informers ?? []) all.add(i)
    this.informers = [...all]
    this.elector = init.elector
    this.metrics = init.metrics
    this.server = init.server
    this.graceMs = init.shutdownGraceMs ?? 10_000
    this.log = (init.logger ?? silentLogger).child({ component: 'manager' })
  }

  isLeader (): boolean {
    return this.elector?.isLeader() ?? this.started
  }

  /** True once every informer has synced (the readiness probe). */
  hasSynced (): boolean {
    return this.informers.every(i => i.hasSynced())
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    for (const i of this.informers) this.metrics?.trackInformer(i)
    if (this.server !== undefined) {
      this.server.addReadinessCheck('informers-synced', () => {
        const waiting = this.informers.filter(i => !i.hasSynced()).map(i => i.name)
        return waiting.length === 0 ? true : `waiting for ${waiting.join(', ')}`
      })
      await this.server.start()
    }
    for (const i of this.informers) i.start()
    if (this.elector !== undefined) {
      const elector = this.elector
      const metrics = this.metrics
      const unsubscribe = elector.subscribe(l => { metrics?.setLeader(l) })
      this.detach.push(() => { unsubscribe(); return Promise.resolve() })
      for (const c of this.controllers) this.detach.push(runWhenLeader(elector, c, { logger: this.log, graceMs: this.graceMs }))
      elector.start()
    } else {
      this.metrics?.setLeader(true)
      for (const c of this.controllers) {
        void c.start().catch((e: unknown) => { this.log.error('controller failed to start', { controller: c.name, err: e }) })
        this.detach.push(async () => { await c.stop({ graceMs: this.graceMs }) })
      }
    }
    this.log.info('manager started', { controllers: this.controllers.map(c => c.name), informers: this.informers.length, leaderElection: this.elector !== undefined })
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    // Controllers first: nothing may write once the Lease is released.
    await Promise.all(this.detach.splice(0).map(async d => { await d() }))
    await this.elector?.stop()
    this.metrics?.setLeader(false)
    await Promise.all(this.informers.map(async i => { await i.stop() }))
    await this.server?.stop()
    this.log.info('manager stopped')
  }
}
