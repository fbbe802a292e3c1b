/**
 * A local mesh of real dawn-node processes for benches, wired as `./dawn mesh` wires it
 * (local-mesh/mesh-wiring.ts), plus what a bench watches from outside: each node's
 * `registry` events on `/api/v1/events` (SSE), `/api/v1/node`, and per-process memory
 * from /proc.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { createNetworkDir, type NetworkFiles } from '../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../src/local-mesh/node-process.ts'
import { ensureNodeBundle } from '../src/local-mesh/node-bundle.ts'
import { demoAgents } from '../src/local-mesh/demo-agents.ts'
import { freePort } from '../src/local-mesh/free-port.ts'
import { bootstrapNodesFor, loopbackLimits, loopbackStartWave } from '../src/local-mesh/mesh-wiring.ts'
import { startInWaves } from '../src/local-mesh/start-waves.ts'
import type { NodeConfig } from '../src/config/schema.ts'

/** One `registry` event as a watcher saw it, stamped with this process's clock. */
export interface RegistrySeen { at: number, digest: string, keys: Set<string> }

/** Follows one node's SSE stream; keeps the latest digest and a short history of registry events. */
export class RegistryWatch {
  url: string
  digest?: string
  connected = false
  private readonly history: RegistrySeen[] = []
  private readonly waiters = new Set<() => void>()
  private readonly abort = new AbortController()

  constructor (url: string) {
    this.url = url
  }

  start (): void {
    void this.loop()
  }

  stop (): void {
    this.abort.abort()
  }

  /** The first registry event at or after `since` that lists `key`. */
  seen (key: string, since: number): number | undefined {
    return this.history.find(e => e.at >= since && e.keys.has(key))?.at
  }

  /** Resolves on the next registry event (or after `ms`). */
  async next (ms: number): Promise<void> {
    await new Promise<void>(resolve => {
      const wake = (): void => { clearTimeout(timer); this.waiters.delete(wake); resolve() }
      const timer = setTimeout(wake, ms)
      this.waiters.add(wake)
    })
  }

  private async loop (): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        const res = await fetch(`${this.url}/api/v1/events`, { signal: this.abort.signal, headers: { accept: 'text/event-stream' } })
        if (res.body === null || res.status !== 200) throw new Error(`status ${res.status}`)
        this.connected = true
        let buffer = ''
        const decoder = new TextDecoder()
        for await (const chunk of res.body) {
          buffer += decoder.decode(chunk as Uint8Array, { stream: true })
          let end: number
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            this.frame(buffer.slice(0, end))
            buffer = buffer.slice(end + 2)
          }
        }
      } catch { /* not up yet, or stopped */ }
      this.connected = false
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }

  private frame (text: string): void {
    const at = performance.now()
    let type = ''
    let data = ''
    for (const line of text.split('\n')) {
      if (line.startsWith('event: ')) type = line.slice(7)
      else if (line.startsWith('data: ')) data += line.slice(6)
    }
    if (type !== 'registry') return
    const parsed = JSON.parse(data) as { digest: string, changed: Array<{ nodeId: string, agentId: string }>, removed: Array<{ nodeId: string, agentId: string }> }
    this.digest = parsed.digest
    const keys = new Set([...parsed.changed, ...parsed.removed].map(k => `${k.nodeId}:${k.agentId}`))
    this.history.push({ at, digest: parsed.digest, keys })
    // Trials look back only a few seconds; a bounded history is enough.
    if (this.history.length > 2000) this.history.splice(0, 1000)
    for (const wake of [...this.waiters]) wake()
  }
}

export interface NodeInfoLite { ready: boolean, peers: number, registry: { digest: string, entries: number } }

export interface ProcessMeshInit {
  dir: string
  nodes: number
  /** NODE_OPTIONS for every node, e.g. '--max-semi-space-size=4'; undefined inherits. */
  nodeOptions?: string
  /** Spawn this many at once, the next batch once they answer /readyz (0 = all at once, as `./dawn mesh`). */
  wave: number
  /** The node bundle to run; default this tree's (rebuilt first when a source changed). */
  entry?: string
}

/** Memory of one process from /proc (kB fields converted to bytes). */
export async function processMemory (pid: number): Promise<{ rss: number, anon: number } | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
    return { rss: field('VmRSS'), anon: field('RssAnon') }
  } catch {
    return undefined
  }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export async function processCpuSeconds (pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return 0
  }
}

/** USER_HZ: 100 on every Linux this runs on. */
const CLOCK_TICKS = 100

export async function memAvailable (): Promise<number> {
  const info = await readFile('/proc/meminfo', 'utf8')
  return Number(/^MemAvailable:\s+(\d+) kB/m.exec(info)?.[1] ?? 0) * 1024
}

export class ProcessMesh {
  readonly init: ProcessMeshInit
  net?: NetworkFiles
  procs: NodeProcess[] = []
  watches: RegistryWatch[] = []
  private readonly agents = new Map<number, NodeConfig['agents']>()

  constructor (init: ProcessMeshInit) {
    this.init = init
  }

  get bootstrapNodes (): number {
    return bootstrapNodesFor(this.init.nodes)
  }

  /** Writes the network and spawns every node; resolves when all are spawned (not yet ready). */
  async start (onWave?: (started: number) => void): Promise<void> {
    const { nodes } = this.init
    const relayFirst = (i: number, config: Record<string, unknown>): void => {
      if (i === 0) (config.node as Record<string, unknown>).relayServer = true
      loopbackLimits(nodes, config)
    }
    this.net = await createNetworkDir({ dir: this.init.dir, nodes, network: 'conv', agents: demoAgents, bootstrapNodes: this.bootstrapNodes, patch: relayFirst })
    for (let i = 0; i < nodes; i++) this.agents.set(i, demoAgents(i))
    const env = this.init.nodeOptions === undefined ? {} : { NODE_OPTIONS: this.init.nodeOptions }
    // The bundle, as ./dawn mesh runs it (rebuilt first when a source changed).
    const entry = this.init.entry ?? await ensureNodeBundle()
    this.procs = this.net.nodes.map(n => new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl, env, entry }))
    this.watches = this.net.nodes.map(n => new RegistryWatch(n.httpUrl))
    await startInWaves(this.procs, { wave: this.init.wave > 0 ? this.init.wave : loopbackStartWave(nodes), waveTimeoutMs: 300_000, ...(onWave === undefined ? {} : { onWave }) })
    for (const w of this.watches) w.start()
  }

  /**
   * Restarts, on fresh ports, every node that exited because its port was taken (the
   * ports were free when the network was written; on a shared machine another
   * process can bind one first). Returns how many were restarted; other exits are left.
   */
  async restartPortClashes (): Promise<number> {
    let restarted = 0
    for (const [i, p] of this.procs.entries()) {
      if (p.running || p.exitCode === null || !p.logs().includes('EADDRINUSE')) continue
      const node = this.net?.nodes[i]
      if (node === undefined) continue
      const config = JSON.parse(await readFile(node.configFile, 'utf8')) as { p2p: { listen: string[] }, http: { port: number } }
      const [p2pPort, httpPort] = [await freePort(), await freePort()]
      config.p2p.listen = [`/ip4/127.0.0.1/tcp/${p2pPort}`]
      config.http.port = httpPort
      await writeFile(node.configFile, JSON.stringify(config, null, 2))
      node.httpUrl = `http://127.0.0.1:${httpPort}`
      const fresh = new NodeProcess({ ...p.init, httpUrl: node.httpUrl })
      this.procs[i] = fresh
      fresh.start()
      const watch = this.watches[i]
      if (watch !== undefined) watch.url = node.httpUrl
      restarted++
    }
    return restarted
  }

  /** GET /api/v1/node on every node, a few at a time; undefined for a node that did not answer. */
  async infos (concurrency = 16): Promise<Array<NodeInfoLite | undefined>> {
    const nodes = this.net?.nodes ?? []
    const out = new Array<NodeInfoLite | undefined>(nodes.length)
    let next = 0
    await Promise.all(Array.from({ length: Math.min(concurrency, nodes.length) }, async () => {
      for (let i = next++; i < nodes.length; i = next++) {
        try {
          const res = await fetch(`${nodes[i]?.httpUrl ?? ''}/api/v1/node`, { signal: AbortSignal.timeout(5000) })
          out[i] = res.status === 200 ? await res.json() as NodeInfoLite : undefined
        } catch {
          out[i] = undefined
        }
      }
    }))
    return out
  }

  /** Adds (or, with `revision`, changes) static agent `agentId` on node i by rewriting its config; the node reloads it. */
  async putAgent (i: number, agentId: string, revision: number): Promise<string> {
    const file = this.net?.nodes[i]?.configFile ?? ''
    const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
    const agents = (this.agents.get(i) ?? []).filter(a => a.id !== agentId)
    agents.push({ id: agentId, name: agentId, kind: 'static', description: `convergence bench, revision ${revision}`, tools: [{ name: 'ping', description: 'Answer pong' }] })
    this.agents.set(i, agents)
    config.agents = agents
    await writeFile(`${file}.tmp`, JSON.stringify(config, null, 2))
    await rename(`${file}.tmp`, file)
    return `${this.net?.nodes[i]?.peerId ?? ''}:${agentId}`
  }

  async memory (): Promise<Array<{ rss: number, anon: number }>> {
    const all = await Promise.all(this.procs.map(async p => p.pid === undefined ? undefined : await processMemory(p.pid)))
    return all.filter(m => m !== undefined)
  }

  /** CPU seconds used so far by all node processes together. */
  async cpuSeconds (): Promise<number> {
    const all = await Promise.all(this.procs.map(async p => p.pid === undefined ? 0 : await processCpuSeconds(p.pid)))
    return all.reduce((a, b) => a + b, 0)
  }

  async stop (): Promise<void> {
    for (const w of this.watches) w.stop()
    await Promise.all(this.procs.map(async p => { await p.stop() }))
  }
}
