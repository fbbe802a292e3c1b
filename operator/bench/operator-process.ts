// The operator under test, as a separate process (so its memory and CPU are its own), and a
// sampler of its resident set size and CPU time from /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { BUNDLE_PATH, bundlePaths } from '../scripts/bundle.ts'

export const OPERATOR_BIN = fileURLToPath(new URL('../bin/dawn-operator', import.meta.url))
const NODE_SH = fileURLToPath(new URL('../../scripts/node.sh', import.meta.url))
const SOURCE_MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))
const BUNDLE = bundlePaths.bundle

/** One way of running the operator, to compare side by side. */
export interface OperatorVariant {
  name: string
  about: string
  /** Run with `sh`. */
  argv: string[]
  /** NODE_OPTIONS ('' for none); undefined leaves the bin script's own. */
  nodeOptions: string | undefined
}

/**
 * `shipped`, `source`, or the directory of another checkout (its operator/bin/dawn-operator).
 * `shipped:<flags>` and `source:<flags>` run the same code with those node/V8 flags on the
 * command line instead of their own (e.g. `shipped:--max-semi-space-size=4 --lite-mode`).
 */
export function operatorVariant (spec: string): OperatorVariant {
  const colon = spec.indexOf(':')
  if (colon > 0) {
    const base = spec.slice(0, colon)
    const flags = spec.slice(colon + 1).split(' ').filter(f => f !== '')
    if (base !== 'shipped' && base !== 'source') throw new Error(`--operators: flags are for shipped or source, not "${base}"`)
    const script = base === 'shipped' ? [BUNDLE] : ['--disable-warning=ExperimentalWarning', SOURCE_MAIN]
    return { name: spec, about: `${base === 'shipped' ? BUNDLE_PATH : 'operator/src/cli/main.ts'} with node ${flags.join(' ')}`, argv: [NODE_SH, ...flags, ...script], nodeOptions: '' }
  }
  if (spec === 'shipped') return { name: spec, about: 'operator/bin/dawn-operator (the bundle and V8 flags the image runs)', argv: [OPERATOR_BIN], nodeOptions: undefined }
  if (spec === 'source') {
    return {
      name: spec,
      about: 'operator/src/cli/main.ts through type stripping, --max-semi-space-size=4 --max-old-space-size=192 (shipped so before the bundle)',
      argv: [NODE_SH, '--disable-warning=ExperimentalWarning', SOURCE_MAIN],
      nodeOptions: '--max-semi-space-size=4 --max-old-space-size=192'
    }
  }
  const bin = join(resolve(spec), 'operator', 'bin', 'dawn-operator')
  if (!existsSync(bin)) throw new Error(`--operators: "${spec}" is neither shipped, source nor a checkout with ${join('operator', 'bin', 'dawn-operator')}`)
  return { name: spec, about: `${bin} (another checkout, as it ships there)`, argv: [bin], nodeOptions: undefined }
}

export interface OperatorProcessInit {
  variant: OperatorVariant
  /** Watch only this namespace. */
  namespace: string
  kubeconfigPath: string
  logPath: string
  logLevel?: string
  /** Write a V8 CPU profile (.cpuprofile) into this directory when the operator exits. */
  cpuProfDir?: string
  /** Extra V8/Node flags for the operator's node (e.g. --max-old-space-size=...). */
  nodeFlags?: string[]
}

export interface OperatorProcess {
  pid: number
  metricsPort: number
  child: ChildProcess
  /** Exit code (or -1 for a signal) once it has exited. */
  exitCode: () => number | null | undefined
  exited: Promise<void>
  metrics: () => Promise<string>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop: (graceMs?: number) => Promise<{ clean: boolean }>
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = a !== null && typeof a !== 'string' ? a.port : 0
      s.close(() => { resolve(port) })
    })
  })
}

/**
 * Spawns the variant with `--kubeconfig ... --namespace ... --leader-elect false --metrics-port <free>`
 * (`shipped` is the operator exactly as the image runs it, V8 flags included). The bin script
 * and scripts/node.sh both end in `exec`, so the pid becomes the operator's node process itself.
 */
export async function startOperator (init: OperatorProcessInit): Promise<OperatorProcess> {
  const metricsPort = await freePort()
  const extra = [...(init.nodeFlags ?? [])]
  if (init.cpuProfDir !== undefined) extra.push('--cpu-prof', `--cpu-prof-dir=${init.cpuProfDir}`)
  const args = [...init.variant.argv,
    '--kubeconfig', init.kubeconfigPath,
    '--namespace', init.namespace,
    '--leader-elect', 'false',
    '--metrics-port', String(metricsPort),
    '--log-level', init.logLevel ?? 'info']
  // The variant's flags (or the bin script's own) apply unless --operator-flags replace them.
  const nodeOptions = extra.length > 0 ? extra.join(' ') : init.variant.nodeOptions
  const fd = openSync(init.logPath, 'a')
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: init.kubeconfigPath }
  if (nodeOptions === undefined) delete env.NODE_OPTIONS
  else env.NODE_OPTIONS = nodeOptions
  const child = spawn('sh', args, { stdio: ['ignore', fd, fd], env })
  closeSync(fd)
  const pid = child.pid
  if (pid === undefined) throw new Error('could not spawn the operator')
  // An object, not a `let`: the callbacks assign it, which flow analysis cannot see.
  const st: { code: number | null | undefined } = { code: undefined }
  const exited = new Promise<void>(resolve => {
    child.once('exit', (c, sig) => { st.code = c ?? (sig !== null ? -1 : null); resolve() })
    child.once('error', () => { st.code = -1; resolve() })
  })
  // Never leave it behind, whatever happens to the bench.
  const exitCode = (): number | null | undefined => st.code
  const onExit = (): void => { if (st.code === undefined) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } } }
  process.once('exit', onExit)

  const stop = async (graceMs = 25_000): Promise<{ clean: boolean }> => {
    if (st.code !== undefined) { process.removeListener('exit', onExit); return { clean: st.code === 0 } }
    try { process.kill(pid, 'SIGTERM') } catch { /* gone */ }
    let timer: NodeJS.Timeout | undefined
    const timedOut = await Promise.race([
      exited.then(() => false),
      new Promise<boolean>(resolve => { timer = setTimeout(() => { resolve(true) }, graceMs) })
    ])
    clearTimeout(timer)
    if (timedOut) {
      try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5000))])
    }
    process.removeListener('exit', onExit)
    return { clean: !timedOut && exitCode() === 0 }
  }

  const metrics = async (): Promise<string> => {
    const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })
    if (!r.ok) throw new Error(`operator /metrics: HTTP ${r.status}`)
    return await r.text()
  }

  return { pid, metricsPort, child, exitCode, exited, metrics, stop }
}

/** Polls /readyz (informers synced) until 200; fails early if the process exits. */
export async function waitOperatorReady (op: OperatorProcess, timeoutMs: number, logTail: () => string): Promise<number> {
  const t0 = Date.now()
  for (;;) {
    if (op.exitCode() !== undefined) throw new Error(`the operator exited (code ${String(op.exitCode())}) during start-up:\n${logTail()}`)
    try {
      const r = await fetch(`http://127.0.0.1:${op.metricsPort}/readyz`, { signal: AbortSignal.timeout(2000) })
      if (r.status === 200) return Date.now() - t0
    } catch { /* not listening yet */ }
    if (Date.now() - t0 > timeoutMs) throw new Error(`the operator was not ready after ${timeoutMs} ms:\n${logTail()}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

// ---------------------------------------------------------------------------------------

interface ProcSample { rssBytes: number, hwmBytes: number, cpuTicks: number }

const CLK_TCK = 100 // USER_HZ: 100 on every Linux architecture Node supports.

export function readProc (pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024
    // Fields after the "(comm)" part; utime and stime are fields 14 and 15 of the whole line.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const cpuTicks = Number(rest[11]) + Number(rest[12])
    return { rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), cpuTicks }
  } catch {
    return undefined
  }
}

/** Open sockets of a process (TCP connections to the apiserver, mostly). */
export function countSockets (pid: number): number {
  let n = 0
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try { if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++ } catch { /* closed meanwhile */ }
    }
  } catch { /* gone */ }
  return n
}

export interface PhaseUsage { name: string, peakRssBytes: number, cpuSeconds: number, wallMs: number, peakSockets: number }

/** Samples VmRSS every `intervalMs`; tracks the peak overall and per phase, and CPU per phase. */
export class RssSampler {
  private readonly pid: number
  private timer: NodeJS.Timeout | undefined
  peakRssBytes = 0
  lastRssBytes = 0
  hwmBytes = 0
  samples = 0
  peakSockets = 0
  private phase: { name: string, peak: number, cpu0: number, t0: number, sockets: number } | undefined
  private lastCpuTicks = 0
  readonly phases: PhaseUsage[] = []

  constructor (pid: number) {
    this.pid = pid
  }

  start (intervalMs = 100): void {
    this.sample()
    this.timer = setInterval(() => { this.sample() }, intervalMs)
    this.timer.unref()
  }

  /** Ends the current phase (if any) and starts measuring a new one. */
  mark (name: string | undefined): void {
    this.sample()
    if (this.phase !== undefined) {
      this.phases.push({ name: this.phase.name, peakRssBytes: this.phase.peak, cpuSeconds: (this.lastCpuTicks - this.phase.cpu0) / CLK_TCK, wallMs: Date.now() - this.phase.t0, peakSockets: this.phase.sockets })
    }
    this.phase = name === undefined ? undefined : { name, peak: this.lastRssBytes, cpu0: this.lastCpuTicks, t0: Date.now(), sockets: 0 }
  }

  stop (): void {
    this.mark(undefined)
    clearInterval(this.timer)
    this.timer = undefined
  }

  get cpuSeconds (): number {
    return this.lastCpuTicks / CLK_TCK
  }

  private sample (): void {
    const s = readProc(this.pid)
    if (s === undefined || !Number.isFinite(s.rssBytes)) return
    this.samples++
    this.lastRssBytes = s.rssBytes
    this.lastCpuTicks = s.cpuTicks
    if (Number.isFinite(s.hwmBytes)) this.hwmBytes = Math.max(this.hwmBytes, s.hwmBytes)
    this.peakRssBytes = Math.max(this.peakRssBytes, s.rssBytes)
    if (this.phase !== undefined) this.phase.peak = Math.max(this.phase.peak, s.rssBytes)
    // Sockets every 10th sample (1 s): a readlink per descriptor is not free.
    if (this.samples % 10 === 1) {
      const sockets = countSockets(this.pid)
      this.peakSockets = Math.max(this.peakSockets, sockets)
      if (this.phase !== undefined) this.phase.sockets = Math.max(this.phase.sockets, sockets)
    }
  }
}
