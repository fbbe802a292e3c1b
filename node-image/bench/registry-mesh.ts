/**
 * One mesh size of the registry bench: start N DawnNodes in this process, wait for the
 * mesh, time K announcements until every registry digest matches, stop everything.
 *
 * registry.ts runs this file as a child process per size (fresh heap, fresh libp2p
 * and WASM state, and a crash or hang cannot take the whole bench down); the result
 * goes back over the IPC channel.
 */
import { rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { loadavg } from 'node:os'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { DawnNode } from '../src/node/dawn-node.ts'
import { createNetworkDir } from '../src/local-mesh/network-dir.ts'
import { freePort } from '../src/local-mesh/free-port.ts'
import { loadConfig } from '../src/config/load.ts'
import type { NodeConfig } from '../src/config/schema.ts'
import type { LogFn } from '../src/logging/json-logger.ts'
import { Deadline, DeadlineError, fmtMiB, fmtMs, median, sleep, summarize, withTimeout, type Summary } from './util.ts'

export interface MeshOptions {
  size: number
  dir: string
  trials: number
  timeoutMs: number
  meshTimeoutMs: number
  trialTimeoutMs: number
  bootstrap: number
  wave: number
  settleMs: number
  fullMeshWaitMs: number
  noIpPenalty: boolean
  /** overrides p2p.maxConnections in every node's config (undefined = node default) */
  maxConnections?: number
  /** leave xsalsa20's shared WASM memory at its initial size (see pregrowPnetPool) */
  rawPnet: boolean
  verbose: boolean
}

export interface TrialResult {
  origin: number
  /** ms from setLocalAgents until the last node matched; undefined on timeout */
  ms?: number
  /** per receiving node, ms until its digest matched */
  arrivals: number[]
  missing: number
  /** nodes whose match was seen by the backstop poll rather than a 'change' event */
  viaPoll: number
  /** after a timeout: ms from the announcement until anti-entropy had converged everything */
  healedMs?: number
}

export interface GossipScores {
  /** peer scores as each node sees its verified peers */
  min: number
  median: number
  /** fraction of (node, peer) pairs below gossipsub's graylist threshold: their messages are ignored */
  graylisted: number
  /** fraction below the gossip threshold (no IHAVE/IWANT with them) */
  belowGossip: number
}

export interface MeshResult {
  size: number
  error?: string
  startMs?: number
  portRetries: number
  criterion?: string
  criterionMet?: boolean
  readyMs?: number
  degrees?: { min: number, median: number, max: number }
  scores?: GossipScores
  trials: TrialResult[]
  convergence?: Summary
  perNode?: Summary
  firstNode?: Summary
  eluIdle?: number
  eluTrials?: number
  eldP99Ms?: number
  eldMaxMs?: number
  cpuSecondsPerSecond?: number
  rssBytes?: number
  heapBytes?: number
  warnings: Array<[string, number]>
  unhandled: number
  firstUnhandled?: string
  stopMs?: number
  stopTimedOut: number
  /** 1-minute load average of the machine when the size started and ended */
  load: [number, number]
}

function initialAgents (index: number): NodeConfig['agents'] {
  return [{ id: 'echo', name: `Echo ${index + 1}`, kind: 'static', description: 'bench agent present from the start', tools: [{ name: 'echo', description: 'Return the input' }] }]
}

function benchAgent (id: string): NodeConfig['agents'][number] {
  return { id, name: id, kind: 'static', description: 'announced by the registry bench', tools: [{ name: 'ping', description: 'Answer pong' }] }
}

function connectedGraph (nodes: DawnNode[]): boolean {
  const index = new Map(nodes.map((n, i) => [n.peerId, i]))
  const seen = new Set<number>([0])
  const queue = [0]
  while (queue.length > 0) {
    const i = queue.pop() as number
    for (const peer of (nodes[i] as DawnNode).verifiedPeers()) {
      const j = index.get(peer)
      if (j !== undefined && !seen.has(j)) { seen.add(j); queue.push(j) }
    }
  }
  return seen.size === nodes.length
}

function digestsEqual (nodes: DawnNode[]): boolean {
  const first = nodes[0]?.registry.digest()
  return nodes.every(n => n.registry.digest() === first)
}

function describeMesh (nodes: DawnNode[]): string {
  const degrees = nodes.map(n => n.verifiedPeers().length)
  const digests = new Set(nodes.map(n => n.registry.digest())).size
  return `verified peers min ${Math.min(...degrees)} median ${median(degrees)} max ${Math.max(...degrees)}, ${digests} distinct digest(s)`
}

interface ScoringPubsub {
  opts: { scoreThresholds: { graylistThreshold: number, gossipThreshold: number } }
  getScore: (peer: string) => number
}

function gossipScores (nodes: DawnNode[]): GossipScores | undefined {
  const scores: number[] = []
  let graylist = -80
  let gossip = -10
  for (const n of nodes) {
    // The implementation class has these; the exported GossipSub interface does not.
    const pubsub = n.libp2p.services.pubsub as unknown as ScoringPubsub
    graylist = pubsub.opts.scoreThresholds.graylistThreshold
    gossip = pubsub.opts.scoreThresholds.gossipThreshold
    for (const peer of n.verifiedPeers()) scores.push(pubsub.getScore(peer))
  }
  if (scores.length === 0) return undefined
  return {
    min: Math.min(...scores),
    median: median(scores),
    graylisted: scores.filter(s => s < graylist).length / scores.length,
    belowGossip: scores.filter(s => s < gossip).length / scores.length
  }
}

/**
 * The bench-only workaround behind --no-ip-penalty: every node here connects from
 * 127.0.0.1, and gossipsub's default IP-colocation penalty (P6) graylists peers once
 * more than ~14 share an address. Zeroing the weight is what a fix in host.ts would do.
 */
function dropIpPenalty (node: DawnNode): void {
  const pubsub = node.libp2p.services.pubsub as unknown as { score: { params: { IPColocationFactorWeight: number } } }
  pubsub.score.params.IPColocationFactorWeight = 0
}

/**
 * Bench-only guard for a dependency bug. @libp2p/pnet 3.0.27 never finalizes its
 * xsalsa20 ciphers, so every connection that gets past the 24-byte nonce exchange
 * leaks two 64-byte slots in the one WASM memory xsalsa20 shares per process. Once
 * the slots pass the initial 640 KiB the memory grows, which detaches the cached
 * view of every live cipher; each of them then grows it again on its next update
 * and the process dies with "WebAssembly.Memory.grow(): Maximum memory size
 * exceeded" (~5,000 connections per process; 50 in-process nodes get there while
 * meshing). Growing the memory once, before any connection exists, leaves no stale
 * views and room for ~900k slots. Must run before the first connection.
 */
function pregrowPnetPool (): boolean {
  try {
    const req = createRequire(createRequire(import.meta.url).resolve('@libp2p/pnet'))
    const xsalsa20 = req('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => { update: (input: Uint8Array) => Uint8Array, finalize: () => void }
    const cipher = xsalsa20(new Uint8Array(24), new Uint8Array(32))
    cipher.update(new Uint8Array(56 * 1024 * 1024))
    cipher.finalize()
    return true
  } catch {
    return false
  }
}

/**
 * One announcement. Listens to every registry's 'change' event (the whole mesh shares
 * this event loop, so the timestamps are exact); a 250 ms poll backs it up in case a
 * merge changes the digest without an event.
 */
async function runTrial (nodes: DawnNode[], origin: number, agents: NodeConfig['agents'], timeoutMs: number): Promise<TrialResult> {
  const announcer = nodes[origin] as DawnNode
  const t0 = performance.now()
  // Static agents publish within microtasks, before any gossip can arrive.
  await announcer.setLocalAgents(agents)
  const target = announcer.registry.digest()
  return await new Promise(resolve => {
    const pending = new Set(nodes.map((_n, j) => j).filter(j => j !== origin))
    const arrivals: number[] = []
    const listeners = new Map<number, () => void>()
    let viaPoll = 0
    let done = false
    const finish = (): void => {
      if (done) return
      done = true
      clearInterval(poll)
      clearTimeout(timer)
      for (const [j, l] of listeners) nodes[j]?.registry.removeEventListener('change', l)
      resolve({ origin, ms: pending.size === 0 ? Math.max(0, ...arrivals) : undefined, arrivals, missing: pending.size, viaPoll })
    }
    const check = (j: number, byPoll: boolean): void => {
      if (!pending.has(j) || nodes[j]?.registry.digest() !== target) return
      arrivals.push(performance.now() - t0)
      pending.delete(j)
      if (byPoll) viaPoll++
      if (pending.size === 0) finish()
    }
    for (const j of pending) {
      const listener = (): void => { check(j, false) }
      listeners.set(j, listener)
      nodes[j]?.registry.addEventListener('change', listener)
    }
    const poll = setInterval(() => { for (const j of [...pending]) check(j, true) }, 250)
    const timer = setTimeout(finish, timeoutMs)
    if (pending.size === 0) finish()
  })
}

function isAddressInUse (err: unknown): boolean {
  // libp2p wraps the listen error; the code only shows in the message text.
  return err instanceof Error && err.message.includes('EADDRINUSE')
}

export async function meshBench (opts: MeshOptions, out: (line?: string) => void): Promise<MeshResult> {
  const { size } = opts
  const result: MeshResult = { size, trials: [], warnings: [], unhandled: 0, portRetries: 0, stopTimedOut: 0, load: [loadavg()[0] ?? 0, 0] }
  const warnings = new Map<string, number>()
  const log: LogFn = (level, msg, fields) => {
    if (level !== 'warn' && level !== 'error') return
    const reason = fields?.reason
    const key = `${level}: ${msg}${typeof reason === 'string' ? ` (reason: ${reason})` : ''}`
    warnings.set(key, (warnings.get(key) ?? 0) + 1)
  }
  const onUnhandled = (reason: unknown): void => {
    result.unhandled++
    result.firstUnhandled ??= reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)
  }
  process.on('unhandledRejection', onUnhandled)
  const deadline = new Deadline(opts.timeoutMs)
  const nodes: DawnNode[] = []
  const all: DawnNode[] = []
  if (!opts.rawPnet) {
    out(pregrowPnetPool()
      ? '  pre-grew the xsalsa20 WASM pool used by @libp2p/pnet (works around its per-connection leak; --raw-pnet disables)'
      : '  could not pre-grow the xsalsa20 WASM pool; 50 in-process nodes may crash in @libp2p/pnet')
  }
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  try {
    const maxConnections = opts.maxConnections
    const net = await createNetworkDir({
      dir: opts.dir,
      nodes: size,
      network: 'bench',
      bootstrapNodes: Math.min(opts.bootstrap, size),
      agents: initialAgents,
      ...(maxConnections === undefined ? {} : { patch: (_i: number, config: Record<string, unknown>) => { (config.p2p as Record<string, unknown>).maxConnections = maxConnections } })
    })
    const configs: NodeConfig[] = []
    for (const files of net.nodes) {
      // env: {} so DAWN_* variables of the calling shell cannot change the bench.
      configs.push((await loadConfig({ file: files.configFile, env: {}, flags: {} })).config)
    }

    // The listen ports were free when the network dir was written, but until a node
    // binds its port an outgoing connection of an earlier node can take it as its
    // ephemeral source port. Retry such a node on a fresh port (peers learn it from
    // its announcements; bootstrap nodes start first, before there is any traffic).
    const startNode = async (i: number): Promise<void> => {
      for (let attempt = 0; ; attempt++) {
        const node = await DawnNode.create({ config: configs[i] as NodeConfig, http: false, log })
        all.push(node)
        try {
          await node.start()
          if (opts.noIpPenalty) dropIpPenalty(node)
          nodes[i] = node
          return
        } catch (err) {
          await withTimeout(node.stop().catch(() => {}), 5000)
          if (!isAddressInUse(err) || attempt >= 3) throw err
          result.portRetries++
          const config = configs[i] as NodeConfig
          configs[i] = { ...config, p2p: { ...config.p2p, listen: [`/ip4/127.0.0.1/tcp/${await freePort()}`] } }
        }
      }
    }

    const t0 = performance.now()
    const bootstrapCount = Math.min(opts.bootstrap, size)
    await deadline.race(Promise.all(Array.from({ length: bootstrapCount }, async (_v, i) => { await startNode(i) })), 'starting the bootstrap nodes')
    const wave = opts.wave > 0 ? opts.wave : size
    for (let i = bootstrapCount; i < size; i += wave) {
      const batch = Array.from({ length: Math.min(wave, size - i) }, (_v, k) => i + k)
      await deadline.race(Promise.all(batch.map(startNode)), 'starting nodes')
      if (opts.wave > 0) {
        // Let the started nodes mesh (or 30 s pass) before the next wave starts dialing.
        const started = nodes.slice(0, i + batch.length)
        const until = performance.now() + 30_000
        while (performance.now() < until && !started.every(n => n.verifiedPeers().length >= started.length - 1)) {
          deadline.check(`starting nodes (${describeMesh(started)})`)
          await sleep(50)
        }
        out(`  ... ${((performance.now() - t0) / 1000).toFixed(0)} s: ${started.length} nodes started, ${describeMesh(started)}`)
      }
    }
    result.startMs = performance.now() - t0
    out(`  started ${size} nodes in ${fmtMs(result.startMs)}${opts.wave > 0 ? ` (waves of ${opts.wave})` : ''}${result.portRetries > 0 ? `; ${result.portRetries} node(s) retried on a fresh port after EADDRINUSE` : ''}`)

    // Wait for the mesh.
    const minDegree = Math.min(size - 1, 8)
    const meshDeadline = Math.min(deadline.at, Date.now() + opts.meshTimeoutMs)
    let connectedAt: number | undefined
    let lastReport = performance.now()
    for (;;) {
      deadline.check(`waiting for the mesh (${describeMesh(nodes)})`)
      const degrees = nodes.map(n => n.verifiedPeers().length)
      const equal = digestsEqual(nodes)
      const full = degrees.every(d => d >= size - 1)
      const connected = degrees.every(d => d >= minDegree) && connectedGraph(nodes)
      if (connected && equal) connectedAt ??= performance.now()
      else connectedAt = undefined
      if (full && equal) {
        result.criterion = `full mesh (${size - 1} verified peers on every node)`
        result.criterionMet = true
        break
      }
      if (connectedAt !== undefined && performance.now() - connectedAt >= opts.fullMeshWaitMs) {
        result.criterion = `connected, every node >= ${minDegree} verified peers (no full mesh after ${fmtMs(opts.fullMeshWaitMs)})`
        result.criterionMet = true
        break
      }
      if (Date.now() >= meshDeadline && equal) {
        result.criterion = `NOT MET after ${fmtMs(opts.meshTimeoutMs)}; registries agree, so trials run anyway`
        result.criterionMet = false
        break
      }
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now()
        out(`  ... ${((performance.now() - t0) / 1000).toFixed(0)} s: ${describeMesh(nodes)}`)
      }
      await sleep(50)
    }
    result.readyMs = performance.now() - t0
    const degrees = nodes.map(n => n.verifiedPeers().length)
    result.degrees = { min: Math.min(...degrees), median: median(degrees), max: Math.max(...degrees) }
    out(`  mesh after ${fmtMs(result.readyMs)}: ${result.criterion}; verified peers min/median/max ${result.degrees.min}/${result.degrees.median}/${result.degrees.max}`)

    // Settle: let gossipsub build its topic meshes; measure the idle event-loop load meanwhile.
    const eluStart = performance.eventLoopUtilization()
    await sleep(Math.min(opts.settleMs, deadline.remaining))
    result.eluIdle = performance.eventLoopUtilization(eluStart).utilization
    result.scores = gossipScores(nodes)
    if (result.scores !== undefined) {
      const s = result.scores
      out(`  gossipsub peer scores: min ${s.min.toFixed(0)}, median ${s.median.toFixed(0)}; ${(s.graylisted * 100).toFixed(0)}% of peer links graylisted, ${(s.belowGossip * 100).toFixed(0)}% below the gossip threshold`)
    }
    while (!digestsEqual(nodes)) {
      deadline.check('waiting for registries to agree after settling')
      await sleep(50)
    }

    // Trials.
    const local = nodes.map((_n, i) => initialAgents(i))
    const eld = monitorEventLoopDelay({ resolution: 10 })
    eld.enable()
    const eluTrials = performance.eventLoopUtilization()
    let consecutiveTimeouts = 0
    for (let t = 0; t < opts.trials; t++) {
      if (deadline.passed) { out(`  time budget exhausted after ${t} trials`); break }
      const origin = Math.floor(Math.random() * size)
      const agents = [...(local[origin] ?? []), benchAgent(`bench-${size}-${t}`)]
      local[origin] = agents
      const t0Trial = performance.now()
      const trial = await runTrial(nodes, origin, agents, Math.min(opts.trialTimeoutMs, Math.max(100, deadline.remaining)))
      result.trials.push(trial)
      if (trial.ms === undefined) {
        consecutiveTimeouts++
        // Anti-entropy (one random peer every 30 s per node) still repairs it; measure how long that takes.
        await withTimeout((async () => { while (!digestsEqual(nodes) && !deadline.passed) await sleep(100) })(), Math.min(90_000, deadline.remaining))
        if (digestsEqual(nodes)) trial.healedMs = performance.now() - t0Trial
      } else {
        consecutiveTimeouts = 0
      }
      if (opts.verbose || trial.ms === undefined) {
        const what = trial.ms !== undefined
          ? fmtMs(trial.ms)
          : `TIMEOUT after ${fmtMs(opts.trialTimeoutMs)}, ${trial.missing}/${size - 1} nodes missing; ${trial.healedMs === undefined ? 'not healed' : `anti-entropy converged all after ${fmtMs(trial.healedMs)}`}`
        out(`  trial ${String(t + 1).padStart(3)}: node ${origin + 1} -> ${what}${trial.viaPoll > 0 ? ` (${trial.viaPoll} seen by poll)` : ''}`)
      }
      if (trial.ms === undefined && !digestsEqual(nodes)) { out('  registries did not re-converge; stopping this size'); break }
      if (consecutiveTimeouts >= 3) { out('  3 trials in a row timed out: gossip is not delivering; stopping this size'); break }
      // Random gap so trials do not lock onto gossipsub's 1 s heartbeat.
      await sleep(150 + Math.random() * 250)
    }
    result.eluTrials = performance.eventLoopUtilization(eluTrials).utilization
    eld.disable()
    result.eldP99Ms = eld.percentile(99) / 1e6
    result.eldMaxMs = eld.max / 1e6

    const ok = result.trials.filter(t => t.ms !== undefined)
    if (ok.length > 0) {
      result.convergence = summarize(ok.map(t => t.ms as number))
      result.perNode = summarize(ok.flatMap(t => t.arrivals))
      result.firstNode = summarize(ok.map(t => Math.min(...t.arrivals)))
    }
    const mem = process.memoryUsage()
    result.rssBytes = mem.rss
    result.heapBytes = mem.heapUsed
    const c = result.convergence
    out(`  ${ok.length}/${result.trials.length} trials converged; all-nodes p50 ${fmtMs(c?.p50 ?? NaN)}, p99 ${fmtMs(c?.p99 ?? NaN)}, max ${fmtMs(c?.max ?? NaN)}; rss ${fmtMiB(mem.rss)}`)
  } catch (err) {
    result.error = err instanceof DeadlineError ? err.message : `${(err as Error).name}: ${(err as Error).message.split('\n')[0] ?? ''}`
    out(`  FAILED: ${result.error}`)
  } finally {
    const cpu = process.cpuUsage(cpu0)
    result.cpuSecondsPerSecond = (cpu.user + cpu.system) / 1e6 / ((performance.now() - wall0) / 1000)
    const t1 = performance.now()
    // Stop every node created (stop() is safe on one that never started), each bounded.
    const stopped = await Promise.all(all.map(async n => await withTimeout(n.stop().then(() => true, () => true), 15_000)))
    result.stopTimedOut = stopped.filter(s => s === undefined).length
    result.stopMs = performance.now() - t1
    result.warnings = [...warnings]
    result.load[1] = loadavg()[0] ?? 0
    process.off('unhandledRejection', onUnhandled)
    await rm(opts.dir, { recursive: true, force: true })
    const retried = all.length - Object.keys(nodes).length // nodes may have holes if a start failed
    out(`  stopped ${all.length} node instance(s)${retried > 0 ? ` (${retried} from failed start attempts)` : ''} in ${fmtMs(result.stopMs)}${result.stopTimedOut > 0 ? ` (${result.stopTimedOut} did not stop within 15 s)` : ''}; removed ${opts.dir}`)
  }
  return result
}

// Child-process entry: options come as JSON in argv, the result goes back over IPC.
if (import.meta.main) {
  const opts = JSON.parse(process.argv[2] ?? '{}') as MeshOptions
  const out = (line = ''): void => { process.stdout.write(line + '\n') }
  meshBench(opts, out).then(result => {
    process.send?.({ result }, () => { process.exit(0) })
  }, (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  })
}
