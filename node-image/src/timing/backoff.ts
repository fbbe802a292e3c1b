export interface BackoffInit {
  /** Delay after the first failure. */
  minMs: number
  /** The delay doubles per failure up to this. */
  maxMs: number
  /** ± this fraction of random spread, so many retriers do not move in step. */
  jitter?: number
}

/** The delay before retry number `failures` (1 = after the first failure). */
export function backoffDelay (failures: number, init: BackoffInit): number {
  const base = Math.min(init.maxMs, init.minMs * 2 ** Math.max(0, failures - 1))
  const spread = init.jitter ?? 0
  return Math.min(init.maxMs, Math.round(base * (1 - spread + Math.random() * 2 * spread)))
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted === true) return
  await new Promise<void>(resolve => {
    const done = (): void => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}
