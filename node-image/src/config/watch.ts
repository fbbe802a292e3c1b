import { watch, type FSWatcher } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { createHash } from 'node:crypto'
import type { NodeConfig } from './schema.ts'
import { canonicalJson } from '../registry/canonical-json.ts'

/** What of `mcp` applies without a restart: every node of a network must agree on it, and pods never restart for an agent. */
export type McpLiveView = Pick<NodeConfig['mcp'], 'naming' | 'toolFilters' | 'catalog'>

function liveView (mcp: NodeConfig['mcp']): McpLiveView {
  return { naming: mcp.naming, toolFilters: mcp.toolFilters, catalog: mcp.catalog }
}

/** A poll whose file looks unchanged still reads it every this many polls: some filesystems keep coarse timestamps. */
const READ_EVERY_POLLS = 30

export interface ConfigWatcherInit {
  file: string
  /** Re-reads and validates the whole config (file + env + flags). */
  reload: () => Promise<NodeConfig>
  onAgents: (agents: NodeConfig['agents']) => void
  /** The live part of the `mcp` section changed: how `/mcp` names and filters tools. */
  onMcpView?: (view: McpLiveView) => void
  /** A reloaded config that is invalid, or changes fields that need a restart. */
  onProblem: (message: string) => void
  /** Poll as well as watch: fs events are lost on some volumes. */
  pollIntervalMs?: number
}

/**
 * Reloads the agents section, and `mcp.naming` and `mcp.toolFilters`, when the config file changes. Watches the directory,
 * not the file, because Kubernetes updates a mounted ConfigMap by swapping a symlink.
 */
export class ConfigWatcher {
  private readonly init: ConfigWatcherInit
  private watcher?: FSWatcher
  private poll?: NodeJS.Timeout
  private debounce?: NodeJS.Timeout
  private lastHash = ''
  private lastStamp = ''
  private unreadPolls = 0
  private current: NodeConfig
  private running = Promise.resolve()

  constructor (init: ConfigWatcherInit, current: NodeConfig) {
    this.init = init
    this.current = current
  }

  async start (): Promise<void> {
    this.lastStamp = await this.stampFile()
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

  /** Inode, size and times: one stat instead of the open, read and close (each a thread-pool hop) of hashing. */
  private async stampFile (): Promise<string> {
    try {
      const s = await stat(this.init.file)
      return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`
    } catch {
      return ''
    }
  }

  private async hashFile (): Promise<string> {
    try {
      return createHash('sha256').update(await readFile(this.init.file)).digest('hex')
    } catch {
      return ''
    }
  }

  private async check (): Promise<void> {
    const stamp = await this.stampFile()
    if (stamp !== '' && stamp === this.lastStamp && ++this.unreadPolls < READ_EVERY_POLLS) return
    this.lastStamp = stamp
    this.unreadPolls = 0
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
    const liveMcp = this.init.onMcpView !== undefined
    const live = liveMcp ? liveView(next.mcp) : {}
    // With a live view, only the rest of mcp waits for a restart.
    const compared = liveMcp ? { ...next, mcp: { ...next.mcp, ...liveView(this.current.mcp) } } : next
    const restartOnly = changedSections(this.current, compared).filter(s => s !== 'agents')
    if (restartOnly.length > 0) this.init.onProblem(`config sections ${restartOnly.join(', ')} changed; they apply on restart`)
    const agentsChanged = canonicalJson(this.current.agents) !== canonicalJson(next.agents)
    const viewChanged = liveMcp && canonicalJson(liveView(this.current.mcp)) !== canonicalJson(liveView(next.mcp))
    this.current = { ...this.current, agents: next.agents, mcp: { ...this.current.mcp, ...live } }
    if (agentsChanged) this.init.onAgents(next.agents)
    if (viewChanged) this.init.onMcpView?.(liveView(next.mcp))
  }
}

function changedSections (a: NodeConfig, b: NodeConfig): string[] {
  return (Object.keys(b) as Array<keyof NodeConfig>).filter(k => canonicalJson(a[k]) !== canonicalJson(b[k]))
}
