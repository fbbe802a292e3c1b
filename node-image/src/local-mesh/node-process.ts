import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'
import { existsSync } from 'node:fs'

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url))

/**
 * V8 flags every node runs with (here, in ./dawn mesh and in the node image). A small young
 * generation: the default lets each idle node keep ~50 MiB more and peak higher at start.
 * 2 MiB rather than 4: a block holder's buffers (file read, sealed frames) die young, and a
 * scavenge frees them before their external bytes start a full-heap mark; serving a 64 MiB
 * read took half the CPU, with calls and idle memory unchanged (`footprint --variants
 * semi4h,after --calls 200`: p50 0.91x, RSS 0.99x).
 * A fixed old-space growth of 1.5×: V8's own (up to 4×) left ~10 MiB of free old space per
 * idle node in a 20-node mesh, whose gossip is never quiet enough for the memory reducer.
 * External bytes (Buffers, sealed frames) counted in V8's global limit, not as old space:
 * otherwise every half-heap of buffers allocated since the last full GC starts another
 * (growth 1.5x leaves ~26 MiB of slack), and a node reading content at 40 MiB/s marked its
 * whole heap five times a second; with it, 0.80x the reader's CPU per MiB (bench `content`),
 * calls and idle memory unchanged (`footprint --variants oldext,after --calls 200`).
 * --optimize-for-size saves ~30 MiB but pins the young generation at 1 MiB (+10 % p50 per
 * call). Bench `footprint --variants prev,after,optsize --calls 200` measures the choice.
 * Bytecode and baseline code unused for 2 full GCs (V8: 6, and baseline code never) are
 * dropped: startup and config code runs once, and a node kept ~4 MiB of it (`footprint
 * --variants after,flush --calls 300`: RSS 0.96-0.97x, CPU per call 0.97-0.99x).
 */
export const NODE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=50', '--external-memory-accounted-in-global-limit', '--flush-baseline-code', '--bytecode-old-age=2']

const JEMALLOC_PATHS = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2', '/usr/lib64/libjemalloc.so.2', '/usr/lib/libjemalloc.so.2']

/**
 * The allocator environment of a node. glibc malloc keeps ~40 MiB per node of startup garbage
 * (free, but mid-heap, so never returned); jemalloc returns it within a second. With
 * jemalloc absent (Debian: libjemalloc2), glibc with two arenas. glibc's own fix, a small
 * fixed mmap threshold, was measured +25 % CPU per 64 KiB call, so it is not used.
 * DAWN_JEMALLOC=off keeps glibc; a path picks that library.
 */
export function nodeMallocEnv (env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const choice = env.DAWN_JEMALLOC
  const lib = choice === 'off' ? undefined : choice !== undefined && choice !== '' ? choice : JEMALLOC_PATHS.find(p => existsSync(p))
  if (lib === undefined) return { MALLOC_ARENA_MAX: '2' }
  return { LD_PRELOAD: [lib, env.LD_PRELOAD].filter(Boolean).join(' '), MALLOC_CONF: 'narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0' }
}

export interface NodeProcessInit {
  configFile: string
  httpUrl: string
  env?: NodeJS.ProcessEnv
  /** Extra CLI args after `run --config FILE`. */
  args?: string[]
  /** A command the node runs under, e.g. `['ip', 'netns', 'exec', 'ns1']` (it must exec, not fork). */
  wrapper?: string[]
  /** The script Node runs: default the TypeScript CLI; `./dawn mesh` passes the bundle (node-bundle.ts). */
  entry?: string
  /** Node/V8 flags before the script; default NODE_V8_FLAGS. */
  nodeFlags?: readonly string[]
  /** Allocator variables; default nodeMallocEnv(). `env` still wins over them. */
  mallocEnv?: Record<string, string>
}

/** A dawn-node child process; keeps the tail of its log for failure reports. */
export class NodeProcess {
  readonly init: NodeProcessInit
  private child?: ChildProcess
  private readonly logTail: string[] = []
  exitCode: number | null = null

  constructor (init: NodeProcessInit) {
    this.init = init
  }

  get running (): boolean {
    return this.child !== undefined && this.exitCode === null && this.child.signalCode === null
  }

  get pid (): number | undefined {
    return this.child?.pid
  }

  start (): void {
    this.exitCode = null
    const [command = process.execPath, ...prefix] = [...(this.init.wrapper ?? []), ...(this.init.wrapper === undefined ? [] : [process.execPath])]
    const child = spawn(command, [...prefix, ...(this.init.nodeFlags ?? NODE_V8_FLAGS), '--disable-warning=ExperimentalWarning', this.init.entry ?? CLI, 'run', '--config', this.init.configFile, ...(this.init.args ?? [])], {
      env: { ...process.env, ...(this.init.mallocEnv ?? nodeMallocEnv()), DAWN_EXIT_WITH_PARENT: '1', ...this.init.env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const keep = (chunk: Buffer): void => {
      // Lines are cut: a stack through the minified bundle quotes whole source lines.
      this.logTail.push(...chunk.toString().split('\n').filter(Boolean).map(l => l.length > 2000 ? `${l.slice(0, 2000)}…` : l))
      if (this.logTail.length > 200) this.logTail.splice(0, this.logTail.length - 200)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    child.on('exit', (code, signal) => { this.exitCode = code ?? (signal === null ? 1 : 128) })
    this.child = child
  }

  logs (): string {
    return this.logTail.join('\n')
  }

  /** Polls /readyz until it answers 200, the process dies, or the deadline passes. */
  async waitReady (timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (this.exitCode !== null) throw new Error(`node exited with code ${this.exitCode}:\n${this.logs()}`)
      try {
        const res = await fetch(`${this.init.httpUrl}/readyz`, { signal: AbortSignal.timeout(1000) })
        if (res.status === 200) return
      } catch { /* not listening yet */ }
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error(`node at ${this.init.httpUrl} not ready after ${timeoutMs} ms:\n${this.logs()}`)
  }

  /** SIGTERM, then SIGKILL if it does not exit in time. */
  async stop (timeoutMs = 10_000): Promise<void> {
    const child = this.child
    if (child === undefined || !this.running) return
    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
    await exited
    clearTimeout(timer)
  }

  kill (): void {
    this.child?.kill('SIGKILL')
  }
}
