/**
 * `npm run bench -- convergence`
 *
 * Registry convergence with every node in its own process, wired as `./dawn mesh`
 * wires it (local-mesh/mesh-wiring.ts). Per size:
 *  1. Start: spawn the nodes; time until every node answers /readyz, and until every
 *     registry digest is equal with every node's agents in it ("equal digests").
 *     Connectivity: verified peers per node (full mesh = N-1).
 *  2. Changes: T times, a node (a different origin each time, round robin over a
 *     shuffled order) adds a static agent, or changes one it added before, by
 *     rewriting its config file (the node reloads it). t0 is when the first node's
 *     `/api/v1/events` stream (usually the origin's) shows the agent's key; each other
 *     node's arrival is when its stream first shows that key after the edit. Convergence = arrival - t0,
 *     over all (node, change) pairs; a pair missing after --trial-timeout counts as
 *     infinite (so p99 shows it). Includes the node's 50 ms event coalescing window.
 * CPU contention is reported, not hidden: load average and the cores the node
 * processes used while idle and during the changes.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ProcessMesh, memAvailable, type NodeInfoLite } from './process-mesh.ts'
import { FULL_MESH_MAX_NODES } from '../src/local-mesh/mesh-wiring.ts'
import { fmtMiB, fmtMs, formatTable, median, sleep, summarize, type Summary, numberOption } from './util.ts'

const GOALS: Record<number, number> = { 100: 2000, 200: 3000 }
/** Agents every node of a local mesh hosts from the start (demo-agents.ts). */
const DEMO_AGENTS = 4
const MiB = 1024 * 1024

const USAGE = `usage: npm run bench -- convergence [options]

  --sizes LIST         mesh sizes (default 25,50,100,200)
  --max-nodes N        skip sizes above N (default: no limit; memory is checked anyway)
  --trials N           changes timed per size (default 20)
  --trial-timeout S    a change not seen everywhere after S seconds counts as missing (default 15)
  --start-timeout S    longest wait for ready nodes and equal digests (default 600)
  --wave N             spawn N nodes at a time, the next batch once they are ready; 0 = as ./dawn mesh
                       does (all at once up to 50 nodes, then 10 at a time) (default 0)
  --settle S           idle seconds after equal digests, to measure idle CPU (default 10)
  --node-mib M         private memory (RssAnon) budget per node for the fit check (default 200; the
                       measured mean of a larger earlier size replaces it); a size that started anyway
                       stops once less than 1 GiB is left
  --reserve-mib M      memory left free for everything else (default 2048)
  --node-options STR   NODE_OPTIONS for the node processes (default: inherited)
  --verbose            print every change
  --help`

interface Options {
  sizes: number[]
  maxNodes: number
  trials: number
  trialTimeoutMs: number
  startTimeoutMs: number
  wave: number
  settleMs: number
  nodeMiB: number
  reserveMiB: number
  nodeOptions?: string
  verbose: boolean
}

function parseOptions (args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    options: {
      sizes: { type: 'string', default: '25,50,100,200' },
      'max-nodes': { type: 'string' },
      trials: { type: 'string', default: '20' },
      'trial-timeout': { type: 'string', default: '15' },
      'start-timeout': { type: 'string', default: '600' },
      wave: { type: 'string', default: '0' },
      settle: { type: 'string', default: '10' },
      'node-mib': { type: 'string', default: '200' },
      'reserve-mib': { type: 'string', default: '2048' },
      'node-options': { type: 'string' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) return undefined
  const num = (name: string, raw: string, min: number): number => numberOption(name, raw, min, USAGE)
  const sizes = values.sizes.split(',').map(s => s.trim()).filter(s => s !== '').map(s => Math.floor(num('sizes', s, 2)))
  return {
    sizes,
    maxNodes: values['max-nodes'] === undefined ? Infinity : Math.floor(num('max-nodes', values['max-nodes'], 2)),
    trials: Math.floor(num('trials', values.trials, 1)),
    trialTimeoutMs: num('trial-timeout', values['trial-timeout'], 1) * 1000,
    startTimeoutMs: num('start-timeout', values['start-timeout'], 10) * 1000,
    wave: Math.floor(num('wave', values.wave, 0)),
    settleMs: num('settle', values.settle, 0) * 1000,
    nodeMiB: num('node-mib', values['node-mib'], 20),
    reserveMiB: num('reserve-mib', values['reserve-mib'], 0),
    ...(values['node-options'] === undefined ? {} : { nodeOptions: values['node-options'] }),
    verbose: values.verbose
  }
}

export interface SizeResult {
  size: number
  skipped?: string
  error?: string
  readyMs?: number
  equalMs?: number
  peers?: { min: number, median: number, max: number }
  fullMesh?: boolean
  rssMiB?: number
  anonMiB?: number
  idleCores?: number
  trialCores?: number
  load?: [number, number]
  pairs?: Summary
  missing?: number
  originLagMs?: Summary
  equalAfter?: boolean
}

/** A pair never seen counts as infinite; print it as such. */
const fmtPair = (ms: number | undefined): string => ms === Infinity ? 'missing' : fmtMs(ms ?? NaN)

const shuffle = <T>(items: T[]): T[] => {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1))
    const t = items[i] as T
    items[i] = items[j] as T
    items[j] = t
  }
  return items
}

function digestsEqual (infos: Array<NodeInfoLite | undefined>, size: number): boolean {
  const first = infos[0]
  return first !== undefined && first.registry.entries >= size * DEMO_AGENTS &&
    infos.every(i => i !== undefined && i.registry.digest === first.registry.digest)
}

async function runSize (size: number, opts: Options, out: (line?: string) => void): Promise<SizeResult> {
  const result: SizeResult = { size }
  if (size > opts.maxNodes) return { size, skipped: `above --max-nodes ${opts.maxNodes}` }
  const available = await memAvailable()
  const need = (size * opts.nodeMiB + opts.reserveMiB) * MiB
  if (need > available) {
    return { size, skipped: `needs ~${fmtMiB(need)} (${size} x ${opts.nodeMiB} MiB + ${opts.reserveMiB} MiB reserve), ${fmtMiB(available)} available` }
  }
  const dir = await mkdtemp(join(tmpdir(), `dawn-conv-${size}-`))
  const mesh = new ProcessMesh({ dir, nodes: size, wave: opts.wave, ...(opts.nodeOptions === undefined ? {} : { nodeOptions: opts.nodeOptions }) })
  // Ctrl-C or a kill must not leave a hundred node processes behind (a node still starting does not watch its parent yet).
  const onSignal = (): void => { for (const p of mesh.procs) p.kill(); process.exit(130) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  out(`\n[${size} nodes] ${mesh.bootstrapNodes} bootstrap nodes; ${fmtMiB(available)} available; load ${loadavg().map(l => l.toFixed(2)).join(' ')}`)
  const t0 = performance.now()
  try {
    await mesh.start(n => { if (opts.wave > 0 || size > FULL_MESH_MAX_NODES) out(`  ${((performance.now() - t0) / 1000).toFixed(0)} s: ${n} spawned`) })
    // Start-up: poll every node until all are ready and every digest is equal.
    let lastReport = performance.now()
    for (;;) {
      const elapsed = performance.now() - t0
      if (elapsed > opts.startTimeoutMs) throw new Error(`no equal digests after ${fmtMs(opts.startTimeoutMs)}`)
      const low = await memAvailable()
      if (low < 1024 * MiB) throw new Error(`stopped: only ${fmtMiB(low)} of memory left while starting`)
      const restarted = await mesh.restartPortClashes()
      if (restarted > 0) out(`  restarted ${restarted} node(s) on fresh ports after EADDRINUSE`)
      const dead = mesh.procs.findIndex(p => !p.running && p.exitCode !== null)
      if (dead >= 0) throw new Error(`node-${dead + 1} exited (code ${mesh.procs[dead]?.exitCode ?? '?'}): ${mesh.procs[dead]?.logs().split('\n').slice(-3).join(' | ') ?? ''}`)
      const infos = await mesh.infos()
      const now = performance.now() - t0
      const ready = infos.filter(i => i?.ready === true).length
      if (ready === size) result.readyMs ??= now
      if (result.readyMs !== undefined && digestsEqual(infos, size)) {
        result.equalMs = now
        break
      }
      if (performance.now() - lastReport > 15_000) {
        lastReport = performance.now()
        const peers = infos.map(i => i?.peers ?? 0)
        const digests = new Set(infos.map(i => i?.registry.digest)).size
        out(`  ${(now / 1000).toFixed(0)} s: ${ready}/${size} ready, peers min/median ${Math.min(...peers)}/${median(peers)}, ${digests} distinct digests; load ${loadavg()[0]?.toFixed(2) ?? '?'}`)
      }
      await sleep(1000)
    }
    out(`  all ready after ${fmtMs(result.readyMs ?? NaN)}, digests equal after ${fmtMs(result.equalMs)} (from the first spawn)`)

    // Idle: connectivity, memory and the CPU an idle mesh takes.
    const cpuIdle0 = await mesh.cpuSeconds()
    const idle0 = performance.now()
    await sleep(opts.settleMs)
    result.idleCores = (await mesh.cpuSeconds() - cpuIdle0) / Math.max(0.001, (performance.now() - idle0) / 1000)
    const infos = await mesh.infos()
    const peers = infos.map(i => i?.peers ?? 0)
    result.peers = { min: Math.min(...peers), median: median(peers), max: Math.max(...peers) }
    result.fullMesh = peers.every(p => p >= size - 1)
    const mem = await mesh.memory()
    result.rssMiB = mem.reduce((a, m) => a + m.rss, 0) / mem.length / MiB
    result.anonMiB = mem.reduce((a, m) => a + m.anon, 0) / mem.length / MiB
    out(`  verified peers per node min/median/max ${result.peers.min}/${result.peers.median}/${result.peers.max} (${result.fullMesh ? 'full mesh' : `partial mesh, N-1 = ${size - 1}`}); ` +
      `RSS mean ${result.rssMiB.toFixed(0)} MiB (anon ${result.anonMiB.toFixed(0)}); idle nodes use ${result.idleCores.toFixed(2)} of ${availableParallelism()} cores`)
    for (const w of mesh.watches) if (!w.connected) out(`  warning: the event stream of ${w.url} is not connected`)

    // Changes.
    const load0 = loadavg()[0] ?? 0
    const cpuTrials0 = await mesh.cpuSeconds()
    const trials0 = performance.now()
    const order = shuffle(Array.from({ length: size }, (_v, i) => i))
    const added: Array<{ origin: number, agentId: string, revision: number }> = []
    const arrivals: number[] = []
    const originLag: number[] = []
    let missing = 0
    for (let t = 0; t < opts.trials; t++) {
      const change = t % 2 === 1 && added.length > 0
      const target = change ? added[Math.floor(Math.random() * added.length)] as typeof added[number] : { origin: order[t % size] as number, agentId: `conv-${t}`, revision: 0 }
      if (change) target.revision++
      else added.push(target)
      const since = performance.now()
      const key = await mesh.putAgent(target.origin, target.agentId, target.revision)
      const originWatch = mesh.watches[target.origin]
      let at0: number | undefined
      while (at0 === undefined && performance.now() - since < opts.trialTimeoutMs) {
        await originWatch?.next(100)
        at0 = originWatch?.seen(key, since)
      }
      if (at0 === undefined) {
        out(`  change ${t + 1}: node-${target.origin + 1} never showed its own change; skipped`)
        continue
      }
      const others = mesh.watches.filter((_w, j) => j !== target.origin)
      let pending = others
      while (pending.length > 0 && performance.now() - at0 < opts.trialTimeoutMs) {
        await sleep(10)
        pending = pending.filter(w => w.seen(key, since) === undefined)
      }
      // The first node to show it anywhere starts the clock: the origin's own stream can lag behind gossip.
      const seenAt = others.map(w => w.seen(key, since))
      const first = Math.min(at0, ...seenAt.filter(at => at !== undefined))
      originLag.push(first - since)
      const times = seenAt.map(at => at === undefined ? Infinity : at - first)
      arrivals.push(...times)
      missing += pending.length
      if (opts.verbose || pending.length > 0) {
        const s = summarize(times)
        out(`  change ${t + 1} (${change ? 'change' : 'add'} on node-${target.origin + 1}): p50 ${fmtMs(s.p50)}, max ${fmtMs(s.max)}${pending.length > 0 ? `, ${pending.length} node(s) missing` : ''}`)
      }
      await sleep(300 + Math.random() * 400)
    }
    result.trialCores = (await mesh.cpuSeconds() - cpuTrials0) / Math.max(0.001, (performance.now() - trials0) / 1000)
    result.load = [load0, loadavg()[0] ?? 0]
    result.pairs = summarize(arrivals)
    result.missing = missing
    result.originLagMs = summarize(originLag)
    const after = performance.now()
    let equal = false
    while (!equal && performance.now() - after < 30_000) {
      equal = digestsEqual(await mesh.infos(), size)
      if (!equal) await sleep(1000)
    }
    result.equalAfter = equal
    const p = result.pairs
    out(`  ${p.n} (node, change) pairs: p50 ${fmtPair(p.p50)}, p90 ${fmtPair(p.p90)}, p99 ${fmtPair(p.p99)}, max ${fmtPair(p.max)}; ${missing} missing; ` +
      `config edit -> first node shows it: p50 ${fmtMs(result.originLagMs.p50)}; digests equal afterwards: ${equal ? 'yes' : 'NO'}`)
    out(`  during the changes the nodes used ${result.trialCores.toFixed(2)} of ${availableParallelism()} cores; load average ${load0.toFixed(2)} -> ${result.load[1].toFixed(2)}`)
  } catch (err) {
    result.error = (err as Error).message
    out(`  FAILED: ${result.error}`)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await mesh.stop()
    await rm(dir, { recursive: true, force: true })
  }
  return result
}

export async function run (args: string[]): Promise<void> {
  const opts = parseOptions(args)
  if (opts === undefined) {
    process.stdout.write(USAGE + '\n')
    return
  }
  const out = (line = ''): void => { process.stdout.write(line + '\n') }
  out('--- Registry convergence, one process per node (loopback, wired as ./dawn mesh) ---')
  out('Convergence: a node adds or changes an agent; per other node, the time from the first /api/v1/events stream')
  out('showing the key (usually the origin\'s) to that node\'s stream showing it (includes 50 ms event coalescing). p50/p99 over')
  out(`all (node, change) pairs. Every node shares ${availableParallelism()} cores with the others and the bench: on a small machine`)
  out('this measures CPU contention as much as the protocol; the cores column says how much.')
  const results: SizeResult[] = []
  for (const size of opts.sizes) {
    const r = await runSize(size, opts, out)
    // The node binary's pages are shared; private memory is what each more node costs.
    if (r.anonMiB !== undefined && r.anonMiB * 1.1 > opts.nodeMiB) opts.nodeMiB = Math.ceil(r.anonMiB * 1.1)
    if (r.skipped !== undefined) out(`\n[${size} nodes] SKIPPED: ${r.skipped}`)
    results.push(r)
  }
  out('\nsummary')
  out(formatTable(
    ['nodes', 'ready', 'equal digests', 'peers min/med/max', 'RSS/anon MiB', 'p50', 'p99', 'max', 'missing', 'cores idle/changes', 'load', 'goal p99'],
    results.map(r => {
      const goal = GOALS[r.size]
      const verdict = goal === undefined || r.pairs === undefined ? '' : `${r.pairs.p99 < goal ? 'met' : 'MISSED'} (< ${fmtMs(goal)})`
      if (r.skipped !== undefined || r.error !== undefined) return [String(r.size), r.skipped !== undefined ? 'skipped' : `failed: ${r.error ?? ''}`.slice(0, 60)]
      return [
        String(r.size),
        fmtMs(r.readyMs ?? NaN),
        fmtMs(r.equalMs ?? NaN),
        r.peers === undefined ? '-' : `${r.peers.min}/${r.peers.median}/${r.peers.max}`,
        `${r.rssMiB?.toFixed(0) ?? '-'}/${r.anonMiB?.toFixed(0) ?? '-'}`,
        fmtPair(r.pairs?.p50),
        fmtPair(r.pairs?.p99),
        fmtPair(r.pairs?.max),
        String(r.missing ?? '-'),
        `${r.idleCores?.toFixed(2) ?? '-'}/${r.trialCores?.toFixed(2) ?? '-'}`,
        r.load === undefined ? '-' : `${r.load[0].toFixed(1)}-${r.load[1].toFixed(1)}`,
        verdict
      ]
    })
  ))
}
