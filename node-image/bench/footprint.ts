/**
 * Idle node footprint: one local mesh of N real dawn-node processes, the launch variants
 * interleaved (node i runs variant i mod k), so every variant sees the same mesh, load and
 * moment. After all are ready and idle for --idle seconds, each node's RSS, PSS and
 * RssAnon are read from /proc. RSS counts the shared Node binary in every process; PSS
 * shares it out, so PSS (or RssAnon) is what "nodes per machine" divides by.
 *   npm run bench -- footprint [--nodes 20] [--idle 60] [--variants before,after]
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createNetworkDir } from '../src/local-mesh/network-dir.ts'
import { demoAgents } from '../src/local-mesh/demo-agents.ts'
import { NODE_V8_FLAGS, NodeProcess, nodeMallocEnv } from '../src/local-mesh/node-process.ts'
import { ensureNodeBundle, NODE_SOURCE_ENTRY } from '../src/local-mesh/node-bundle.ts'
import { formatTable, median } from './util.ts'
import { runFootprintCalls } from './footprint-calls.ts'

interface Variant {
  about: string
  /** true: the bundle of this tree; 'base': the bundle file given by --base. */
  bundle: boolean | 'base'
  flags: readonly string[]
  /** Allocator variables; undefined: what NodeProcess sets by default (nodeMallocEnv). */
  malloc?: Record<string, string>
}

const GLIBC = {}
const ARENA2 = { MALLOC_ARENA_MAX: '2' }
/** jemalloc if this machine has it (else the variants named so fall back to MALLOC_ARENA_MAX=2: see `after`'s line). */
const JEMALLOC = nodeMallocEnv({})
const launchMalloc = (): string => Object.entries(nodeMallocEnv()).map(([k, v]) => `${k}=${v}`).join(' ')

const VARIANTS: Record<string, Variant> = {
  before: { about: 'TypeScript sources, default V8 flags, glibc malloc (the launch before issue 17)', bundle: false, flags: [], malloc: GLIBC },
  after: { about: `bundle + ${NODE_V8_FLAGS.join(' ')} + ${launchMalloc()} (what ./dawn mesh runs now)`, bundle: true, flags: NODE_V8_FLAGS },
  prev: { about: 'bundle + --max-semi-space-size=4 + the default allocator (the launch before --heap-growing-percent=50)', bundle: true, flags: ['--max-semi-space-size=4'] },
  source: { about: `TypeScript sources + ${NODE_V8_FLAGS.join(' ')}, glibc`, bundle: false, flags: NODE_V8_FLAGS, malloc: GLIBC },
  bundle: { about: 'bundle, default V8 flags, glibc', bundle: true, flags: [], malloc: GLIBC },
  semi4: { about: 'bundle + --max-semi-space-size=4, glibc', bundle: true, flags: ['--max-semi-space-size=4'], malloc: GLIBC },
  semi1: { about: 'bundle + --max-semi-space-size=1, glibc', bundle: true, flags: ['--max-semi-space-size=1'], malloc: GLIBC },
  arena2: { about: `bundle + ${NODE_V8_FLAGS.join(' ')} + MALLOC_ARENA_MAX=2 (the launch without jemalloc)`, bundle: true, flags: NODE_V8_FLAGS, malloc: ARENA2 },
  jemalloc: { about: `bundle + ${NODE_V8_FLAGS.join(' ')} + jemalloc (2 arenas, 1 s decay)`, bundle: true, flags: NODE_V8_FLAGS, malloc: JEMALLOC },
  jemalloc1: { about: 'bundle + --max-semi-space-size=1 + jemalloc', bundle: true, flags: ['--max-semi-space-size=1'], malloc: JEMALLOC },
  oldext: { about: 'after without --external-memory-accounted-in-global-limit (external bytes counted as old space)', bundle: true, flags: NODE_V8_FLAGS.filter(f => f !== '--external-memory-accounted-in-global-limit') },
  semi4h: { about: 'after with --max-semi-space-size=4 (the launch before semi-space 2)', bundle: true, flags: ['--max-semi-space-size=4', ...NODE_V8_FLAGS.filter(f => !f.startsWith('--max-semi-space-size'))] },
  optsize: { about: `after + --optimize-for-size (V8: smaller heap growth, more compaction)`, bundle: true, flags: [...NODE_V8_FLAGS, '--optimize-for-size'] },
  grow20: { about: 'bundle + --max-semi-space-size=4 --heap-growing-percent=20 (measured +20 % CPU per call)', bundle: true, flags: ['--max-semi-space-size=4', '--heap-growing-percent=20'] },
  base: { about: `the bundle given by --base (e.g. one built before a change) + ${NODE_V8_FLAGS.join(' ')} + the default allocator`, bundle: 'base', flags: NODE_V8_FLAGS },
  noflush: { about: 'after without --flush-baseline-code --bytecode-old-age=2 (V8 keeps baseline code, and bytecode for 6 full GCs)', bundle: true, flags: NODE_V8_FLAGS.filter(f => f !== '--flush-baseline-code' && !f.startsWith('--bytecode-old-age')) },
  flush1: { about: 'after with --bytecode-old-age=1 (measured 0.98x RSS, 1.05x CPU per call)', bundle: true, flags: [...NODE_V8_FLAGS.filter(f => !f.startsWith('--bytecode-old-age')), '--bytecode-old-age=1'] },
  optsemi: { about: 'after + --optimize-for-size --min-semi-space-size=2 (measured: RSS as optsize, 1.15x CPU per call)', bundle: true, flags: [...NODE_V8_FLAGS, '--optimize-for-size', '--min-semi-space-size=2'] },
  nomaglev: { about: 'after + --no-maglev (measured 0.97x RSS, 1.12x idle CPU)', bundle: true, flags: [...NODE_V8_FLAGS, '--no-maglev'] },
  mmap16k: { about: `bundle + ${NODE_V8_FLAGS.join(' ')} + glibc arena_max=2, mmap/trim threshold 16 KiB (+25 % CPU per 64 KiB call)`, bundle: true, flags: NODE_V8_FLAGS, malloc: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=16384:glibc.malloc.trim_threshold=16384' } }
}

const USAGE = `npm run bench -- footprint [--nodes N] [--idle S] [--variants a,b,...]
  --nodes N      nodes in the one mesh (default 20), variants interleaved
  --idle S       seconds idle after the last node is ready, before reading (default 60)
  --calls N      after the reading, N tool calls per variant per round (default 0: none) into a node
                 of that variant, with the CPU per call of two of its nodes; --rounds R (default 5)
  --base FILE    the bundle the variant 'base' runs (copy node-image/dist/dawn-node.mjs aside before a change)
  --variants     comma list, the first is the baseline of the ratios (default before,after):
${Object.entries(VARIANTS).map(([k, v]) => `                   ${k.padEnd(7)} ${v.about}`).join('\n')}`

export interface ProcMemory { rss: number, pss: number, anon: number, hwm: number }

/** utime + stime of a process, in seconds (USER_HZ is 100 on Linux). */
export async function readProcCpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** kB fields of /proc/<pid>/status and smaps_rollup, in MiB. */
export async function readProcMemory (pid: number): Promise<ProcMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8')
  const field = (text: string, name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)
    if (m === null) throw new Error(`no ${name} for pid ${pid}`)
    return Number(m[1]) / 1024
  }
  return { rss: field(status, 'VmRSS'), pss: field(rollup, 'Pss'), anon: field(status, 'RssAnon'), hwm: field(status, 'VmHWM') }
}

async function systemUsedMiB (): Promise<number> {
  const info = await readFile('/proc/meminfo', 'utf8')
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN)
  return (kb('MemTotal') - kb('MemAvailable')) / 1024
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
const fmt = (x: number): string => Number.isFinite(x) ? x.toFixed(1) : '-'

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { nodes: { type: 'string', default: '20' }, idle: { type: 'string', default: '60' }, variants: { type: 'string', default: 'before,after' }, base: { type: 'string' }, calls: { type: 'string', default: '0' }, rounds: { type: 'string', default: '5' }, help: { type: 'boolean' } } })
  if (values.help === true) { process.stdout.write(USAGE + '\n'); return }
  const count = Number(values.nodes)
  const idleS = Number(values.idle)
  const names = values.variants.split(',').map(s => s.trim()).filter(Boolean)
  const unknown = names.filter(n => !Object.hasOwn(VARIANTS, n))
  if (unknown.length > 0 || names.length === 0) throw new Error(`unknown variant(s) ${unknown.join(', ')}\n${USAGE}`)
  if (!Number.isInteger(count) || count < names.length) throw new Error(`--nodes must be an integer ≥ the number of variants\n${USAGE}`)
  const variants = names.map(n => VARIANTS[n] as Variant)
  if (names.includes('base') && values.base === undefined) throw new Error(`the variant base needs --base FILE\n${USAGE}`)
  const bundle = variants.some(v => v.bundle === true) ? await ensureNodeBundle(m => { process.stdout.write(`${m}\n`) }) : undefined
  const entryOf = (v: Variant): string | undefined => v.bundle === 'base' ? resolve(values.base ?? '') : v.bundle ? bundle : NODE_SOURCE_ENTRY

  process.stdout.write(`footprint: ${count} nodes in one mesh, variants interleaved (${names.join(', ')}), idle ${idleS} s after all ready\n`)
  for (const n of names) process.stdout.write(`  ${n.padEnd(7)} ${VARIANTS[n]?.about ?? ''}\n`)
  const dir = await mkdtemp(join(tmpdir(), 'dawn-footprint-'))
  const usedBefore = await systemUsedMiB()
  // As ./dawn mesh writes it: node-1 also serves circuit relay.
  const relayFirst = (i: number, config: Record<string, unknown>): void => { if (i === 0) (config.node as Record<string, unknown>).relayServer = true }
  const net = await createNetworkDir({ dir, nodes: count, agents: demoAgents, patch: relayFirst })
  const variantOf = (i: number): number => i % variants.length
  const procs = net.nodes.map((n, i) => {
    const v = variants[variantOf(i)] as Variant
    return new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl, entry: entryOf(v), nodeFlags: v.flags, ...(v.malloc === undefined ? {} : { mallocEnv: v.malloc }) })
  })
  try {
    const started = Date.now()
    for (const p of procs) p.start()
    // Memory is measured even when some nodes never join (at 100 nodes on 2 cores that happens):
    // the line says how many did.
    const ready = await Promise.allSettled(procs.map(async p => { await p.waitReady(60_000 + count * 2_000) }))
    const joined = ready.filter(r => r.status === 'fulfilled').length
    process.stdout.write(`${joined} of ${count} ready after ${((Date.now() - started) / 1000).toFixed(1)} s; idling ${idleS} s\n`)
    const cpuOf = async (p: NodeProcess): Promise<number> => p.running ? await readProcCpuSeconds(p.pid as number).catch(() => Number.NaN) : Number.NaN
    const cpuReady = await Promise.all(procs.map(cpuOf))
    await new Promise(resolve => setTimeout(resolve, idleS * 1000))
    const cpuIdle = await Promise.all(procs.map(async (p, i) => await cpuOf(p) - (cpuReady[i] ?? 0)))
    // A node that exited is left out of the figures, and said so.
    const alive = procs.map(p => p.running)
    const dead = procs.filter(p => !p.running)
    if (dead.length === procs.length) throw new Error(`every node exited:\n${dead[0]?.logs() ?? ''}`)
    if (dead.length > 0) process.stdout.write(`${dead.length} node(s) exited while idle and are left out; the first one's last lines:\n${(dead[0]?.logs() ?? '').split('\n').slice(-5).join('\n')}\n`)
    const mem = await Promise.all(procs.map(async p => p.running ? await readProcMemory(p.pid as number).catch(() => undefined) : undefined))
    const usedAfter = await systemUsedMiB()

    const rows: string[][] = []
    const stats = variants.map((_, k) => {
      const mine = <T>(xs: T[]): T[] => xs.filter((_, i) => variantOf(i) === k && alive[i] === true)
      const ms = mine(mem).filter(m => m !== undefined)
      const col = (f: keyof ProcMemory): number[] => ms.map(m => m[f])
      return { n: ms.length, rss: col('rss'), pss: col('pss'), anon: col('anon'), hwm: col('hwm'), cpuStart: mine(cpuReady), cpuIdle: mine(cpuIdle) }
    })
    const base = stats[0]
    for (const [k, s] of stats.entries()) {
      const ratio = (f: 'rss' | 'pss' | 'anon'): string => k === 0 || base === undefined ? '' : ` (${(mean(s[f]) / mean(base[f])).toFixed(2)}×)`
      rows.push([names[k] ?? '', String(s.n),
        `${fmt(mean(s.rss))}${ratio('rss')}`, fmt(median(s.rss)), fmt(Math.max(...s.rss)),
        `${fmt(mean(s.pss))}${ratio('pss')}`, fmt(median(s.pss)), fmt(Math.max(...s.pss)),
        `${fmt(mean(s.anon))}${ratio('anon')}`, fmt(median(s.anon)), fmt(Math.max(...s.anon)),
        fmt(Math.max(...s.hwm)), mean(s.cpuStart).toFixed(2), (mean(s.cpuIdle) * 1000 / idleS).toFixed(1)])
    }
    process.stdout.write('\nper node, MiB (mean with ratio to the first variant; median; max):\n')
    process.stdout.write(formatTable(['variant', 'n', 'RSS mean', 'med', 'max', 'PSS mean', 'med', 'max', 'RssAnon mean', 'med', 'max', 'HWM max', 'CPU s to ready', 'idle CPU ms/s'], rows) + '\n')
    const pssTotal = mem.reduce((a, m) => a + (m?.pss ?? 0), 0)
    process.stdout.write(`\nall ${count} nodes: PSS ${fmt(pssTotal)} MiB in total; machine memory in use (MemTotal − MemAvailable, other processes move it too): ${fmt(usedBefore)} MiB before the mesh, ${fmt(usedAfter)} MiB with it\n`)
    const calls = Number(values.calls)
    if (calls > 0) {
      // Two live nodes of each variant: i and i + k are the same variant.
      const pairs = variants.map((_, k) => {
        const mine = procs.map((p, i) => ({ p, i })).filter(({ p, i }) => variantOf(i) === k && p.running && i !== 0)
        const [a, b] = mine
        if (a === undefined || b === undefined) return undefined
        return { entryUrl: net.nodes[a.i]?.httpUrl ?? '', entryPid: a.p.pid as number, hostPid: b.p.pid as number }
      })
      process.stdout.write('\n' + await runFootprintCalls({ names, pairs, rounds: Number(values.rounds), calls, cpuSeconds: readProcCpuSeconds }) + '\n')
    }
    process.stdout.write('goal (issue 17): < 120 MiB idle per node; RSS counts the shared Node binary (~55 MiB) in every process, PSS does not\n')
  } finally {
    await Promise.all(procs.map(async p => { await p.stop() }))
    await rm(dir, { recursive: true, force: true })
  }
}
