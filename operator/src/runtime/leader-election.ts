// Lease-based leader election (coordination.k8s.io/v1), the same protocol as client-go's, so
// `kubectl get lease` reads naturally and replicas of different versions interoperate:
//
//   - a candidate takes the Lease when it is free (no holder, e.g. released on shutdown) or when
//     its record has not changed for leaseDuration as measured by the candidate's own clock
//     (never by comparing the holder's timestamps with ours: clocks skew);
//   - every write is an update conditional on the resourceVersion read, so two candidates can
//     never both win;
//   - the leader renews every renewInterval and steps down if it could not renew for
//     renewDeadline (< leaseDuration, so it stops before anyone else may start);
//   - on graceful stop the leader releases the Lease (empty holder, 1 s duration), so a
//     successor takes over at its next retry instead of after a full leaseDuration.
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { sleepUnlessAborted } from './backoff.ts'
import { KubeApiError, KubeTimeoutError, abortReason, errorMessage, isAborted, isAlreadyExists, isConflict, isNotFound } from './errors.ts'
import { resourcePath, type KubeClient, type ResourceRef } from './kube-client.ts'
import { silentLogger, type Logger } from './logger.ts'

export interface LeaseSpec {
  holderIdentity?: string
  leaseDurationSeconds?: number
  /** MicroTime strings (RFC 3339 with microseconds). */
  acquireTime?: string
  renewTime?: string
  leaseTransitions?: number
}

export interface Lease {
  apiVersion?: string
  kind?: string
  metadata?: { name?: string, namespace?: string, resourceVersion?: string, [k: string]: unknown }
  spec?: LeaseSpec
}

/** Storage of one Lease. The Kubernetes one is below; tests use an in-memory one. */
export interface LeaseStore {
  readonly description: string
  get: (signal: AbortSignal) => Promise<Lease | undefined>
  /** Throws a 409 KubeApiError (AlreadyExists) if someone created it first. */
  create: (lease: Lease, signal: AbortSignal) => Promise<Lease>
  /** Conditional on lease.metadata.resourceVersion: throws a 409 KubeApiError (Conflict) if it changed. */
  update: (lease: Lease, signal: AbortSignal) => Promise<Lease>
}

const LEASES: ResourceRef = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true }

export function kubeLeaseStore (client: KubeClient, namespace: string, name: string, requestTimeoutMs?: number): LeaseStore {
  const path = resourcePath(LEASES, { namespace, name })
  const t = requestTimeoutMs !== undefined ? { timeoutMs: requestTimeoutMs } : {}
  return {
    description: `lease ${namespace}/${name}`,
    async get (signal) {
      try {
        return await client.request<Lease>({ method: 'GET', path, signal, ...t })
      } catch (e) {
        if (isNotFound(e)) return undefined
        throw e
      }
    },
    async create (lease, signal) {
      return await client.request<Lease>({
        method: 'POST', path: resourcePath(LEASES, { namespace }), signal, ...t,
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease, metadata: { ...lease.metadata, name, namespace } }
      })
    },
    async update (lease, signal) {
      return await client.request<Lease>({ method: 'PUT', path, signal, ...t, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease } })
    }
  }
}

/** A Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime (ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z')
}

export interface LeaderElectorInit {
  /** Where the Lease lives: a KubeClient plus namespace/name, or any LeaseStore. */
  client?: KubeClient
  namespace?: string
  name?: string
  store?: LeaseStore
  /** Unique per replica; default `<hostname>_<random>` (a restarted pod is a new candidate). */
  identity?: string
  /** How long a Lease is valid without renewal; default 15 s. */
  leaseDurationMs?: number
  /** The leader steps down if it could not renew for this long; default 10 s. Must be < leaseDurationMs. */
  renewDeadlineMs?: number
  /** Renewal cadence while leading; default renewDeadline / 2. */
  renewIntervalMs?: number
  /** Candidates retry (and a failed renewal is retried) this often; default 2 s, jittered +0..20 %. */
  retryPeriodMs?: number
  /** Release the Lease on stop(); default true. */
  releaseOnStop?: boolean
  /**
   * Called when this replica becomes leader. `signal` aborts when leadership ends (lost or
   * stopped); the returned promise is awaited before onStoppedLeading is called.
   */
  onStartedLeading?: (signal: AbortSignal) => void | Promise<void>
  onStoppedLeading?: () => void
  /** Called when the observed holder changes (including to this replica, or to nobody: ''). */
  onNewLeader?: (identity: string) => void
  logger?: Logger
  /** Clocks, injectable for tests: wall time (Lease timestamps) and a monotonic one (expiry). */
  now?: () => number
  monotonicNow?: () => number
  random?: () => number
}

export class LeaderElector {
  readonly identity: string
  readonly store: LeaseStore
  readonly leaseDurationMs: number
  readonly renewDeadlineMs: number
  readonly renewIntervalMs: number
  readonly retryPeriodMs: number
  private readonly releaseOnStop: boolean
  private readonly onStartedLeading: LeaderElectorInit['onStartedLeading']
  private readonly onStoppedLeading: LeaderElectorInit['onStoppedLeading']
  private readonly onNewLeader: LeaderElectorInit['onNewLeader']
  private readonly log: Logger
  private readonly now: () => number
  private readonly mono: () => number
  private readonly random: () => number
  private readonly listeners = new Set<(leading: boolean) => void>()
  private controller: AbortController | undefined
  private loop: Promise<void> | undefined
  private leading = false
  private leaderController: AbortController | undefined
  /** The last record we read or wrote, and when (monotonic) we first saw it. */
  private observed: { lease: Lease, key: string, at: number } | undefined
  private observedHolder = ''
  private leadershipWaiters: Array<() => void> = []

  constructor (init: LeaderElectorInit) {
    if (init.store !== undefined) {
      this.store = init.store
    } else {
      if (init.client === undefined || init.namespace === undefined || init.name === undefined) {
        throw new TypeError('LeaderElector needs either a store, or client + namespace + name')
      }
      this.store = kubeLeaseStore(init.client, init.namespace, init.name)
    }
    this.identity = init.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`
    this.leaseDurationMs = init.leaseDurationMs ?? 15_000
    this.renewDeadlineMs = init.renewDeadlineMs ?? 10_000
    this.renewIntervalMs = init.renewIntervalMs ?? Math.max(1, Math.floor(this.renewDeadlineMs / 2))
    this.retryPeriodMs = init.retryPeriodMs ?? 2_000
    if (this.renewDeadlineMs >= this.leaseDurationMs) throw new RangeError('renewDeadlineMs must be less than leaseDurationMs')
    if (this.leaseDurationMs < 1000) throw new RangeError('leaseDurationMs must be at least 1 s (the Lease stores whole seconds)')
    this.releaseOnStop = init.releaseOnStop ?? true
    this.onStartedLeading = init.onStartedLeading
    this.onStoppedLeading = init.onStoppedLeading
    this.onNewLeader = init.onNewLeader
    this.log = (init.logger ?? silentLogger).child({ component: 'leader-election', lease: this.store.description, identity: this.identity })
    this.now = init.now ?? Date.now
    this.mono = init.monotonicNow ?? (() => performance.now())
    this.random = init.random ?? Math.random
  }

  // -------------------------------------------------------------------------------------

  isStarted (): boolean {
    return this.controller !== undefined
  }

  /** True while this replica holds (and keeps renewing) the Lease. */
  isLeader (): boolean {
    return this.leading
  }

  /** The holder last observed (this replica's identity when leading; '' if none). */
  get leader (): string {
    return this.observedHolder
  }

  /** The signal of the current term (aborts when it ends), or undefined when not leading. */
  get leadershipSignal (): AbortSignal | undefined {
    return this.leaderController?.signal
  }

  /** `listener(true)` on becoming leader, `listener(false)` on losing it. Returns an unsubscribe function. */
  subscribe (listener: (leading: boolean) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Resolves when this replica is leader (at once if it is). */
  async waitForLeadership (signal?: AbortSignal): Promise<void> {
    if (this.leading) return
    if (signal?.aborted === true) throw abortReason(signal)
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.leadershipWaiters = this.leadershipWaiters.filter(w => w !== waiter)
        reject(abortReason(signal as AbortSignal))
      }
      const waiter = (): void => { signal?.removeEventListener('abort', onAbort); resolve() }
      this.leadershipWaiters.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  start (): void {
    if (this.controller !== undefined) return
    this.controller = new AbortController()
    this.loop = this.run(this.controller.signal)
  }

  /** Steps down (releasing the Lease unless releaseOnStop is false) and stops campaigning. */
  async stop (): Promise<void> {
    if (this.controller === undefined) return
    this.controller.abort(new Error('leader elector stopped'))
    await this.loop
    this.controller = undefined
    this.loop = undefined
  }

  // -------------------------------------------------------------------------------------

  private async run (signal: AbortSignal): Promise<void> {
    this.log.info('campaigning for leadership', { leaseDurationMs: this.leaseDurationMs, renewDeadlineMs: this.renewDeadlineMs })
    while (!signal.aborted) {
      let acquired = false
      try {
        acquired = await this.tryAcquireOrRenew(signal, this.retryPeriodMs * 5)
      } catch (e) {
        if (isAborted(signal)) break
        this.log.info('could not read or take the lease', { err: e })
      }
      if (!acquired) {
        await sleepUnlessAborted(this.jittered(this.retryPeriodMs), signal)
        continue
      }
      await this.lead(signal)
    }
  }

  /** One term: from winning the Lease until renewal fails for renewDeadline, someone else holds it, or stop. */
  private async lead (signal: AbortSignal): Promise<void> {
    const term = new AbortController()
    this.leaderController = term
    this.setLeading(true)
    this.log.info('became leader')
    const work = this.runLeaderWork(term.signal)
    let lastRenew = this.mono()
    let reason = 'stopped'
    let delay = this.renewIntervalMs
    while (!signal.aborted) {
      await sleepUnlessAborted(delay, signal)
      if (isAborted(signal)) break
      const left = lastRenew + this.renewDeadlineMs - this.mono()
      try {
        // Never let one request outlive the deadline: a hung renewal must not keep us leading.
        const ok = await this.tryAcquireOrRenew(signal, Math.max(1, left))
        if (ok) {
          lastRenew = this.mono()
          delay = this.renewIntervalMs
        } else {
          reason = `lease taken by ${this.observedHolder === '' ? 'nobody' : this.observedHolder}`
          break
        }
      } catch (e) {
        if (isAborted(signal)) break
        this.log.warn('failed to renew the lease', { err: e, msLeft: Math.round(lastRenew + this.renewDeadlineMs - this.mono()) })
        delay = Math.min(this.retryPeriodMs, Math.max(1, lastRenew + this.renewDeadlineMs - this.mono()))
      }
      if (this.mono() - lastRenew >= this.renewDeadlineMs) {
        reason = `could not renew for ${this.renewDeadlineMs} ms`
        break
      }
    }
    term.abort(new Error(`leadership ended: ${reason}`))
    this.setLeading(false)
    this.log.info('stopped leading', { reason })
    await work
    try { this.onStoppedLeading?.() } catch (e) { this.log.error('onStoppedLeading threw', { err: e }) }
    if (signal.aborted && this.releaseOnStop && reason === 'stopped') await this.release()
  }

  private async runLeaderWork (signal: AbortSignal): Promise<void> {
    try {
      await this.onStartedLeading?.(signal)
    } catch (e) {
      if (!signal.aborted) this.log.error('onStartedLeading failed', { err: e })
    }
  }

  /** Reads the Lease and takes or renews it if allowed. True if we hold it afterwards. */
  private async tryAcquireOrRenew (outer: AbortSignal, timeoutMs: number): Promise<boolean> {
    // (AbortSignal.timeout insists on an integer.)
    const signal = AbortSignal.any([outer, AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs)))])
    try {
      return await this.acquireOrRenew(signal)
    } catch (e) {
      if (outer.aborted) throw abortReason(outer)
      if (signal.aborted) throw new KubeTimeoutError(`renew ${this.store.description}`, timeoutMs)
      throw e
    }
  }

  private async acquireOrRenew (signal: AbortSignal): Promise<boolean> {
    const wall = this.now()
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000)
    const lease = await this.store.get(signal)
    if (lease === undefined) {
      const spec: LeaseSpec = { holderIdentity: this.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(wall), renewTime: microTime(wall), leaseTransitions: 0 }
      try {
        this.observe(await this.store.create({ metadata: {}, spec }, signal))
        return true
      } catch (e) {
        if (isAlreadyExists(e) || isConflict(e)) return false
        throw e
      }
    }
    this.observe(lease)
    const rec = lease.spec ?? {}
    const holder = rec.holderIdentity ?? ''
    if (holder !== '' && holder !== this.identity) {
      const validMs = (rec.leaseDurationSeconds ?? durationSeconds) * 1000
      const seenAt = this.observed?.at ?? this.mono()
      if (this.mono() - seenAt < validMs) return false
      this.log.info('lease expired; taking over', { previousHolder: holder })
    }
    const spec: LeaseSpec = holder === this.identity
      ? { ...rec, leaseDurationSeconds: durationSeconds, renewTime: microTime(wall) }
      : { holderIdentity: this.identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(wall), renewTime: microTime(wall), leaseTransitions: (rec.leaseTransitions ?? 0) + 1 }
    try {
      this.observe(await this.store.update({ ...lease, spec }, signal))
      return true
    } catch (e) {
      // Someone else wrote first; their record is what counts. Re-read on the next round.
      if (isConflict(e)) return false
      throw e
    }
  }

  private observe (lease: Lease): void {
    const s = lease.spec ?? {}
    const key = `${s.holderIdentity ?? ''}|${s.renewTime ?? ''}|${s.leaseDurationSeconds ?? ''}|${lease.metadata?.resourceVersion ?? ''}`
    if (this.observed?.key !== key) this.observed = { lease, key, at: this.mono() }
    else this.observed.lease = lease
    const holder = s.holderIdentity ?? ''
    if (holder !== this.observedHolder) {
      this.observedHolder = holder
      this.log.debug('observed leader', { leader: holder })
      try { this.onNewLeader?.(holder) } catch (e) { this.log.error('onNewLeader threw', { err: e }) }
    }
  }

  /** Gives the Lease up so a successor need not wait for it to expire. */
  private async release (): Promise<void> {
    const lease = this.observed?.lease
    if (lease?.spec?.holderIdentity !== this.identity) return
    const wall = this.now()
    try {
      const released = await this.store.update({
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(wall), acquireTime: microTime(wall) }
      }, AbortSignal.timeout(5000))
      this.observe(released)
      this.log.info('released the lease')
    } catch (e) {
      // 409: the Lease changed since our last renewal (someone took over): nothing to release.
      const msg = e instanceof KubeApiError && e.status === 409 ? 'lease changed meanwhile; not released' : `release failed: ${errorMessage(e)}`
      this.log.warn(msg)
    }
  }

  private setLeading (leading: boolean): void {
    if (this.leading === leading) return
    this.leading = leading
    if (!leading) this.leaderController = undefined
    if (leading) for (const w of this.leadershipWaiters.splice(0)) w()
    for (const l of this.listeners) {
      try { l(leading) } catch (e) { this.log.error('leadership listener threw', { err: e }) }
    }
  }

  private jittered (ms: number): number {
    return Math.round(ms * (1 + 0.2 * this.random()))
  }
}
