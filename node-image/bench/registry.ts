/**
 * `npm run bench -- registry`
 *
 * 1. Registry convergence: N DawnNodes in this process on loopback (no HTTP), one
 *    announces a new agent, and we time until every registry digest equals the
 *    announcer's. Goal (from the issue): p99 < 2 s at 50 nodes.
 * 2. Crypto throughput: envelope seal/open through the real code next to raw
 *    Ed25519 sign/verify in node:crypto and @noble/curves, interleaved so the
 *    ratios are comparable even when the machine is noisy.
 */
import { getRandomValues, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { ed25519 } from '@noble/curves/ed25519.js'
import { DawnNode } from '../src/node/dawn-node.ts'
import { createNetworkDir } from '../src/local-mesh/network-dir.ts'
import { loadConfig } from '../src/config/load.ts'
import type { NodeConfig } from '../src/config/schema.ts'
import type { LogFn } from '../src/logging/json-logger.ts'
import { EnvelopeOpener, sealEnvelope } from '../src/p2p/envelope.ts'
import { createCa, decodePublicKeyPem, generateSeed, issueCertificate, peerIdFromSeed, privateKeyObject, publicKeyObject } from '../src/identity/index.ts'
import { Deadline, DeadlineError, fmtMiB, fmtMs, fmtOps, formatTable, median, sleep, summarize, withTimeout, type Summary } from './util.ts'

const GOAL_NODES = 50
const GOAL_P99_MS = 2000

const USAGE = `usage: npm run bench -- registry [options]

  --sizes LIST         mesh sizes to run (default 10,25,50)
  --trials N           announcements timed per size (default 20)
  --timeout S          wall-clock budget per size, seconds: start, mesh, trials (default 240)
  --trial-timeout S    give up on one announcement after S seconds (default 10)
  --bootstrap N        nodes everyone bootstraps from (default 3)
  --settle S           idle seconds between mesh-ready and the first trial (default 3)
  --full-mesh-wait S   after the mesh is connected, wait this long for a full mesh (default 30)
  --crypto-ms MS       length of one crypto measurement slice (default 300)
  --crypto-rounds N    interleaved rounds per crypto operation; the median is reported (default 5)
  --only WHAT          mesh | crypto (default both)
  --verbose            print every trial
  --help`

interface Options {
  sizes: number[]
  trials: number
  timeoutMs: number
  trialTimeoutMs: number
  bootstrap: number
  settleMs: number
  fullMeshWaitMs: number
  cryptoMs: number
  cryptoRounds: number
  mesh: boolean
  crypto: boolean
  verbose: boolean
}

function parseOptions (args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '10,25,50' },
      trials: { type: 'string', default: '20' },
      timeout: { type: 'string', default: '240' },
      'trial-timeout': { type: 'string', default: '10' },
      bootstrap: { type: 'string', default: '3' },
      settle: { type: 'string', default: '3' },
      'full-mesh-wait': { type: 'string', default: '30' },
      'crypto-ms': { type: 'string', default: '300' },
      'crypto-rounds': { type: 'string', default: '5' },
      only: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) return undefined
  const num = (name: string, raw: string, min: number): number => {
    const n = Number(raw)
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got "${raw}"\n${USAGE}`)
    return n
  }
  const sizes = values.sizes.split(',').map(s => s.trim()).filter(s => s !== '').map(s => num('sizes', s, 2))
  if (sizes.length === 0 || sizes.some(s => !Number.isInteger(s))) throw new Error(`--sizes must list whole numbers >= 2\n${USAGE}`)
  if (values.only !== undefined && values.only !== 'mesh' && values.only !== 'crypto') throw new Error(`--only must be mesh or crypto\n${USAGE}`)
  return {
    sizes,
    trials: Math.floor(num('trials', values.trials, 1)),
    timeoutMs: num('timeout', values.timeout, 10) * 1000,
    trialTimeoutMs: num('trial-timeout', values['trial-timeout'], 0.1) * 1000,
    bootstrap: Math.floor(num('bootstrap', values.bootstrap, 1)),
    settleMs: num('settle', values.settle, 0) * 1000,
    fullMeshWaitMs: num('full-mesh-wait', values['full-mesh-wait'], 0) * 1000,
    cryptoMs: num('crypto-ms', values['crypto-ms'], 10),
    cryptoRounds: Math.floor(num('crypto-rounds', values['crypto-rounds'], 1)),
    mesh: values.only !== 'crypto',
    crypto: values.only !== 'mesh',
    verbose: values.verbose
  }
}

export async function run (args: string[]): Promise<void> {
  const opts = parseOptions(args)
  if (opts === undefined) {
    process.stdout.write(USAGE + '\n')
    return
  }
  const out = (line = ''): void => { process.stdout.write(line + '\n') }

  let crypto: CryptoResult[] | undefined
  if (opts.crypto) {
    out('\n--- Ed25519 / envelope throughput (single thread, this process) ---')
    crypto = await cryptoBench(opts, out)
  }

  const meshResults: MeshResult[] = []
  if (opts.mesh) {
    out('\n--- Registry convergence (all nodes in this process, loopback TCP, http off) ---')
    out(`Mesh-ready criterion: every node has verified every other node (full mesh), or, if that does not happen`)
    out(`within --full-mesh-wait, every node has >= min(N-1, 8) verified peers and the verified graph is connected;`)
    out(`in both cases all registry digests must be equal. A trial ends when every node's digest equals the announcer's.`)
    const rejections = trackUnhandled()
    try {
      for (const size of opts.sizes) {
        out(`\n[${size} nodes]`)
        meshResults.push(await meshBench(size, opts, out))
      }
    } finally {
      rejections.stop()
    }
    if (rejections.count > 0) out(`\nunhandled promise rejections during the mesh runs: ${rejections.count} (first: ${rejections.first ?? '?'})`)
  }

  out('\n=== registry bench summary ===')
  if (crypto !== undefined) printCryptoSummary(crypto, out)
  if (meshResults.length > 0) printMeshSummary(meshResults, opts, out)
}

// ---------------------------------------------------------------------------
// Registry convergence
// ---------------------------------------------------------------------------

interface TrialResult {
  origin: number
  /** ms from setLocalAgents until the last node matched; undefined on timeout */
  ms?: number
  /** per receiving node, ms until its digest matched */
  arrivals: number[]
  missing: number
  /** nodes whose match was seen by the backstop poll rather than a 'change' event */
  viaPoll: number
}

interface MeshResult {
  size: number
  error?: string
  startMs?: number
  criterion?: string
  readyMs?: number
  degrees?: { min: number, median: number, max: number }
  trials: TrialResult[]
  convergence?: Summary
  perNode?: Summary
  firstNode?: Summary
  eluIdle?: number
  eluTrials?: number
  eldP99Ms?: number
  eldMaxMs?: number
  rssBytes?: number
  heapBytes?: number
  warnings: Map<string, number>
  stopMs?: number
  stopTimedOut: number
}

/** Counts what the nodes log at warn/error, so a noisy mesh shows up in the report. */
function countingLogger (counts: Map<string, number>): LogFn {
  return (level, msg) => {
    if (level !== 'warn' && level !== 'error') return
    const key = `${level}: ${msg}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
}

function trackUnhandled (): { count: number, first?: string, stop: () => void } {
  const state: { count: number, first?: string, stop: () => void } = {
    count: 0,
    stop: () => { process.off('unhandledRejection', handler) }
  }
  const handler = (reason: unknown): void => {
    state.count++
    state.first ??= reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason)
  }
  process.on('unhandledRejection', handler)
  return state
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

async function meshBench (size: number, opts: Options, out: (line?: string) => void): Promise<MeshResult> {
  const result: MeshResult = { size, trials: [], warnings: new Map(), stopTimedOut: 0 }
  const deadline = new Deadline(opts.timeoutMs)
  const dir = await mkdtemp(join(tmpdir(), `dawn-bench-${size}-`))
  const nodes: DawnNode[] = []
  const log = countingLogger(result.warnings)
  try {
    const net = await createNetworkDir({ dir, nodes: size, network: 'bench', bootstrapNodes: Math.min(opts.bootstrap, size), agents: initialAgents })
    for (const files of net.nodes) {
      // env: {} so DAWN_* variables of the calling shell cannot change the bench.
      const { config } = await loadConfig({ file: files.configFile, env: {}, flags: {} })
      nodes.push(await DawnNode.create({ config, http: false, log }))
    }

    const t0 = performance.now()
    await deadline.race(Promise.all(nodes.map(async n => { await n.start() })), 'starting nodes')
    result.startMs = performance.now() - t0
    out(`  started ${size} nodes in ${fmtMs(result.startMs)}`)

    // Wait for the mesh.
    const minDegree = Math.min(size - 1, 8)
    let connectedAt: number | undefined
    for (;;) {
      deadline.check(`waiting for the mesh (${describeDegrees(nodes)})`)
      const degrees = nodes.map(n => n.verifiedPeers().length)
      const equal = digestsEqual(nodes)
      const full = degrees.every(d => d >= size - 1)
      const connected = degrees.every(d => d >= minDegree) && connectedGraph(nodes)
      if (connected && equal) connectedAt ??= performance.now()
      if (!(connected && equal)) connectedAt = undefined
      if (full && equal) {
        result.criterion = `full mesh (${size - 1}/${size - 1} verified peers everywhere)`
        break
      }
      if (connectedAt !== undefined && performance.now() - connectedAt >= opts.fullMeshWaitMs) {
        result.criterion = `connected, every node >= ${minDegree} verified peers`
        break
      }
      await sleep(50)
    }
    result.readyMs = performance.now() - t0
    const degrees = nodes.map(n => n.verifiedPeers().length)
    result.degrees = { min: Math.min(...degrees), median: median(degrees), max: Math.max(...degrees) }
    out(`  mesh ready after ${fmtMs(result.readyMs)} from start: ${result.criterion}; verified peers min/median/max ${result.degrees.min}/${result.degrees.median}/${result.degrees.max}`)

    // Settle: let gossipsub build its topic meshes; measure the idle event-loop load meanwhile.
    const eluStart = performance.eventLoopUtilization()
    await sleep(Math.min(opts.settleMs, deadline.remaining))
    result.eluIdle = performance.eventLoopUtilization(eluStart).utilization
    while (!digestsEqual(nodes)) {
      deadline.check('waiting for registries to agree after settling')
      await sleep(50)
    }

    // Trials.
    const local = nodes.map((_n, i) => initialAgents(i))
    const eld = monitorEventLoopDelay({ resolution: 10 })
    eld.enable()
    const eluTrials = performance.eventLoopUtilization()
    for (let t = 0; t < opts.trials; t++) {
      if (deadline.passed) { out(`  time budget exhausted after ${t} trials`); break }
      const origin = Math.floor(Math.random() * size)
      const agents = [...(local[origin] ?? []), benchAgent(`bench-${size}-${t}`)]
      local[origin] = agents
      const trial = await runTrial(nodes, origin, agents, Math.min(opts.trialTimeoutMs, Math.max(100, deadline.remaining)))
      result.trials.push(trial)
      if (opts.verbose || trial.ms === undefined) {
        out(`  trial ${String(t + 1).padStart(3)}: node ${origin + 1} -> ${trial.ms === undefined ? `TIMEOUT, ${trial.missing} node(s) missing` : fmtMs(trial.ms)}${trial.viaPoll > 0 ? ` (${trial.viaPoll} seen by poll)` : ''}`)
      }
      if (trial.ms === undefined) {
        // Anti-entropy (every 30 s per node) should still repair it; later trials need a converged start.
        const healed = await withTimeout((async () => { while (!digestsEqual(nodes) && !deadline.passed) await sleep(100) })(), Math.min(40_000, deadline.remaining))
        if (healed === undefined || !digestsEqual(nodes)) { out('  registries did not re-converge; stopping this size'); break }
      }
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
    result.error = err instanceof DeadlineError ? err.message : `${(err as Error).name}: ${(err as Error).message}`
    out(`  FAILED: ${result.error}`)
  } finally {
    const t1 = performance.now()
    // Stop every created node (stop() is safe on a node that never started), each bounded.
    const stopped = await Promise.all(nodes.map(async n => await withTimeout(n.stop().then(() => true, () => true), 15_000)))
    result.stopTimedOut = stopped.filter(s => s === undefined).length
    result.stopMs = performance.now() - t1
    await rm(dir, { recursive: true, force: true })
    out(`  stopped ${nodes.length} nodes in ${fmtMs(result.stopMs)}${result.stopTimedOut > 0 ? ` (${result.stopTimedOut} did not stop within 15 s)` : ''}; removed ${dir}`)
  }
  return result
}

function describeDegrees (nodes: DawnNode[]): string {
  const degrees = nodes.map(n => n.verifiedPeers().length)
  const digests = new Set(nodes.map(n => n.registry.digest())).size
  return `verified peers min ${Math.min(...degrees)} max ${Math.max(...degrees)}, ${digests} distinct digest(s)`
}

/**
 * One announcement. Listens to every registry's 'change' event (the whole mesh shares
 * this event loop, so the timestamps are exact); a 250 ms poll backs it up in case a
 * merge changes the digest without an event.
 */
async function runTrial (nodes: DawnNode[], origin: number, agents: NodeConfig['agents'], timeoutMs: number): Promise<TrialResult> {
  return await new Promise(resolve => {
    const announcer = nodes[origin] as DawnNode
    const t0 = performance.now()
    announcer.setLocalAgents(agents)
    const target = announcer.registry.digest()
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

function printMeshSummary (results: MeshResult[], opts: Options, out: (line?: string) => void): void {
  out(`\nRegistry convergence: time from setLocalAgents() on a random node until every node's digest matches (${opts.trials} trials per size; nearest-rank percentiles, so with < 100 trials p99 = max)`)
  const rows = results.map(r => {
    const c = r.convergence
    const ok = r.trials.filter(t => t.ms !== undefined).length
    return [
      String(r.size),
      r.error !== undefined && r.trials.length === 0 ? 'failed' : `${ok}/${r.trials.length}`,
      fmtMs(c?.p50 ?? NaN),
      fmtMs(c?.p99 ?? NaN),
      fmtMs(c?.max ?? NaN),
      fmtMs(r.firstNode?.p50 ?? NaN),
      `${fmtMs(r.perNode?.p50 ?? NaN)} / ${fmtMs(r.perNode?.p99 ?? NaN)}`,
      r.readyMs === undefined ? '-' : fmtMs(r.readyMs),
      r.degrees === undefined ? '-' : `${r.degrees.min}/${r.degrees.max}`,
      r.eluIdle === undefined ? '-' : `${(r.eluIdle * 100).toFixed(0)}%`,
      r.eluTrials === undefined ? '-' : `${(r.eluTrials * 100).toFixed(0)}%`,
      r.eldP99Ms === undefined ? '-' : `${fmtMs(r.eldP99Ms)} / ${fmtMs(r.eldMaxMs ?? NaN)}`,
      r.rssBytes === undefined ? '-' : fmtMiB(r.rssBytes)
    ]
  })
  out(formatTable(['nodes', 'trials', 'p50', 'p99', 'max', '1st node p50', 'per-node p50/p99', 'mesh ready', 'peers min/max', 'ELU idle', 'ELU trials', 'loop delay p99/max', 'rss'], rows))
  out('  1st node = first receiver; per-node = each receiver\'s own latency; ELU = event-loop utilization of the one shared process')
  for (const r of results) {
    if (r.error !== undefined) out(`  ${r.size} nodes: ${r.error}`)
    for (const [msg, n] of r.warnings) out(`  ${r.size} nodes logged ${n}x ${msg}`)
    const polled = r.trials.reduce((a, t) => a + t.viaPoll, 0)
    if (polled > 0) out(`  ${r.size} nodes: ${polled} node-arrivals were only seen by the backstop poll (digest changed without a 'change' event)`)
  }
  const goal = results.find(r => r.size === GOAL_NODES)
  if (goal === undefined) {
    out(`\nGoal (p99 < ${GOAL_P99_MS} ms at ${GOAL_NODES} nodes on loopback): NOT MEASURED (--sizes did not include ${GOAL_NODES})`)
  } else if (goal.convergence === undefined || goal.trials.some(t => t.ms === undefined)) {
    out(`\nGoal (p99 < ${GOAL_P99_MS} ms at ${GOAL_NODES} nodes on loopback): NOT MET (${goal.error ?? 'some trials did not converge'})`)
  } else {
    const met = goal.convergence.p99 < GOAL_P99_MS
    out(`\nGoal (p99 < ${GOAL_P99_MS} ms at ${GOAL_NODES} nodes on loopback): ${met ? 'MET' : 'NOT MET'} (p99 ${fmtMs(goal.convergence.p99)} over ${goal.convergence.n} trials, ${(goal.convergence.p99 / GOAL_P99_MS * 100).toFixed(1)}% of the budget)`)
  }
}

// ---------------------------------------------------------------------------
// Crypto throughput
// ---------------------------------------------------------------------------

interface CryptoResult {
  name: string
  opsPerSec: number
  /** min..max over rounds, as a noise indicator */
  spread: [number, number]
}

interface CryptoOp {
  name: string
  op: () => void
}

async function cryptoBench (opts: Options, out: (line?: string) => void): Promise<CryptoResult[]> {
  const network = 'bench'
  const ca = createCa()
  const caPublicKey = decodePublicKeyPem(ca.publicKeyPem)
  const seed = generateSeed()
  const peerId = peerIdFromSeed(seed)
  const cert = issueCertificate({ caPrivateKeyPem: ca.privateKeyPem, network, peerId, validForSeconds: 3600 })
  const body = getRandomValues(new Uint8Array(200))
  const sealOpts = { type: 'registry.delta', network, body, privateKey: seed, peerId, cert }

  // Raw Ed25519 over a message as long as what the envelope actually signs.
  const sample = sealEnvelope(sealOpts)
  const signedLength = approxSignedLength(sample)
  const msg = getRandomValues(new Uint8Array(signedLength))
  const privateKey = privateKeyObject(seed)
  const publicRaw = ed25519.getPublicKey(seed)
  const publicKey = publicKeyObject(publicRaw)
  const nodeSig = cryptoSign(null, msg, privateKey)
  const nobleSig = ed25519.sign(msg, seed)
  if (!cryptoVerify(null, msg, publicKey, nodeSig) || !ed25519.verify(nobleSig, msg, publicRaw)) throw new Error('raw Ed25519 self-check failed')

  // Opening needs fresh nonces: each opener remembers what it opened (up to 100k, after
  // which it refuses anything not newer than the forgotten nonces). So we pre-seal a pool
  // and give every pass over it a new opener whose certificate cache is warmed untimed.
  const POOL = 20_000
  const pool: Uint8Array[] = []
  for (let i = 0; i < POOL; i++) pool.push(sealEnvelope(sealOpts))
  const newOpener = (): EnvelopeOpener => new EnvelopeOpener({ network, caPublicKey, maxBytes: 1024 * 1024, replayWindowMs: 600_000 })
  let opener = newOpener()
  opener.open(sealEnvelope(sealOpts))
  let next = 0
  const openOne = (): void => {
    if (next === POOL) {
      opener = newOpener()
      opener.open(sealEnvelope(sealOpts)) // cert verification happens once per opener; keep it out of the steady state
      next = 0
    }
    opener.open(pool[next++] as Uint8Array)
  }

  const ops: CryptoOp[] = [
    { name: 'envelope seal (sealEnvelope)', op: () => { sealEnvelope(sealOpts) } },
    { name: 'envelope open (EnvelopeOpener.open)', op: openOne },
    { name: 'node:crypto Ed25519 sign', op: () => { cryptoSign(null, msg, privateKey) } },
    { name: 'node:crypto Ed25519 verify', op: () => { cryptoVerify(null, msg, publicKey, nodeSig) } },
    { name: '@noble/curves ed25519.sign', op: () => { ed25519.sign(msg, seed) } },
    { name: '@noble/curves ed25519.verify', op: () => { ed25519.verify(nobleSig, msg, publicRaw) } }
  ]
  out(`  envelope: ${sample.byteLength} bytes on the wire for a 200-byte body; raw Ed25519 signs a ${signedLength}-byte message (the envelope's signed bytes)`)
  out(`  ${opts.cryptoRounds} interleaved rounds of ${opts.cryptoMs} ms per operation (after a warm-up); median ops/s reported`)

  // Warm-up (JIT, caches), then interleaved rounds.
  for (const o of ops) measure(o.op, Math.min(200, opts.cryptoMs))
  const samples = new Map<string, number[]>(ops.map(o => [o.name, []]))
  for (let r = 0; r < opts.cryptoRounds; r++) {
    for (const o of ops) samples.get(o.name)?.push(measure(o.op, opts.cryptoMs))
    // Yield between rounds so timers (and Ctrl-C) still run.
    await sleep(0)
  }
  const results = ops.map(o => {
    const s = samples.get(o.name) ?? []
    return { name: o.name, opsPerSec: median(s), spread: [Math.min(...s), Math.max(...s)] as [number, number] }
  })
  for (const r of results) out(`  ${r.name.padEnd(38)} ${fmtOps(r.opsPerSec).padStart(8)} ops/s`)
  return results
}

/** Runs `op` in batches for about `ms` milliseconds and returns ops per second. */
function measure (op: () => void, ms: number): number {
  let count = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < 32; i++) op()
    count += 32
    now = performance.now()
  }
  return count / ((now - start) / 1000)
}

/** Length of the bytes sealEnvelope signs: the domain line plus a JSON array of the fields. */
function approxSignedLength (wire: Uint8Array): number {
  const e = JSON.parse(new TextDecoder().decode(wire)) as Record<string, unknown> & { cert: { signature: string } }
  const fields = [e.v, e.type, e.network, e.from, e.nonce, e.ts, e.trace ?? null, e.body, e.cert.signature]
  return 'dawn/envelope/v1\n'.length + JSON.stringify(fields).length
}

function printCryptoSummary (results: CryptoResult[], out: (line?: string) => void): void {
  const by = (prefix: string): number => results.find(r => r.name.startsWith(prefix))?.opsPerSec ?? NaN
  out('\nCrypto throughput (one thread; median of interleaved rounds; min-max shows the noise)')
  out(formatTable(['operation', 'ops/s', 'us/op', 'min-max ops/s'], results.map(r => [
    r.name, fmtOps(r.opsPerSec), (1e6 / r.opsPerSec).toFixed(1), `${fmtOps(r.spread[0])}-${fmtOps(r.spread[1])}`
  ])))
  const seal = by('envelope seal')
  const open = by('envelope open')
  const sign = by('node:crypto Ed25519 sign')
  const verify = by('node:crypto Ed25519 verify')
  const nobleSign = by('@noble/curves ed25519.sign')
  const nobleVerify = by('@noble/curves ed25519.verify')
  const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}x`
  out('Ratios:')
  out(`  envelope open / node:crypto verify     ${ratio(open, verify)}   (envelope work besides the signature: ${(1e6 / open - 1e6 / verify).toFixed(1)} us/open)`)
  out(`  envelope seal / node:crypto sign       ${ratio(seal, sign)}   (${(1e6 / seal - 1e6 / sign).toFixed(1)} us/seal besides the signature)`)
  out(`  node:crypto verify / noble verify      ${ratio(verify, nobleVerify)}`)
  out(`  node:crypto sign / noble sign          ${ratio(sign, nobleSign)}`)
  out(`  envelope open / noble verify           ${ratio(open, nobleVerify)}`)
  out(`  one registry delta to a ${GOAL_NODES}-node mesh costs ${GOAL_NODES - 1} opens, about ${((GOAL_NODES - 1) * 1000 / open).toFixed(1)} ms of CPU when every node shares one core`)
}
