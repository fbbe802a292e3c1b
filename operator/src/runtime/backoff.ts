// Exponential backoff with jitter, and an abortable sleep. Shared by the work queue (per-key
// retry), the informer (watch reconnect) and the leader elector (retry of acquire).
import { abortReason } from './errors.ts'

export interface BackoffInit {
  /** Delay before the first retry; default 100 ms. */
  baseMs?: number
  /** Upper bound of any delay; default 5 min. */
  capMs?: number
  /** Growth per failure; default 2. */
  factor?: number
  /**
   * Fraction of the delay that is randomised, 0..1; default 0.2, i.e. a delay lies in
   * [0.8·d, d]. Spreads the retries of many keys (or many operator replicas) that failed
   * together, while keeping delays monotonic enough to reason about.
   */
  jitter?: number
  /** Random source in [0, 1); injectable for deterministic tests. */
  random?: () => number
}

export class Backoff {
  readonly baseMs: number
  readonly capMs: number
  readonly factor: number
  readonly jitter: number
  private readonly random: () => number

  constructor (init: BackoffInit = {}) {
    this.baseMs = init.baseMs ?? 100
    this.capMs = init.capMs ?? 5 * 60_000
    this.factor = init.factor ?? 2
    this.jitter = Math.min(1, Math.max(0, init.jitter ?? 0.2))
    this.random = init.random ?? Math.random
    if (this.baseMs < 0 || this.capMs < this.baseMs || this.factor < 1) {
      throw new RangeError(`invalid backoff: base ${this.baseMs} ms, cap ${this.capMs} ms, factor ${this.factor}`)
    }
  }

  /** Delay before retry number `failures` (1 = first retry after one failure). */
  delay (failures: number): number {
    if (failures <= 0) return 0
    // Exponent clamped so huge failure counts never overflow to Infinity/NaN.
    const raw = this.baseMs * Math.pow(this.factor, Math.min(failures - 1, 64))
    const capped = Math.min(this.capMs, raw)
    return Math.round(capped * (1 - this.jitter * this.random()))
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) throw abortReason(signal)
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(abortReason(signal as AbortSignal))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** Like sleep, but resolves (instead of rejecting) on abort; for loops that check their own state. */
export async function sleepUnlessAborted (ms: number, signal?: AbortSignal): Promise<void> {
  try { await sleep(ms, signal) } catch { /* aborted */ }
}
