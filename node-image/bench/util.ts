/** Small helpers shared by the benches: statistics, tables, timing, environment header. */
import { availableParallelism, cpus, freemem, loadavg, platform, release, totalmem } from 'node:os'

export interface Summary {
  n: number
  min: number
  p50: number
  p90: number
  p99: number
  max: number
  mean: number
}

/** Nearest-rank percentile of an ascending array (p in 0..100). With n < 100 samples, p99 is the max. */
export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] as number
}

export function summarize (values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const n = sorted.length
  return {
    n,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[n - 1] ?? Number.NaN,
    mean: n === 0 ? Number.NaN : sorted.reduce((a, b) => a + b, 0) / n
  }
}

export function median (values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50)
}

/** Left-aligned first column, right-aligned numbers. */
export function formatTable (headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string => cells
    .map((c, i) => i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))
    .join('  ')
    .trimEnd()
  return [line(headers), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

export function fmtMs (ms: number): string {
  if (!Number.isFinite(ms)) return '-'
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`
  if (ms >= 100) return `${ms.toFixed(0)} ms`
  if (ms >= 10) return `${ms.toFixed(1)} ms`
  return `${ms.toFixed(2)} ms`
}

export function fmtOps (opsPerSec: number): string {
  if (!Number.isFinite(opsPerSec)) return '-'
  if (opsPerSec >= 1e6) return `${(opsPerSec / 1e6).toFixed(2)} M`
  if (opsPerSec >= 1e4) return `${(opsPerSec / 1e3).toFixed(1)} k`
  return opsPerSec.toFixed(0)
}

export function fmtMiB (bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

export class DeadlineError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'DeadlineError'
  }
}

/** A wall-clock budget: waits race against it so a bench always ends. */
export class Deadline {
  readonly at: number
  constructor (ms: number) {
    this.at = Date.now() + ms
  }

  get remaining (): number {
    return Math.max(0, this.at - Date.now())
  }

  get passed (): boolean {
    return Date.now() >= this.at
  }

  check (what: string): void {
    if (this.passed) throw new DeadlineError(`time budget exhausted while ${what}`)
  }

  async race<T> (promise: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new DeadlineError(`time budget exhausted while ${what}`)) }, this.remaining)
    })
    try {
      return await Promise.race([promise, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}

/** Resolves with the promise's value, or undefined after `ms` (the promise keeps running). */
export async function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<undefined>(resolve => { timer = setTimeout(() => { resolve(undefined) }, ms) })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export function environmentHeader (): string {
  const cpuList = cpus()
  const model = cpuList[0]?.model.trim() ?? 'unknown CPU'
  const load = loadavg().map(l => l.toFixed(2)).join(' ')
  return [
    `Node ${process.version} (V8 ${process.versions.v8}, OpenSSL ${process.versions.openssl}) on ${platform()} ${release()}`,
    `CPUs: ${availableParallelism()} available (${cpuList.length} x ${model}); memory ${fmtMiB(freemem())} free of ${fmtMiB(totalmem())}; load average ${load}`,
    'Note: absolute numbers on a small shared machine (e.g. 2 cores) are noisy; the ratios',
    'and the p99-vs-goal line are the point, compare runs on the same machine only.'
  ].join('\n')
}

/** Runs a synchronous `op` in batches for about `ms` milliseconds and returns ops per second. */
export function opsPerSecond (op: () => void, ms: number, batch = 16): number {
  let count = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < batch; i++) op()
    count += batch
    now = performance.now()
  }
  return count / ((now - start) / 1000)
}

/** A numeric command-line option: a clear error naming the option, its floor and the usage. */
export function numberOption (name: string, raw: string, min: number, usage: string): number {
  const n = Number(raw)
  if (raw.trim() === '' || !Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${raw}"\n${usage}`)
  return n
}
