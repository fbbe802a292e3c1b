/**
 * `npm run bench -- registry`
 *
 * 1. Registry convergence: N DawnNodes in one process on loopback (no HTTP), one
 *    announces a new agent, and we time until every registry digest equals the
 *    announcer's. Goal (from the issue): p99 < 2 s at 50 nodes. Each size runs in a
 *    child process (registry-mesh.ts) so sizes do not share heap or libp2p state.
 * 2. Crypto throughput: envelope seal/open through the real code next to raw
 *    Ed25519 sign/verify in node:crypto and @noble/curves, interleaved so the
 *    ratios are comparable even when the machine is noisy.
 */
import { fork } from 'node:child_process'
import { getRandomValues, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { ed25519 } from '@noble/curves/ed25519.js'
import { EnvelopeOpener, EnvelopeSigner } from '../src/p2p/envelope.ts'
import { createCa, decodePublicKeyPem, generateSeed, issueCertificate, peerIdFromSeed, privateKeyObject, publicKeyObject } from '../src/identity/index.ts'
import type { MeshOptions, MeshResult } from './registry-mesh.ts'
import { fmtMiB, fmtMs, fmtOps, formatTable, median, sleep, opsPerSecond, numberOption } from './util.ts'

const GOAL_NODES = 50
const GOAL_P99_MS = 2000
const MESH_CHILD = fileURLToPath(new URL('./registry-mesh.ts', import.meta.url))

const USAGE = `usage: npm run bench -- registry [options]

  --sizes LIST         mesh sizes to run (default 10,25,50)
  --trials N           announcements timed per size (default 20)
  --timeout S          wall-clock budget per size, seconds (default 420); the child is killed 30 s later
  --mesh-timeout S     wait at most this long for the mesh criterion (default 120)
  --trial-timeout S    an announcement not everywhere after S seconds is a timeout (default 10)
  --bootstrap N        nodes everyone bootstraps from (default 3)
  --wave N             start the non-bootstrap nodes N at a time, each wave once the started nodes
                       are fully meshed (or after 30 s); 0 = all at once (default 10)
  --settle S           idle seconds between mesh-ready and the first trial (default 3)
  --full-mesh-wait S   once the mesh is connected, wait this long for a full mesh (default 20)
  --no-ip-penalty      (now the node default) zero gossipsub's IP-colocation score weight on every
                       node (all nodes share 127.0.0.1; without it gossip is graylisted above ~14 peers)
  --max-connections N  set p2p.maxConnections on every node (default: the node default, 300); the
                       peer announcer dials while below N/2 connections, so this thins the mesh
  --raw-pnet           do not pre-grow xsalsa20's shared WASM memory in the mesh process (then
                       @libp2p/pnet's per-connection leak crashes a 50-node process while meshing)
  --crypto-ms MS       length of one crypto measurement slice (default 300)
  --crypto-rounds N    interleaved rounds per crypto operation; the median is reported (default 5)
  --only WHAT          mesh | crypto (default both)
  --verbose            print every trial
  --help`

/** The per-size mesh options (minus what each run picks itself), plus what this driver adds. */
interface Options extends Omit<MeshOptions, 'size' | 'dir'> {
  sizes: number[]
  cryptoMs: number
  cryptoRounds: number
  mesh: boolean
  crypto: boolean
}

function parseOptions (args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '10,25,50' },
      trials: { type: 'string', default: '20' },
      timeout: { type: 'string', default: '420' },
      'mesh-timeout': { type: 'string', default: '120' },
      'trial-timeout': { type: 'string', default: '10' },
      bootstrap: { type: 'string', default: '3' },
      wave: { type: 'string', default: '10' },
      settle: { type: 'string', default: '3' },
      'full-mesh-wait': { type: 'string', default: '20' },
      'no-ip-penalty': { type: 'boolean', default: false },
      'raw-pnet': { type: 'boolean', default: false },
      'max-connections': { type: 'string' },
      'crypto-ms': { type: 'string', default: '300' },
      'crypto-rounds': { type: 'string', default: '5' },
      only: { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) return undefined
  const num = (name: string, raw: string, min: number): number => numberOption(name, raw, min, USAGE)
  const sizes = values.sizes.split(',').map(s => s.trim()).filter(s => s !== '').map(s => num('sizes', s, 2))
  if (sizes.length === 0 || sizes.some(s => !Number.isInteger(s))) throw new Error(`--sizes must list whole numbers >= 2\n${USAGE}`)
  if (values.only !== undefined && values.only !== 'mesh' && values.only !== 'crypto') throw new Error(`--only must be mesh or crypto\n${USAGE}`)
  return {
    sizes,
    trials: Math.floor(num('trials', values.trials, 1)),
    timeoutMs: num('timeout', values.timeout, 10) * 1000,
    meshTimeoutMs: num('mesh-timeout', values['mesh-timeout'], 1) * 1000,
    trialTimeoutMs: num('trial-timeout', values['trial-timeout'], 0.1) * 1000,
    bootstrap: Math.floor(num('bootstrap', values.bootstrap, 1)),
    wave: Math.floor(num('wave', values.wave, 0)),
    settleMs: num('settle', values.settle, 0) * 1000,
    fullMeshWaitMs: num('full-mesh-wait', values['full-mesh-wait'], 0) * 1000,
    noIpPenalty: values['no-ip-penalty'],
    rawPnet: values['raw-pnet'],
    ...(values['max-connections'] === undefined ? {} : { maxConnections: Math.floor(num('max-connections', values['max-connections'], 8)) }),
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
    out('\n--- Registry convergence (all nodes of a size in one child process, loopback TCP, http off) ---')
    out('Mesh criterion: every node has verified every other node (full mesh); or, if that has not happened')
    out(`${fmtMs(opts.fullMeshWaitMs)} after every node has >= min(N-1, 8) verified peers in one connected graph, that;`)
    out('all registry digests must be equal either way. A trial ends when every node\'s digest equals the announcer\'s.')
    out(opts.noIpPenalty
      ? 'Bench-only workaround ACTIVE (--no-ip-penalty): gossipsub IPColocationFactorWeight = 0 on every node.'
      : 'Node code as shipped (no --no-ip-penalty).')
    if (opts.maxConnections !== undefined) out(`Config change: p2p.maxConnections = ${opts.maxConnections} on every node (default 300).`)
    for (const size of opts.sizes) {
      out(`\n[${size} nodes]`)
      meshResults.push(await runSizeInChild(size, opts, out))
    }
  }

  out('\n=== registry bench summary ===')
  if (crypto !== undefined) printCryptoSummary(crypto, out)
  if (meshResults.length > 0) printMeshSummary(meshResults, opts, out)
}

/** Runs one size in a child process; a crash or hang there is reported, not fatal. */
async function runSizeInChild (size: number, opts: Options, out: (line?: string) => void): Promise<MeshResult> {
  const dir = await mkdtemp(join(tmpdir(), `dawn-bench-${size}-`))
  const meshOpts: MeshOptions = {
    size,
    dir,
    trials: opts.trials,
    timeoutMs: opts.timeoutMs,
    meshTimeoutMs: opts.meshTimeoutMs,
    trialTimeoutMs: opts.trialTimeoutMs,
    bootstrap: opts.bootstrap,
    wave: opts.wave,
    settleMs: opts.settleMs,
    fullMeshWaitMs: opts.fullMeshWaitMs,
    noIpPenalty: opts.noIpPenalty,
    rawPnet: opts.rawPnet,
    ...(opts.maxConnections === undefined ? {} : { maxConnections: opts.maxConnections }),
    verbose: opts.verbose
  }
  const failed = (error: string): MeshResult => ({ size, error, trials: [], warnings: [], unhandled: 0, portRetries: 0, stopTimedOut: 0, load: [0, 0] })
  try {
    return await new Promise<MeshResult>(resolve => {
      const child = fork(MESH_CHILD, [JSON.stringify(meshOpts)], {
        execArgv: process.execArgv,
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
        serialization: 'advanced'
      })
      let stderr = ''
      child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000) })
      let result: MeshResult | undefined
      child.on('message', (msg: { result?: MeshResult }) => { result = msg.result })
      // The child enforces its own budget; this is the backstop for a wedged event loop.
      const killer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs + 30_000)
      // Ctrl-C: the child gets the signal too; remove its directory before leaving.
      const onSigint = (): void => {
        child.kill('SIGKILL')
        void rm(dir, { recursive: true, force: true }).finally(() => process.exit(130))
      }
      process.once('SIGINT', onSigint)
      child.on('exit', (code, signal) => {
        clearTimeout(killer)
        process.off('SIGINT', onSigint)
        if (result !== undefined) { resolve(result); return }
        const tail = stderr.trim().split('\n').slice(-12).join('\n    ')
        const why = signal === 'SIGKILL' ? `killed after exceeding the ${fmtMs(opts.timeoutMs)} budget` : `child exited with ${signal ?? `code ${String(code)}`}`
        out(`  CRASHED: ${why}${tail === '' ? '' : `\n    ${tail}`}`)
        resolve(failed(`${why}${tail === '' ? '' : `: ${firstErrorLine(stderr)}`}`))
      })
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

function firstErrorLine (stderr: string): string {
  return stderr.split('\n').find(l => /Error/.test(l))?.trim() ?? stderr.trim().split('\n')[0] ?? ''
}

function printMeshSummary (results: MeshResult[], opts: Options, out: (line?: string) => void): void {
  const mode = [opts.noIpPenalty ? '--no-ip-penalty workaround active' : 'node code as shipped', ...(opts.maxConnections === undefined ? [] : [`p2p.maxConnections ${opts.maxConnections}`])].join(', ')
  out(`\nRegistry convergence [${mode}]: time from setLocalAgents() on a random node until`)
  out(`every node's digest matches; ${opts.trials} trials per size, ${fmtMs(opts.trialTimeoutMs)} per trial; nearest-rank percentiles (with < 100 trials p99 = max)`)
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
      r.readyMs === undefined ? '-' : `${fmtMs(r.readyMs)}${r.criterionMet === false ? '!' : ''}`,
      r.degrees === undefined ? '-' : `${r.degrees.min}/${r.degrees.max}`,
      r.scores === undefined ? '-' : `${(r.scores.graylisted * 100).toFixed(0)}%`,
      r.eluIdle === undefined ? '-' : `${(r.eluIdle * 100).toFixed(0)}%`,
      r.eluTrials === undefined ? '-' : `${(r.eluTrials * 100).toFixed(0)}%`,
      r.eldP99Ms === undefined ? '-' : `${fmtMs(r.eldP99Ms)} / ${fmtMs(r.eldMaxMs ?? NaN)}`,
      r.rssBytes === undefined ? '-' : fmtMiB(r.rssBytes)
    ]
  })
  out(formatTable(['nodes', 'in time', 'p50', 'p99', 'max', '1st node p50', 'per-node p50/p99', 'mesh after', 'peers min/max', 'graylisted', 'ELU idle', 'ELU trials', 'loop delay p99/max', 'rss'], rows))
  out('  in time = trials that reached every node within the trial timeout; 1st node = first receiver; per-node = each receiver\'s own latency;')
  out('  mesh after ! = criterion not met; graylisted = share of peer links whose gossipsub score is below the graylist threshold;')
  out('  ELU = event-loop utilization of the one process holding all nodes (100% = saturated)')
  for (const r of results) {
    const healed = r.trials.filter(t => t.healedMs !== undefined).map(t => t.healedMs as number)
    if (healed.length > 0) out(`  ${r.size} nodes: ${healed.length} timed-out trial(s) converged later through anti-entropy after ${healed.map(fmtMs).join(', ')}`)
    if (r.error !== undefined) out(`  ${r.size} nodes: ${r.error}`)
    for (const [msg, n] of r.warnings) out(`  ${r.size} nodes: nodes logged ${n}x "${msg}"`)
    if (r.unhandled > 0) out(`  ${r.size} nodes: ${r.unhandled} unhandled promise rejection(s), first: ${r.firstUnhandled ?? '?'}`)
    const polled = r.trials.reduce((a, t) => a + t.viaPoll, 0)
    if (polled > 0) out(`  ${r.size} nodes: ${polled} arrival(s) were only seen by the backstop poll (digest changed without a 'change' event)`)
    if (r.portRetries > 0) out(`  ${r.size} nodes: ${r.portRetries} node(s) restarted on a fresh port after EADDRINUSE`)
    if (r.cpuSecondsPerSecond !== undefined) out(`  ${r.size} nodes: the process used ${r.cpuSecondsPerSecond.toFixed(2)} CPU-seconds per second on average; machine load average ${r.load[0].toFixed(1)} -> ${r.load[1].toFixed(1)} on ${availableParallelism()} CPUs`)
    if ((r.eluTrials ?? 0) >= 0.9 || (r.eluIdle ?? 0) >= 0.9) {
      out(`  ${r.size} nodes: EVENT LOOP SATURATED (ELU idle ${((r.eluIdle ?? 0) * 100).toFixed(0)}%, trials ${((r.eluTrials ?? 0) * 100).toFixed(0)}%): all ${r.size} nodes share one thread, so these latencies measure the harness more than Dawn`)
    }
  }
  const goal = results.find(r => r.size === GOAL_NODES)
  const label = `Goal (p99 < ${GOAL_P99_MS} ms at ${GOAL_NODES} nodes on loopback)`
  if (goal === undefined) {
    out(`\n${label}: NOT MEASURED (--sizes did not include ${GOAL_NODES})`)
  } else if (goal.convergence === undefined || goal.trials.some(t => t.ms === undefined) || goal.trials.length < opts.trials) {
    const ok = goal.trials.filter(t => t.ms !== undefined).length
    out(`\n${label}: NOT MET (${ok}/${opts.trials} trials converged in time${goal.error === undefined ? '' : `; ${goal.error}`})`)
  } else {
    const met = goal.convergence.p99 < GOAL_P99_MS
    out(`\n${label}: ${met ? 'MET' : 'NOT MET'} (p99 ${fmtMs(goal.convergence.p99)} over ${goal.convergence.n} trials, ${(goal.convergence.p99 / GOAL_P99_MS * 100).toFixed(1)}% of the budget)${opts.noIpPenalty ? ' - with the --no-ip-penalty workaround' : ''}`)
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
  const sealOpts = { type: 'registry.delta', network, body, cert }
  const signer = new EnvelopeSigner(seed, peerId)
  const sealEnvelope = (opts: typeof sealOpts): Uint8Array => signer.seal(opts)

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
    { name: 'envelope seal (EnvelopeSigner)', op: () => { sealEnvelope(sealOpts) } },
    { name: 'envelope open (EnvelopeOpener.open)', op: openOne },
    { name: 'node:crypto Ed25519 sign', op: () => { cryptoSign(null, msg, privateKey) } },
    { name: 'node:crypto Ed25519 verify', op: () => { cryptoVerify(null, msg, publicKey, nodeSig) } },
    { name: '@noble/curves ed25519.sign', op: () => { ed25519.sign(msg, seed) } },
    { name: '@noble/curves ed25519.verify', op: () => { ed25519.verify(nobleSig, msg, publicRaw) } }
  ]
  out(`  envelope: ${sample.byteLength} bytes on the wire for a 200-byte body; raw Ed25519 signs a ${signedLength}-byte message (the envelope's signed bytes)`)
  out(`  ${opts.cryptoRounds} interleaved rounds of ${opts.cryptoMs} ms per operation (after a warm-up); median ops/s reported`)

  // Warm-up (JIT, caches), then interleaved rounds.
  for (const o of ops) opsPerSecond(o.op, Math.min(200, opts.cryptoMs), 32)
  const samples = new Map<string, number[]>(ops.map(o => [o.name, []]))
  for (let r = 0; r < opts.cryptoRounds; r++) {
    for (const o of ops) samples.get(o.name)?.push(opsPerSecond(o.op, opts.cryptoMs, 32))
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
