import { watch, type FSWatcher } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { createHash } from 'node:crypto'
import type { NodeConfig } from './schema.ts'

export interface ConfigWatcherInit {
  file: string
  /** Re-reads and validates the whole config (file + env + flags). */
  reload: () => Promise<NodeConfig>
  onAgents: (agents: NodeConfig['agents']) => void
  /** A reloaded config that is invalid, or changes fields that need a restart. */
  onProblem: (message: string) => void
  /** Poll as well as watch: fs events are lost on some volumes. */
  pollIntervalMs?: number
}

/**
 * Reloads the agents section when the config file changes. Watches the directory,
 * not the file, because Kubernetes updates a mounted ConfigMap by swapping a symlink.
 */
export class ConfigWatcher {
  private readonly init: ConfigWatcherInit
  private watcher?: FSWatcher
  private poll?: NodeJS.Timeout
  private debounce?: NodeJS.Timeout
  private lastHash = ''
  private current: NodeConfig
  private running = Promise.resolve()

  constructor (init: ConfigWatcherInit, current: NodeConfig) {
    this.init = init
    this.current = current
  }

  async start (): Promise<void> {
    this.lastHash = await this.hashFile()
    const name = basename(this.init.file)
    this.watcher = watch(dirname(this.init.file), (_event, changed) => {
      if (changed == null || changed === name || changed.startsWith('..')) this.schedule()
    })
    this.watcher.on('error', () => { /* the poll keeps us going */ })
    this.poll = setInterval(() => { this.schedule() }, this.init.pollIntervalMs ?? 2000)
    this.poll.unref()
  }

  async stop (): Promise<void> {
    this.watcher?.close()
    clearInterval(this.poll)
    clearTimeout(this.debounce)
    await this.running
  }

  private schedule (): void {
    clearTimeout(this.debounce)
    this.debounce = setTimeout(() => { this.running = this.running.then(async () => { await this.check() }) }, 100)
  }

  private async hashFile (): Promise<string> {
    try {
      return createHash('sha256').update(await readFile(this.init.file)).digest('hex')
    } catch {
      return ''
    }
  }

  private async check (): Promise<void> {
    const hash = await this.hashFile()
    if (hash === this.lastHash || hash === '') return
    this.lastHash = hash
    let next: NodeConfig
    try {
      next = await this.init.reload()
    } catch (err) {
      this.init.onProblem(`config reload rejected, keeping the running config: ${(err as Error).message}`)
      return
    }
    const restartOnly = changedSections(this.current, next).filter(s => s !== 'agents')
    if (restartOnly.length > 0) this.init.onProblem(`config sections ${restartOnly.join(', ')} changed; they apply on restart`)
    const agentsChanged = JSON.stringify(this.current.agents) !== JSON.stringify(next.agents)
    this.current = { ...this.current, agents: next.agents }
    if (agentsChanged) this.init.onAgents(next.agents)
  }
}

function changedSections (a: NodeConfig, b: NodeConfig): string[] {
  return (Object.keys(b) as Array<keyof NodeConfig>).filter(k => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
}
