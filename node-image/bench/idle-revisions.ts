/**
 * `npm run bench -- idle-revisions --against REV`: what an idle mesh costs each of its
 * nodes, this tree against another build. Gossip and flow control are choices every node
 * makes for the frames it sends, so each build runs a mesh of its own (wired as
 * `./dawn mesh` wires one), one after the other, and the builds alternate in each round.
 * After the mesh settles, every node's CPU and write system calls are read over a window.
 * Only loopback is used.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ensureNodeBundle } from '../src/local-mesh/node-bundle.ts'
import { ProcessMesh, processCpuSeconds } from './process-mesh.ts'
import { bundleOf } from './revision-bundle.ts'
import { formatTable, numberOption, sleep } from './util.ts'

const USAGE = `usage: npm run bench -- idle-revisions --against REV [--nodes N] [--rounds R] [--settle S] [--window S]

  --against REV   a git revision, or a path to a node bundle (.mjs)
  --nodes N       nodes in each mesh (default 20)
  --rounds R      meshes per build, the builds alternating (default 2)
  --settle S      seconds after every node is ready before the window (default 90)
  --window S      seconds over which CPU and writes are read (default 60)`

/** write(2)-family calls a process has made, from /proc/<pid>/io (sockets, pipes and files). */
async function writeCalls (pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '')
  return Number(/^syscw:\s+(\d+)/m.exec(io)?.[1] ?? Number.NaN)
}

interface Reading { cpuMsPerS: number, writesPerS: number, load: number }

async function idleRound (entry: string, nodes: number, settleS: number, windowS: number): Promise<Reading> {
  const dir = await mkdtemp(join(tmpdir(), 'dawn-bench-idle-'))
  const mesh = new ProcessMesh({ dir, nodes, wave: 0, entry })
  try {
    await mesh.start()
    await Promise.all(mesh.procs.map(async p => { await p.waitReady(300_000) }))
    await sleep(settleS * 1000)
    const pids = mesh.procs.map(p => p.pid ?? 0)
    const read = async (): Promise<Array<[number, number]>> => await Promise.all(pids.map(async pid => [await processCpuSeconds(pid), await writeCalls(pid)] as [number, number]))
    const before = await read()
    await sleep(windowS * 1000)
    const after = await read()
    if (mesh.procs.some(p => !p.running)) throw new Error('a node exited during the window')
    const sum = (k: 0 | 1): number => after.reduce((a, r, i) => a + r[k] - (before[i]?.[k] ?? 0), 0)
    const load = loadavg()[0] ?? Number.NaN
    return { cpuMsPerS: sum(0) * 1000 / windowS / nodes, writesPerS: sum(1) / windowS / nodes, load }
  } finally {
    await mesh.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { against: { type: 'string' }, nodes: { type: 'string', default: '20' }, rounds: { type: 'string', default: '2' }, settle: { type: 'string', default: '90' }, window: { type: 'string', default: '60' }, help: { type: 'boolean', default: false } } })
  if (values.help) { process.stdout.write(`${USAGE}\n`); return }
  if (values.against === undefined) throw new Error(`--against is required\n${USAGE}`)
  const nodes = numberOption('nodes', values.nodes, 2, USAGE)
  const rounds = numberOption('rounds', values.rounds, 1, USAGE)
  const settleS = numberOption('settle', values.settle, 0, USAGE)
  const windowS = numberOption('window', values.window, 5, USAGE)

  const mine = await ensureNodeBundle()
  const baseline = await bundleOf(values.against)
  try {
    const builds = [{ label: values.against, entry: baseline.bundle, readings: [] as Reading[] }, { label: 'this tree', entry: mine, readings: [] as Reading[] }]
    process.stdout.write(`idle mesh of ${nodes} nodes per build, ${rounds} round(s), ${settleS} s to settle, ${windowS} s window\n`)
    for (let r = 0; r < rounds; r++) {
      for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
        const reading = await idleRound(b.entry, nodes, settleS, windowS)
        b.readings.push(reading)
        process.stdout.write(`  round ${r + 1}, ${b.label}: ${reading.cpuMsPerS.toFixed(1)} ms/s CPU, ${reading.writesPerS.toFixed(1)} writes/s per node (load ${reading.load})\n`)
      }
    }
    const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length
    const cpu = builds.map(b => mean(b.readings.map(x => x.cpuMsPerS)))
    const writes = builds.map(b => mean(b.readings.map(x => x.writesPerS)))
    process.stdout.write('\n' + formatTable(['build', 'CPU ms/s per node', 'writes/s per node'], builds.map((b, i) => [b.label, (cpu[i] ?? 0).toFixed(1), (writes[i] ?? 0).toFixed(1)])) + '\n\n')
    process.stdout.write(`this tree ÷ ${values.against}: CPU ${((cpu[1] ?? 0) / (cpu[0] ?? 1)).toFixed(2)}, writes ${((writes[1] ?? 0) / (writes[0] ?? 1)).toFixed(2)}\n`)
  } finally {
    await baseline.cleanup()
  }
}
