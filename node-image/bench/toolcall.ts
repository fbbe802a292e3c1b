/**
 * `npm run bench -- toolcall`: one MCP tool call measured over each path, side by
 * side and interleaved in rounds so machine noise hits every path alike.
 *
 *   direct        SDK client → the echo MCP server over Streamable HTTP
 *   local         SDK client → node B /mcp → B's own agent (built-in, or the same echo server as a
 *                 remote agent): the gateway overhead alone, with no node boundary crossed
 *   mesh 1 hop    SDK client → node A /mcp → node B (built-in echo)
 *   mesh→remote   SDK client → node A /mcp → node B → the same echo server over HTTP
 *   mesh 2 hops   SDK client → node A /mcp → relay R → node T (network namespace, reachable only via R)
 *   1 hop, plain  as "mesh 1 hop" from a node with encryption off
 *   per-call      as "mesh 1 hop" from a node with the warm call channel off (a signed stream per call)
 *   2026-07-28    the SDK v2 client pinned to 2026-07-28: directly against an SDK v2 echo server,
 *                 and through node A to node B's built-in echo (every request stateless)
 *
 * CPU µs per call per process: user+system time from /proc/<pid>/stat of the entry node, the
 * hosting node and the echo server around each path's sequential calls ("client" is this process,
 * which also hosts the 2026-07-28 echo server).
 * Then the E2E cipher alone (seal + open round trips, no network).
 * Every node is its own process. The 2-hop path needs root (ip netns). Nodes and the echo server
 * run the bundle that `./dawn mesh` and the image run; `--source` runs the TypeScript instead.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { rm } from 'node:fs/promises'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import { startModernEcho } from './modern-echo.ts'
import { startHttpEcho } from './echo-server.ts'
import { createNetworkDir, type NodeFiles } from '../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../src/local-mesh/node-process.ts'
import { freePort } from '../src/local-mesh/free-port.ts'
import { ensureNodeBundle, NODE_SOURCE_ENTRY } from '../src/local-mesh/node-bundle.ts'
import { createNetNs, type NetNs } from '../../test/support/netns.ts'
import { nodeBehindRelay } from '../test/mesh/behind-relay.ts'
import { eventually } from '../../test/support/eventually.ts'
import { fmtMs, fmtOps, formatTable, summarize } from './util.ts'
import { runE2EBench } from './e2e-bench.ts'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** What a path needs of a client, whichever SDK it is. */
interface Caller {
  callTool: (params: { name: string, arguments: Record<string, unknown> }) => Promise<Record<string, unknown>>
  close: () => Promise<void>
}

interface Path {
  label: string
  client: Caller
  tool: string
  samples: number[]
  throughput?: number
  /** The node the client talks to and the node that runs the agent (the same for local paths). */
  entry: number | undefined
  host: number | undefined
  /** CPU ticks spent during this path's sequential calls, per column of CPU_COLUMNS. */
  cpu: number[]
}

const CPU_COLUMNS = ['client', 'entry', 'host', 'echo srv'] as const

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { rounds: { type: 'string', default: '10' }, calls: { type: 'string', default: '50' }, payload: { type: 'string', default: '256' }, concurrency: { type: 'string', default: '16' }, source: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } } })
  if (values.help) {
    process.stdout.write('options: --rounds N (10) --calls N per round per path (50) --payload BYTES (256) --concurrency N (16) --source (run the TypeScript, not the bundle)\n')
    return
  }
  const rounds = Number(values.rounds)
  const calls = Number(values.calls)
  const text = 'x'.repeat(Number(values.payload))
  const concurrency = Number(values.concurrency)

  const entry = values.source ? NODE_SOURCE_ENTRY : await ensureNodeBundle(m => { process.stdout.write(`${m}\n`) })
  process.stdout.write(`nodes and the echo server run ${values.source ? 'the TypeScript sources' : 'the bundle'} (${entry})\n`)
  const stack = await startStack(entry)
  try {
    const { pids } = stack
    const path = (label: string, client: Caller, tool: string, entry?: number, host?: number): Path => ({ label, client, tool, samples: [], entry, host, cpu: CPU_COLUMNS.map(() => 0) })
    const b = meshName(stack.ids.b, 'echo', 'echo')
    const bRemote = meshName(stack.ids.b, 'remote-echo', 'echo')
    const paths: Path[] = [
      path('direct (Streamable HTTP)', await connect(stack.serverUrl), 'echo'),
      path('local, built-in (via node)', await connect(stack.nodeUrl.b), b, pids.b, pids.b),
      path('local → same server (via node)', await connect(stack.nodeUrl.b), bRemote, pids.b, pids.b),
      path('mesh 1 hop (built-in)', await connect(stack.nodeUrl.a), b, pids.a, pids.b),
      path('mesh 1 hop → same server', await connect(stack.nodeUrl.a), bRemote, pids.a, pids.b),
      path('mesh 1 hop (built-in), per-call', await connect(stack.nodeUrl.perCall), b, pids.perCall, pids.b),
      path('mesh 1 hop → same server, per-call', await connect(stack.nodeUrl.perCall), bRemote, pids.perCall, pids.b),
      // By logical name: the same call through replica choice (one replica, and two for echo).
      path('same server, logical name', await connect(stack.nodeUrl.a), 'remote-echo.echo', pids.a),
      path('built-in, logical name (2 replicas)', await connect(stack.nodeUrl.a), 'echo.echo', pids.a),
      ...(stack.ids.t === undefined ? [] : [path('mesh 2 hops via relay', await connect(stack.nodeUrl.a), meshName(stack.ids.t, 'echo', 'echo'), pids.a, pids.t)]),
      path('mesh 1 hop, encryption off', await connect(stack.nodeUrl.plain), b, pids.plain, pids.b),
      path('direct, 2026-07-28', await connectModern(stack.modernUrl), 'echo'),
      path('local, built-in, 2026-07-28', await connectModern(stack.nodeUrl.b), b, pids.b, pids.b),
      path('local → same server, 2026-07-28', await connectModern(stack.nodeUrl.b), bRemote, pids.b, pids.b),
      path('mesh 1 hop, 2026-07-28', await connectModern(stack.nodeUrl.a), b, pids.a, pids.b),
      path('mesh 1 hop, per-call, 2026-07-28', await connectModern(stack.nodeUrl.perCall), b, pids.perCall, pids.b),
      path('mesh 1 hop → same server, 2026-07-28', await connectModern(stack.nodeUrl.a), bRemote, pids.a, pids.b)
    ]
    const once = async (p: Path): Promise<void> => {
      const result = await p.client.callTool({ name: p.tool, arguments: { text } })
      const content = result.content as Array<{ text?: string }>
      if (result.isError === true || content[0]?.text !== text) throw new Error(`${p.label}: wrong answer ${JSON.stringify(result).slice(0, 200)}`)
    }
    for (const p of paths) for (let i = 0; i < 20; i++) await once(p) // warm-up: connections, sessions, JIT
    for (let r = 0; r < rounds; r++) {
      for (const p of paths) {
        const watched = [undefined, p.entry, p.host === p.entry ? undefined : p.host, pids.server]
        const before = watched.map(cpuTicks)
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now()
          await once(p)
          p.samples.push(performance.now() - t0)
        }
        watched.map(cpuTicks).forEach((t, i) => { p.cpu[i] = (p.cpu[i] ?? 0) + t - (before[i] ?? 0) })
      }
    }
    for (const p of paths) {
      const until = performance.now() + 2000
      let done = 0
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) { await once(p); done++ }
      }))
      p.throughput = done / 2
    }

    const stats = new Map(paths.map(p => [p.label, summarize(p.samples)]))
    const p50 = (label: string): number => stats.get(label)?.p50 ?? Number.NaN
    const p99 = (label: string): number => stats.get(label)?.p99 ?? Number.NaN
    const tput = (label: string): number => paths.find(p => p.label === label)?.throughput ?? Number.NaN
    process.stdout.write(`\n${rounds} rounds × ${calls} sequential calls per path, ${text.length}-byte argument; calls/s with ${concurrency} concurrent callers for 2 s\n\n`)
    // Each path is compared with the direct call of its own MCP revision.
    const directOf = (p: Path): string => p.label.endsWith('2026-07-28') ? 'direct, 2026-07-28' : 'direct (Streamable HTTP)'
    const usPerCall = (ticks: number, p: Path): string => p.samples.length === 0 ? '-' : String(Math.round(ticks * 1e6 / TICKS_PER_SECOND / p.samples.length))
    process.stdout.write(formatTable(['path', 'p50', 'p90', 'p99', 'max', 'calls/s', '÷ direct', '+ms p50', ...CPU_COLUMNS.map(c => `${c} µs`)], paths.map(p => {
      const s = summarize(p.samples)
      const direct = p50(directOf(p))
      return [p.label, fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.p99), fmtMs(s.max), fmtOps(p.throughput ?? Number.NaN), (s.p50 / direct).toFixed(2), (s.p50 - direct).toFixed(2),
        ...p.cpu.map((t, i) => i === 0 || i === 3 || (i === 1 && p.entry !== undefined) || (i === 2 && p.host !== undefined && p.host !== p.entry) ? usPerCall(t, p) : '-')]
    })) + '\n(CPU µs per call over the sequential calls; "client" is this process, which also serves "direct, 2026-07-28"; a local path\'s host is its entry)\n\n')
    const added = (label: string, direct: string): string => `${(p50(label) - p50(direct)).toFixed(2)} ms`
    const encOverheadP50 = p50('mesh 1 hop (built-in)') / p50('mesh 1 hop, encryption off') - 1
    const encOverheadTput = tput('mesh 1 hop, encryption off') / tput('mesh 1 hop (built-in)') - 1
    process.stdout.write([
      `mesh/direct p50 ratio (1 hop, built-in):  ${(p50('mesh 1 hop (built-in)') / p50('direct (Streamable HTTP)')).toFixed(2)}   goal ≤ 2.0`,
      `warm channel ÷ per-call streams, p50 (1 hop, built-in): ${(p50('mesh 1 hop (built-in)') / p50('mesh 1 hop (built-in), per-call')).toFixed(2)}`,
      `mesh/direct p50 ratio (same server):      ${(p50('mesh 1 hop → same server') / p50('direct (Streamable HTTP)')).toFixed(2)}`,
      `logical/replica name p50 (same server):   ${(p50('same server, logical name') / p50('mesh 1 hop → same server')).toFixed(2)}`,
      `mesh/direct p50 ratio (2026-07-28):       ${(p50('mesh 1 hop, 2026-07-28') / p50('direct, 2026-07-28')).toFixed(2)}   goal ≤ 2.0`,
      `mesh/direct p50 ratio (same server, 2026-07-28): ${(p50('mesh 1 hop → same server, 2026-07-28') / p50('direct, 2026-07-28')).toFixed(2)}   goal ≤ 2.0`,
      `calls/s mesh ÷ direct (1 hop, built-in):  ${(tput('mesh 1 hop (built-in)') / tput('direct (Streamable HTTP)')).toFixed(2)}   goal ≥ 0.5`,
      `added p50, local built-in:               ${added('local, built-in (via node)', 'direct (Streamable HTTP)')} (2026-07-28: ${added('local, built-in, 2026-07-28', 'direct, 2026-07-28')})   goal ≤ 0.7 ms`,
      `added p50, local → same server:          ${added('local → same server (via node)', 'direct (Streamable HTTP)')} (2026-07-28: ${added('local → same server, 2026-07-28', 'direct, 2026-07-28')})   goal ≤ 0.7 ms`,
      ...(stack.ids.t === undefined ? ['2-hop path skipped: needs root for ip netns'] : [`2 hops / 1 hop p50 ratio:                 ${(p50('mesh 2 hops via relay') / p50('mesh 1 hop (built-in)')).toFixed(2)}`]),
      `1-hop p99:                                ${fmtMs(p99('mesh 1 hop (built-in)'))}   goal < 20 ms`,
      `encryption on/off: p50 ${(100 * encOverheadP50).toFixed(1)}% slower, throughput ${(100 * encOverheadTput).toFixed(1)}% lower   goal ≤ 10%`
    ].join('\n') + '\n')
    for (const p of paths) await p.client.close()
  } finally {
    await stack.stop()
  }
  // The crypto alone, without the network: what "encryption on" costs per call.
  process.stdout.write('\n' + await runE2EBench() + '\n')
}

const TICKS_PER_SECOND = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** User+system CPU of a process in clock ticks (this process when pid is undefined); 0 when unreadable. */
function cpuTicks (pid: number | undefined): number {
  if (pid === undefined) {
    const { user, system } = process.cpuUsage()
    return (user + system) * TICKS_PER_SECOND / 1e6
  }
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

function meshName (nodeId: string, agentId: string, tool: string): string {
  return `${nodeId.slice(-10)}.${agentId}.${tool}`
}

/** The SDK v2 client pinned to 2026-07-28: no session, every call a request of its own. */
async function connectModern (url: string): Promise<Caller> {
  const client = new ModernClient({ name: 'dawn-bench', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
  await client.connect(new ModernTransport(new URL(url.endsWith('/mcp') ? url : new URL('/mcp', url).toString())))
  return client
}

async function connect (url: string): Promise<Client> {
  const client = new Client({ name: 'dawn-bench', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL(url.endsWith('/mcp') ? url : new URL('/mcp', url).toString())))
  return client
}

interface Stack {
  serverUrl: string
  modernUrl: string
  nodeUrl: { a: string, b: string, plain: string, perCall: string }
  ids: { b: string, t?: string }
  pids: { a?: number, b?: number, plain?: number, t?: number, perCall?: number, server?: number }
  stop: () => Promise<void>
}

/** R relay, A caller, P caller with encryption off, B host, T behind R in a namespace, C caller without the call channel, S the echo server. */
async function startStack (entry: string): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'dawn-bench-toolcall-'))
  let ns: NetNs | undefined
  try {
    ns = createNetNs()
  } catch (err) {
    process.stdout.write(`(no network namespace: ${(err as Error).message})\n`)
  }
  const modern = await startModernEcho()
  const server = await startHttpEcho(entry).catch(async (err: unknown) => { await modern.stop(); throw err })
  const serverUrl = server.url
  const relayNsPort = await freePort()
  const net = await createNetworkDir({
    dir,
    nodes: 6,
    bootstrapNodes: 1,
    agents: i => i === 3
      ? [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }, { id: 'remote-echo', kind: 'remote', url: serverUrl, description: '' }]
      : i === 4 ? [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }] : [],
    patch: (i, config) => {
      const c = config as { node: Record<string, unknown>, p2p: { listen: string[] }, toolCalls?: Record<string, unknown>, log?: Record<string, unknown> }
      c.log = { level: 'warn' }
      if (i === 0) {
        c.node.relayServer = true
        if (ns !== undefined) c.p2p.listen.push(`/ip4/${ns.hostAddr}/tcp/${relayNsPort}`)
      }
      if (i === 2) c.toolCalls = { encryption: 'off' }
      if (i === 5) c.toolCalls = { channel: false }
      if (i === 3 || i === 4) c.toolCalls = { encryption: 'preferred' }
    }
  })
  const node = (i: number): NodeFiles => {
    const n = net.nodes[i]
    if (n === undefined) throw new Error(`no node ${i}`)
    return n
  }
  const [relay, a, plain, b, t, perCall] = [0, 1, 2, 3, 4, 5].map(node) as [NodeFiles, NodeFiles, NodeFiles, NodeFiles, NodeFiles, NodeFiles]
  const procs = [relay, a, plain, b, perCall].map(n => new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl, entry }))
  if (ns !== undefined) {
    procs.push(await nodeBehindRelay(t, ns, `/ip4/${ns.hostAddr}/tcp/${relayNsPort}/p2p/${relay.peerId}`, entry))
  }
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map(async p => { await p.stop() }))
    await server.stop()
    await modern.stop()
    ns?.remove()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    for (const p of procs) p.start()
    await Promise.all(procs.map(async p => { await p.waitReady(60_000) }))
    const expected = ns === undefined ? 2 : 3
    await eventually(async () => {
      for (const caller of [a, plain, perCall]) {
        const reg = await (await fetch(`${caller.httpUrl}/api/v1/registry`)).json() as { entries: Array<{ tools: unknown[] }> }
        if (reg.entries.filter(e => e.tools.length > 0).length < expected) throw new Error('agents not yet in the registry')
      }
      return true
    }, { what: 'every agent in the callers registries', timeoutMs: 60_000 })
    const [, pa, pplain, pb, pc, pt] = procs
    return {
      serverUrl,
      modernUrl: modern.url,
      nodeUrl: { a: a.httpUrl, b: b.httpUrl, plain: plain.httpUrl, perCall: perCall.httpUrl },
      ids: { b: b.peerId, ...(ns === undefined ? {} : { t: t.peerId }) },
      pids: { a: pa?.pid, b: pb?.pid, plain: pplain?.pid, t: pt?.pid, perCall: pc?.pid, server: server.pid },
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}
