import type { LogFn } from '../logging/json-logger.ts'
import { backoffDelay, sleep } from '../timing/backoff.ts'

export interface StoreAvailabilityInit {
  /** What the store is, for the readiness reason ("the Kubo sidecar at http://..."). */
  name: string
  minBackoffMs?: number
  maxBackoffMs?: number
}

export interface StoreAvailabilityComponents {
  /** Reaches the store once; throws while it is not there. */
  connect: (signal: AbortSignal) => Promise<void>
  log: LogFn
}

/**
 * Retries a store until it answers. In a pod the Kubo sidecar starts beside the
 * node, often later: its absence is a readiness condition, never a reason to exit.
 */
export class StoreAvailability {
  private readonly components: StoreAvailabilityComponents
  private readonly init: Required<StoreAvailabilityInit>
  private abort?: AbortController
  private loop?: Promise<void>
  private lastError = 'not tried yet'
  private availableNow = false
  private readonly waiters: Array<() => void> = []

  constructor (components: StoreAvailabilityComponents, init: StoreAvailabilityInit) {
    this.components = components
    this.init = { minBackoffMs: 250, maxBackoffMs: 5_000, ...init }
  }

  get available (): boolean {
    return this.availableNow
  }

  /** Why the store is not available, for /readyz. */
  get reason (): string {
    return this.availableNow ? `${this.init.name} is available` : `waiting for ${this.init.name}: ${this.lastError}`
  }

  start (): void {
    const abort = new AbortController()
    this.abort = abort
    this.loop = this.run(abort.signal)
  }

  async stop (): Promise<void> {
    this.abort?.abort()
    await this.loop
    for (const wake of this.waiters.splice(0)) wake()
  }

  /** Resolves once available, or when `signal` aborts or the service stops. */
  async whenAvailable (signal?: AbortSignal): Promise<boolean> {
    if (this.availableNow) return true
    await new Promise<void>(resolve => {
      this.waiters.push(resolve)
      signal?.addEventListener('abort', () => { resolve() }, { once: true })
    })
    return this.availableNow
  }

  private async run (signal: AbortSignal): Promise<void> {
    const stopped = (): boolean => signal.aborted
    for (let failures = 0; !stopped();) {
      try {
        await this.components.connect(AbortSignal.any([signal, AbortSignal.timeout(10_000)]))
        this.availableNow = true
        this.components.log('info', 'content store available', { store: this.init.name, attempts: failures + 1 })
        for (const wake of this.waiters.splice(0)) wake()
        return
      } catch (err) {
        if (stopped()) return
        failures++
        this.lastError = (err as Error).message
        // Loud once, then quiet: a sidecar that starts late is normal.
        this.components.log(failures === 1 ? 'warn' : 'debug', 'content store not available yet; retrying', { store: this.init.name, attempt: failures, error: this.lastError })
        await sleep(backoffDelay(failures, { minMs: this.init.minBackoffMs, maxMs: this.init.maxBackoffMs, jitter: 0.2 }), signal)
      }
    }
  }
}
