/**
 * `npm run bench -- toolcall`: one MCP tool call measured over each path, side by
 * side and interleaved in rounds so machine noise hits every path alike.
 *
 *   direct        SDK client → the echo MCP server over Streamable HTTP
 *   mesh 1 hop    SDK client → node A /mcp → node B (built-in echo)
 *   mesh→remote   SDK client → node A /mcp → node B → the same echo server over HTTP
 *   mesh 2 hops   SDK client → node A /mcp → relay R → node T (network namespace, reachable only via R)
 *   1 hop, plain  as "mesh 1 hop" from a node with encryption off
 *   2026-07-28    the SDK v2 client pinned to 2026-07-28: directly against an SDK v2 echo server,
 *                 and through node A to node B's built-in echo (every request stateless)
 *
 * Then the E2E cipher alone (seal + open round trips, no network).
 * Every node is its own process. The 2-hop path needs root (ip netns).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { parseArgs } from 'node:util'
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client'
import { startModernEcho } from './modern-echo.ts'
import { createNetworkDir, type NodeFiles } from '../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../src/local-mesh/node-process.ts'
import { freePort } from '../src/local-mesh/free-port.ts'
import { createNetNs, type NetNs } from '../../test/support/netns.ts'
import { nodeBehindRelay } from '../test/mesh/behind-relay.ts'
import { eventually } from '../../test/support/eventually.ts'
import { fmtMs, fmtOps, formatTable, summarize } from './util.ts'
import { runE2EBench } from './e2e-bench.ts'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url))

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
}

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { rounds: { type: 'string', default: '10' }, calls: { type: 'string', default: '50' }, payload: { type: 'string', default: '256' }, concurrency: { type: 'string', default: '16' }, help: { type: 'boolean', default: false } } })
  if (values.help) {
    process.stdout.write('options: --rounds N (10) --calls N per round per path (50) --payload BYTES (256) --concurrency N (16)\n')
    return
  }
  const rounds = Number(values.rounds)
  const calls = Number(values.calls)
  const text = 'x'.repeat(Number(values.payload))
  const concurrency = Number(values.concurrency)

  const stack = await startStack()
  try {
    const paths: Path[] = [
      { label: 'direct (Streamable HTTP)', client: await connect(stack.serverUrl), tool: 'echo', samples: [] },
      { label: 'mesh 1 hop (built-in)', client: await connect(stack.nodeUrl.a), tool: meshName(stack.ids.b, 'echo', 'echo'), samples: [] },
      { label: 'mesh 1 hop → same server', client: await connect(stack.nodeUrl.a), tool: meshName(stack.ids.b, 'remote-echo', 'echo'), samples: [] },
      // By logical name: the same call through replica choice (one replica, and two for echo).
      { label: 'same server, logical name', client: await connect(stack.nodeUrl.a), tool: 'remote-echo.echo', samples: [] },
      { label: 'built-in, logical name (2 replicas)', client: await connect(stack.nodeUrl.a), tool: 'echo.echo', samples: [] },
      ...(stack.ids.t === undefined ? [] : [{ label: 'mesh 2 hops via relay', client: await connect(stack.nodeUrl.a), tool: meshName(stack.ids.t, 'echo', 'echo'), samples: [] }]),
      { label: 'mesh 1 hop, encryption off', client: await connect(stack.nodeUrl.plain), tool: meshName(stack.ids.b, 'echo', 'echo'), samples: [] },
      { label: 'direct, 2026-07-28', client: await connectModern(stack.modernUrl), tool: 'echo', samples: [] },
      { label: 'mesh 1 hop, 2026-07-28', client: await connectModern(stack.nodeUrl.a), tool: meshName(stack.ids.b, 'echo', 'echo'), samples: [] }
    ]
    const once = async (p: Path): Promise<void> => {
      const result = await p.client.callTool({ name: p.tool, arguments: { text } })
      const content = result.content as Array<{ text?: string }>
      if (result.isError === true || content[0]?.text !== text) throw new Error(`${p.label}: wrong answer ${JSON.stringify(result).slice(0, 200)}`)
    }
    for (const p of paths) for (let i = 0; i < 20; i++) await once(p) // warm-up: connections, sessions, JIT
    for (let r = 0; r < rounds; r++) {
      for (const p of paths) {
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now()
          await once(p)
          p.samples.push(performance.now() - t0)
        }
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
    process.stdout.write(formatTable(['path', 'p50', 'p90', 'p99', 'max', 'calls/s', 'p50 ÷ direct'], paths.map(p => {
      const s = summarize(p.samples)
      return [p.label, fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.p99), fmtMs(s.max), fmtOps(p.throughput ?? Number.NaN), (s.p50 / p50('direct (Streamable HTTP)')).toFixed(2)]
    })) + '\n\n')
    const encOverheadP50 = p50('mesh 1 hop (built-in)') / p50('mesh 1 hop, encryption off') - 1
    const encOverheadTput = tput('mesh 1 hop, encryption off') / tput('mesh 1 hop (built-in)') - 1
    process.stdout.write([
      `mesh/direct p50 ratio (1 hop, built-in):  ${(p50('mesh 1 hop (built-in)') / p50('direct (Streamable HTTP)')).toFixed(2)}   goal ≤ 2.0`,
      `mesh/direct p50 ratio (same server):      ${(p50('mesh 1 hop → same server') / p50('direct (Streamable HTTP)')).toFixed(2)}`,
      `logical/replica name p50 (same server):   ${(p50('same server, logical name') / p50('mesh 1 hop → same server')).toFixed(2)}`,
      `mesh/direct p50 ratio (2026-07-28):       ${(p50('mesh 1 hop, 2026-07-28') / p50('direct, 2026-07-28')).toFixed(2)}   goal ≤ 2.0`,
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
  nodeUrl: { a: string, plain: string }
  ids: { b: string, t?: string }
  stop: () => Promise<void>
}

/** R relay, A caller, P caller with encryption off, B host, T behind R in a namespace, S the echo server. */
async function startStack (): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'dawn-bench-toolcall-'))
  let ns: NetNs | undefined
  try {
    ns = createNetNs()
  } catch (err) {
    process.stdout.write(`(no network namespace: ${(err as Error).message})\n`)
  }
  const serverPort = await freePort()
  const serverUrl = `http://127.0.0.1:${serverPort}/mcp`
  const modern = await startModernEcho()
  const server: ChildProcess = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, 'agent', 'serve', 'echo', '--http', String(serverPort), '--host', '127.0.0.1', '--data-dir', dir], { stdio: 'ignore' })
  const relayNsPort = await freePort()
  const net = await createNetworkDir({
    dir,
    nodes: 5,
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
      if (i === 3 || i === 4) c.toolCalls = { encryption: 'preferred' }
    }
  })
  const node = (i: number): NodeFiles => {
    const n = net.nodes[i]
    if (n === undefined) throw new Error(`no node ${i}`)
    return n
  }
  const [relay, a, plain, b, t] = [0, 1, 2, 3, 4].map(node) as [NodeFiles, NodeFiles, NodeFiles, NodeFiles, NodeFiles]
  const procs = [relay, a, plain, b].map(n => new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl }))
  if (ns !== undefined) {
    procs.push(await nodeBehindRelay(t, ns, `/ip4/${ns.hostAddr}/tcp/${relayNsPort}/p2p/${relay.peerId}`))
  }
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map(async p => { await p.stop() }))
    server.kill()
    await modern.stop()
    ns?.remove()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    for (const p of procs) p.start()
    await Promise.all(procs.map(async p => { await p.waitReady(60_000) }))
    const expected = ns === undefined ? 2 : 3
    await eventually(async () => {
      const reg = await (await fetch(`${a.httpUrl}/api/v1/registry`)).json() as { entries: Array<{ tools: unknown[] }> }
      if (reg.entries.filter(e => e.tools.length > 0).length < expected) throw new Error('agents not yet in the registry')
      const regPlain = await (await fetch(`${plain.httpUrl}/api/v1/registry`)).json() as { entries: Array<{ tools: unknown[] }> }
      if (regPlain.entries.filter(e => e.tools.length > 0).length < expected) throw new Error('agents not yet in the registry')
      return true
    }, { what: 'every agent in the callers registries', timeoutMs: 60_000 })
    return { serverUrl, modernUrl: modern.url, nodeUrl: { a: a.httpUrl, plain: plain.httpUrl }, ids: { b: b.peerId, ...(ns === undefined ? {} : { t: t.peerId }) }, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
