/** Statistics and formatting helpers of the operator bench. */

// One implementation of percentiles and tables for every bench.
export { percentile, summarize, fmtMs, fmtMiB, formatTable, type Summary } from '../../node-image/bench/util.ts'

export { sleep } from '../../node-image/src/timing/backoff.ts'

/** A wall-clock budget for the whole bench, so it always ends. */
export class Budget {
  readonly at: number
  /** Aborts when the run is interrupted (SIGINT/SIGTERM): every wait races it. */
  readonly signal: AbortSignal
  constructor (ms: number, signal: AbortSignal) {
    this.at = Date.now() + ms
    this.signal = signal
  }

  throwIfAborted (): void {
    if (this.signal.aborted) throw new Error('interrupted')
  }

  /** Resolves with the promise, or rejects as soon as the run is interrupted. */
  async race<T> (promise: Promise<T>): Promise<T> {
    this.throwIfAborted()
    let onAbort: (() => void) | undefined
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(new Error('interrupted')) }
      this.signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      return await Promise.race([promise, aborted])
    } finally {
      if (onAbort !== undefined) this.signal.removeEventListener('abort', onAbort)
    }
  }

  get remaining (): number {
    return Math.max(0, this.at - Date.now())
  }

  /** min(ms, what is left of the budget) */
  cap (ms: number): number {
    return Math.min(ms, this.remaining)
  }
}

/** Prometheus text format: sum of the samples of `name` grouped by the given labels (no histograms). */
export function promSum (text: string, name: string, by: readonly string[] = [], where: (labels: Record<string, string>) => boolean = () => true): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line)
    if (m?.[1] !== name) continue
    const labels: Record<string, string> = {}
    for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1] as string] = lm[2] as string
    if (!where(labels)) continue
    const value = Number(m[4])
    if (!Number.isFinite(value)) continue
    const key = by.map(l => labels[l] ?? '').join(' ')
    out.set(key, (out.get(key) ?? 0) + value)
  }
  return out
}

export function diffCounts (after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>()
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0)
    if (d !== 0) out.set(k, d)
  }
  return out
}
