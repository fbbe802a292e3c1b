import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { once } from 'node:events'

const CLI = fileURLToPath(new URL('../cli/main.ts', import.meta.url))

export interface NodeProcessInit {
  configFile: string
  httpUrl: string
  env?: NodeJS.ProcessEnv
  /** Extra CLI args after `run --config FILE`. */
  args?: string[]
  /** A command the node runs under, e.g. `['ip', 'netns', 'exec', 'ns1']` (it must exec, not fork). */
  wrapper?: string[]
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
    const child = spawn(command, [...prefix, '--disable-warning=ExperimentalWarning', CLI, 'run', '--config', this.init.configFile, ...(this.init.args ?? [])], {
      env: { ...process.env, DAWN_EXIT_WITH_PARENT: '1', ...this.init.env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const keep = (chunk: Buffer): void => {
      this.logTail.push(...chunk.toString().split('\n').filter(Boolean))
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
