// Proof of one name per replicated agent and of replica choice (issue 15, "three replicas"):
// echo hosted on 3 nodes of a 5-node mesh lists once through every node, and 300 calls by its
// logical name from one entry node reach every replica, the nearest by round trip most.
// Round trips differ because links are delayed (NFQUEUE + link-delay.c in each replica's
// network namespace, test/chaos/netns/faults.ts), so this runs in namespaces, as root.
// The farthest replica is the one with the smallest node id, which wins every tie: a chooser
// that ignored round trips would send it the most, and the test would fail.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { eventually } from './harness.ts'
import { flaky } from '../../../test/chaos/netns/faults.ts'
import { startNsMesh, type NsMesh } from '../../../test/chaos/netns/ns-mesh.ts'

const MODERN = '2026-07-28'
const ENTRY = 0
const REPLICAS = [1, 2, 3]
const CALLS = 300
/**
 * Six callers keep six calls in flight, which the chooser (least loaded within one call, then
 * lowest round trip) spreads 3/2/1 from the nearest to the farthest replica. Each call holds
 * long enough in the agent that a replica's share follows its calls in flight rather than
 * its call duration: the farthest-first order of a chooser blind to round trips (the
 * tie-break by node id) would then give the farthest replica the most, not the nearest.
 */
const CALLERS = 6
const SLEEP_MS = 100
/** One-way delay added to every packet into and out of a replica's namespace: its round trip grows by twice this. */
const ONE_WAY_MS = [15, 5, 0]
const ECHO_TOOLS = ['echo.echo', 'echo.generate', 'echo.sleep']

interface Attempt { nodeId: string, rttMs?: number, outcome: string }

describe('a logical agent on three replicas', () => {
  let mesh: NsMesh
  const clients: Client[] = []
  /** Replica node indexes by node id, ascending: the first is the farthest. */
  let byId: number[] = []
  const ids: string[] = []
  const nodeIndex = (nodeId: string): number => ids.indexOf(nodeId)

  async function client (i: number): Promise<Client> {
    const c = new Client({ name: `dawn-replicas-test-${i}`, version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } })
    await c.connect(new StreamableHTTPClientTransport(new URL('/mcp', mesh.net.nodes[i]!.httpUrl)))
    clients.push(c)
    return c
  }

  /** One call of echo.sleep by its logical name: the replica that answered and the first attempt's view of it. */
  async function sleepCall (c: Client): Promise<{ replica: number, first: Attempt }> {
    const result = await c.callTool({ name: 'echo.sleep', arguments: { ms: SLEEP_MS } })
    expect(result.isError, JSON.stringify(result)).not.toBe(true)
    const attempts = result._meta?.['dawn/attempts'] as Attempt[]
    expect(attempts).toHaveLength(1)
    return { replica: nodeIndex(String(result._meta?.['dawn/replica'])), first: attempts[0]! }
  }

  beforeAll(async () => {
    mesh = await startNsMesh({
      nodes: 5,
      agents: (i) => REPLICAS.includes(i) ? [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }] : []
    })
    ids.push(...mesh.net.nodes.map((n) => n.peerId))
    byId = [...REPLICAS].sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1))
    // Each replica's own delay; the entry node and node 4 have none.
    for (const [rank, i] of byId.entries()) {
      const delayMs = ONE_WAY_MS[rank]!
      if (delayMs > 0) await flaky(mesh.topo, { delayMs, jitterMs: 0, lossPercent: 0 }, [i])
    }
    await Promise.all(mesh.net.nodes.map(async (_, i) => {
      await eventually(async () => {
        const { entries } = await mesh.get<{ entries: Array<{ agentId: string, tools: unknown[] }> }>(i, '/api/v1/registry')
        return entries.filter((e) => e.agentId === 'echo' && e.tools.length > 0).length === REPLICAS.length
      }, { what: `node ${i}'s registry to hold the three echo replicas`, timeoutMs: 60_000 })
    }))
  }, 240_000)

  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {})
    await (mesh as NsMesh | undefined)?.stop()
  })

  it('lists echo once through every node, under its logical names only', async () => {
    for (const i of mesh.net.nodes.keys()) {
      const names = (await (await client(i)).listTools()).tools.map((t) => t.name).filter((n) => n.includes('echo'))
      expect(names.sort(), `node ${i}`).toEqual(ECHO_TOOLS)
    }
  })

  it('spreads 300 calls over every replica, and the nearest by round trip serves the most', async () => {
    const callers = await Promise.all(Array.from({ length: CALLERS }, async () => await client(ENTRY)))
    // Round trips come from the liveness pings (every 10 s): wait until the
    // chooser has seen every replica's, delay included, before the measured run.
    const rtt = new Map<number, number>()
    await eventually(async () => {
      for (const { first } of await Promise.all(callers.map(sleepCall))) {
        if (first.rttMs !== undefined) rtt.set(nodeIndex(first.nodeId), first.rttMs)
      }
      const [far, mid, near] = byId.map((i) => rtt.get(i))
      return far !== undefined && mid !== undefined && near !== undefined && far >= mid + 10 && mid >= near + 5
    }, {
      what: 'round trips to the three replicas, ordered as the delays make them',
      timeoutMs: 60_000,
      intervalMs: 500,
      detail: async () => `seen: ${byId.map((i) => `node ${i} ${rtt.get(i) ?? '-'} ms`).join(', ')}`
    })

    const servedBefore = await Promise.all(REPLICAS.map(async (i) => await mesh.metric(i, 'dawn_tool_calls_served_total', { result: 'ok' })))
    const answered = new Map<number, number>(REPLICAS.map((i) => [i, 0]))
    let next = 0
    await Promise.all(callers.map(async (c) => {
      for (let n = next++; n < CALLS; n = next++) {
        const { replica, first } = await sleepCall(c)
        answered.set(replica, (answered.get(replica) ?? 0) + 1)
        if (first.rttMs !== undefined) rtt.set(nodeIndex(first.nodeId), first.rttMs)
      }
    }))
    const served = new Map(await Promise.all(REPLICAS.map(async (i, k) => [i, await mesh.metric(i, 'dawn_tool_calls_served_total', { result: 'ok' }) - servedBefore[k]!] as const)))

    const rows = byId.map((i, rank) => ({ i, added: 2 * ONE_WAY_MS[rank]!, rtt: rtt.get(i), served: served.get(i)!, answered: answered.get(i)! }))
    console.log([
      `replicas: ${CALLS} calls of echo.sleep (${SLEEP_MS} ms) by its logical name from node ${ENTRY}, ${CALLERS} callers`,
      'node  node id tag   added RTT  measured RTT  served (metric)  answered (_meta)',
      ...rows.map((r) => `${String(r.i).padEnd(5)} ${ids[r.i]!.slice(-10).padEnd(12)} ${`${r.added} ms`.padStart(9)}  ${`${r.rtt?.toFixed(1) ?? '-'} ms`.padStart(12)}  ${String(r.served).padStart(15)}  ${String(r.answered).padStart(16)}`)
    ].join('\n'))

    // What the replicas counted is what the results said.
    expect(rows.map((r) => r.served)).toEqual(rows.map((r) => r.answered))
    expect(rows.reduce((sum, r) => sum + r.answered, 0)).toBe(CALLS)
    for (const r of rows) expect(r.served, `node ${r.i}`).toBeGreaterThan(0)
    const nearest = rows[rows.length - 1]!
    for (const r of rows.slice(0, -1)) expect(nearest.served, `nearest (node ${nearest.i}) against node ${r.i}`).toBeGreaterThan(r.served)
  }, 180_000)
})
