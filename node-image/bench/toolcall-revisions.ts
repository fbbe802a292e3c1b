/**
 * `npm run bench -- toolcall-revisions --against REV`: the same tool call through two
 * builds of the node, side by side. Each build gets its own pair of node processes (an
 * entry node and a node hosting the echo agent), and the rounds alternate between
 * them, so the machine's noise falls on both alike. The agent is the built-in echo, or
 * with `--agent remote` one echo MCP server over HTTP that both hosts reach as a remote
 * agent. Prints p50/p90 and the CPU the entry
 * and the host spend per call, each with the ratio this tree ÷ REV.
 *
 * REV is a git revision (built in a temporary worktree, with this checkout's
 * node_modules) or a path to a bundle file. Only loopback is used.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { AgentConfig } from '../src/config/schema.ts'
import { createNetworkDir } from '../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../src/local-mesh/node-process.ts'
import { ensureNodeBundle } from '../src/local-mesh/node-bundle.ts'
import { eventually } from '../../test/support/eventually.ts'
import { processCpuSeconds } from './process-mesh.ts'
import { bundleOf } from './revision-bundle.ts'
import { startHttpEcho } from './echo-server.ts'
import { fmtMs, formatTable, numberOption, summarize } from './util.ts'

const USAGE = `usage: npm run bench -- toolcall-revisions --against REV [--agent builtin|remote] [--rounds N] [--calls N] [--payload BYTES] [--concurrency N]

  --against REV     a git revision, or a path to a node bundle (.mjs)
  --agent KIND      builtin (default): the built-in echo; remote: this tree's echo server over HTTP
  --rounds N        alternating rounds per build (default 10)
  --calls N         sequential calls per round (default 200)
  --payload BYTES   the echoed text (default 256)
  --concurrency N   callers at once for 1 s per build in each round, after its sequential calls (default 16; 0: none)`

interface Side {
  label: string
  client: Client
  tool: string
  procs: NodeProcess[]
  samples: number[]
  /** CPU seconds of the entry and the host over the timed calls. */
  cpu: [number, number]
  /** Calls done by concurrent callers, their seconds, and the entry's and host's CPU seconds meanwhile. */
  load: { calls: number, seconds: number, cpu: [number, number] }
  dir: string
}

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { against: { type: 'string' }, rounds: { type: 'string', default: '10' }, calls: { type: 'string', default: '200' }, payload: { type: 'string', default: '256' }, agent: { type: 'string', default: 'builtin' }, concurrency: { type: 'string', default: '16' }, help: { type: 'boolean', default: false } } })
  if (values.help) { process.stdout.write(`${USAGE}\n`); return }
  if (values.against === undefined) throw new Error(`--against is required\n${USAGE}`)
  const rounds = numberOption('rounds', values.rounds, 1, USAGE)
  const calls = numberOption('calls', values.calls, 10, USAGE)
  const text = 'x'.repeat(numberOption('payload', values.payload, 1, USAGE))
  const concurrency = numberOption('concurrency', values.concurrency, 0, USAGE)
  if (values.agent !== 'builtin' && values.agent !== 'remote') throw new Error(`--agent must be builtin or remote\n${USAGE}`)

  const mine = await ensureNodeBundle()
  const baseline = await bundleOf(values.against)
  const sides: Side[] = []
  const server = values.agent === 'remote' ? await startHttpEcho(mine) : undefined
  const agent: AgentConfig = server === undefined
    ? { id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }
    : { id: 'echo', kind: 'remote', url: server.url, description: '' }
  try {
    sides.push(await startPair(baseline.bundle, values.against, agent), await startPair(mine, 'this tree', agent))
    const call = async (s: Side): Promise<void> => { await s.client.callTool({ name: s.tool, arguments: { text } }) }
    for (const s of sides) for (let i = 0; i < 300; i++) await call(s)
    for (let r = 0; r < rounds; r++) {
      for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
        const before = await Promise.all(s.procs.map(async p => await processCpuSeconds(p.pid ?? 0)))
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now()
          await call(s)
          s.samples.push(performance.now() - t0)
        }
        const after = await Promise.all(s.procs.map(async p => await processCpuSeconds(p.pid ?? 0)))
        s.cpu = [s.cpu[0] + (after[0] ?? 0) - (before[0] ?? 0), s.cpu[1] + (after[1] ?? 0) - (before[1] ?? 0)]
      }
      if (concurrency === 0) continue
      for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
        const before = await Promise.all(s.procs.map(async p => await processCpuSeconds(p.pid ?? 0)))
        const t0 = performance.now()
        const until = t0 + 1000
        let done = 0
        await Promise.all(Array.from({ length: concurrency }, async () => {
          while (performance.now() < until) { await call(s); done++ }
        }))
        const seconds = (performance.now() - t0) / 1000
        const after = await Promise.all(s.procs.map(async p => await processCpuSeconds(p.pid ?? 0)))
        s.load = { calls: s.load.calls + done, seconds: s.load.seconds + seconds, cpu: [s.load.cpu[0] + (after[0] ?? 0) - (before[0] ?? 0), s.load.cpu[1] + (after[1] ?? 0) - (before[1] ?? 0)] }
      }
    }
    const [old, now] = sides as [Side, Side]
    const perCall = (seconds: number, n: number): string => n === 0 ? '-' : String(Math.round(seconds / n * 1e6))
    const callsPerSecond = (s: Side): number => s.load.calls / s.load.seconds
    const row = (s: Side): string[] => {
      const q = summarize(s.samples)
      return [s.label, fmtMs(q.p50), fmtMs(q.p90), perCall(s.cpu[0], s.samples.length), perCall(s.cpu[1], s.samples.length),
        ...(concurrency === 0 ? [] : [callsPerSecond(s).toFixed(0), perCall(s.load.cpu[0], s.load.calls), perCall(s.load.cpu[1], s.load.calls)])]
    }
    process.stdout.write(`\nmesh 1 hop to the ${server === undefined ? 'built-in echo' : 'echo server as a remote agent'}, ${rounds} alternating rounds × ${calls} calls per build, ${text.length}-byte text${concurrency === 0 ? '' : `; then ${concurrency} callers at once for 1 s per build per round`}\n\n`)
    const loadColumns = concurrency === 0 ? [] : [`calls/s (${concurrency})`, 'entry µs/call, loaded', 'host µs/call, loaded']
    process.stdout.write(formatTable(['build', 'p50', 'p90', 'entry CPU µs/call', 'host CPU µs/call', ...loadColumns], [row(old), row(now)]) + '\n\n')
    const ratio = (a: number, b: number): string => (a / b).toFixed(2)
    const loaded = concurrency === 0 ? '' : `; calls/s ${ratio(callsPerSecond(now), callsPerSecond(old))}, loaded entry CPU per call ${ratio(now.load.cpu[0] / now.load.calls, old.load.cpu[0] / old.load.calls)}, loaded host CPU per call ${ratio(now.load.cpu[1] / now.load.calls, old.load.cpu[1] / old.load.calls)}`
    process.stdout.write(`this tree ÷ ${values.against}: p50 ${ratio(summarize(now.samples).p50, summarize(old.samples).p50)}, entry CPU ${ratio(now.cpu[0], old.cpu[0])}, host CPU ${ratio(now.cpu[1], old.cpu[1])}${loaded}\n`)
  } finally {
    for (const s of sides) {
      await s.client.close().catch(() => {})
      await Promise.all(s.procs.map(async p => { await p.stop() }))
      await rm(s.dir, { recursive: true, force: true })
    }
    await server?.stop()
    await baseline.cleanup()
  }
}

async function startPair (bundle: string, label: string, agent: AgentConfig): Promise<Side> {
  const dir = await mkdtemp(join(tmpdir(), 'dawn-bench-rev-'))
  const net = await createNetworkDir({
    dir,
    nodes: 2,
    bootstrapNodes: 1,
    agents: i => i === 1 ? [agent] : [],
    patch: (_i, config) => { (config as { log: unknown }).log = { level: 'warn' } }
  })
  const procs = net.nodes.map(n => new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl, entry: bundle }))
  const side: Side = { label, client: new Client({ name: 'bench', version: '1' }), tool: '', procs, samples: [], cpu: [0, 0], load: { calls: 0, seconds: 0, cpu: [0, 0] }, dir }
  for (const p of procs) p.start()
  await Promise.all(procs.map(async p => { await p.waitReady(60_000) }))
  const entry = net.nodes[0]
  if (entry === undefined) throw new Error('no entry node')
  await eventually(async () => {
    const reg = await (await fetch(`${entry.httpUrl}/api/v1/registry`)).json() as { entries: Array<{ agentId: string, tools: unknown[] }> }
    return reg.entries.some(e => e.agentId === 'echo' && e.tools.length > 0) ? true : undefined
  }, { what: 'the echo agent in the entry node\'s registry', timeoutMs: 60_000 })
  await side.client.connect(new StreamableHTTPClientTransport(new URL(`${entry.httpUrl}/mcp`)))
  // The mesh names it by agent and tool (echo.echo) in the default naming mode.
  const tools = (await side.client.listTools()).tools.map(t => t.name)
  const tool = tools.find(t => t === 'echo.echo') ?? tools.find(t => t.endsWith('echo'))
  if (tool === undefined) throw new Error(`${label}: no echo tool through the entry node (saw ${tools.slice(0, 5).join(', ')})`)
  side.tool = tool
  return side
}
