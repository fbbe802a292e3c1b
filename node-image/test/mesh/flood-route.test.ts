import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { eventually } from './harness.ts'
import type { RecordedFrame } from './flood-recorder-node.ts'
import { NodeProcess } from '../../src/local-mesh/node-process.ts'
import { generateText } from '../../src/agents/builtin/echo.ts'
import { holds } from '../unit/routing/flood-layers.ts'
import { createTopology, type Topology } from '../../../test/chaos/netns/topology.ts'
import { partition, probe } from '../../../test/chaos/netns/faults.ts'
import { startNsMesh, type NsMesh } from '../../../test/chaos/netns/ns-mesh.ts'
import { formatMatrix, groupsMatrix, matrixDiff } from '../../../test/chaos/matrix.ts'

/**
 * A - M1 - M2 - D, each a real node in its own network namespace, where only
 * neighbours exchange packets (iptables in the namespaces). M1 and M2 are relay
 * servers, but circuit relay v2 is one hop: no direct and no relayed path
 * leads from A to D, so calls must be carried hop by hop by M1 and M2.
 *
 * Noise encrypts every hop, so a packet capture would prove nothing. M1 is a
 * real node with a recording hook in its flood relay (flood-recorder-node.ts):
 * it writes down every frame it passes on and back, and the test searches
 * every encoding layer of those frames for the call's argument and reply.
 */
const A = 0
const M1 = 1
const M2 = 2
const D = 3
const CHAIN = [[A, M1], [M1, M2], [M2, D]]
const RECORDER = fileURLToPath(new URL('./flood-recorder-node.ts', import.meta.url))
const echoAgent = { id: 'echo', kind: 'builtin' as const, builtin: 'echo', description: '' }
const meshAgent = { id: 'mesh', kind: 'builtin' as const, builtin: 'mesh', description: '' }

type CallToolResult = Awaited<ReturnType<Client['callTool']>>

describe('the flood route across network namespaces', () => {
  let topo: Topology | undefined
  let mesh: NsMesh
  let recordFile: string
  const clients: Client[] = []

  const url = (i: number): string => mesh.net.nodes[i]!.httpUrl
  const peerId = (i: number): string => mesh.net.nodes[i]!.peerId

  /** The frames M1 relayed while `run` ran. */
  async function recorded<T> (run: () => Promise<T>): Promise<{ outcome: T, frames: Array<{ direction: string, bytes: Uint8Array }> }> {
    const before = (await readFile(recordFile, 'utf8')).length
    const outcome = await run()
    const lines = (await readFile(recordFile, 'utf8')).slice(before).split('\n').filter(Boolean)
    const frames = lines.map(l => JSON.parse(l) as RecordedFrame).map(f => ({ direction: f.direction, bytes: Buffer.from(f.bytes, 'base64') }))
    return { outcome, frames }
  }

  async function mcpClient (i: number): Promise<Client> {
    const client = new Client({ name: 'dawn-flood-test', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url(i))))
    clients.push(client)
    return client
  }

  /** D's own `generate` (M1 hosts echo too): its replica name, once A lists echo.generate. */
  async function generateTool (client: Client): Promise<string> {
    await eventually(async () => (await client.listTools()).tools.some(t => t.name === 'echo.generate'), { what: 'echo.generate in A\'s listing', timeoutMs: 60_000 })
    return `${peerId(D).slice(-10)}.echo.generate`
  }

  async function callGenerate (seed: string): Promise<CallToolResult> {
    const client = await mcpClient(A)
    return await client.callTool({ name: await generateTool(client), arguments: { bytes: 256, seed } }, undefined, { timeout: 60_000 })
  }

  const text = (result: CallToolResult): string => (result.content as Array<{ type: string, text?: string }>)[0]?.text ?? ''

  /** Restarts A with an edited config and waits until it is back in the chain. */
  async function restartA (edit: (toolCalls: Record<string, unknown>) => void): Promise<void> {
    await mesh.editConfig(A, c => {
      const toolCalls = (c.toolCalls ?? {}) as Record<string, unknown>
      edit(toolCalls)
      c.toolCalls = toolCalls
    })
    await mesh.procs[A]!.stop()
    mesh.procs[A]!.start()
    await mesh.procs[A]!.waitReady(60_000)
    await eventually(async () => (await mesh.get<Array<{ peerId: string, verified: boolean }>>(A, '/api/v1/peers')).some(p => p.peerId === peerId(M1) && p.verified),
      { what: 'A to admit M1 again', timeoutMs: 60_000 })
  }

  beforeAll(async () => {
    topo = createTopology({ nodes: 4 })
    // Cut before the nodes start, so no connection between non-neighbours ever opens.
    await partition(topo, CHAIN)
    mesh = await startNsMesh({
      topo,
      agents: i => i === A ? [meshAgent] : i === D ? [echoAgent] : i === M1 ? [echoAgent] : [],
      patch: (i, config) => {
        if (i === M1 || i === M2) (config.node as Record<string, unknown>).relayServer = true
        // D also takes plaintext calls, so the encryption-off run below has a reply in the clear to look for.
        config.toolCalls = { encryption: i === D ? 'preferred' : 'required' }
      }
    })
    // M1 again, same identity and address, now recording what its flood relay carries.
    recordFile = join(mesh.net.dir, 'm1-flood-frames.jsonl')
    await writeFile(recordFile, '')
    const old = mesh.procs[M1]!
    await old.stop()
    const recorder = new NodeProcess({
      ...old.init,
      wrapper: [...topo.nodes[M1]!.exec, process.execPath, '--disable-warning=ExperimentalWarning', RECORDER],
      env: { DAWN_FLOOD_RECORD: recordFile }
    })
    mesh.procs[M1] = recorder
    recorder.start()
    await recorder.waitReady(60_000)

    // The fault is real: exactly the chain's links open, from inside each namespace.
    const seen = await probe(topo)
    const expected = groupsMatrix(4, CHAIN)
    expect(matrixDiff(expected, seen), `probe:\n${formatMatrix(seen)}`).toEqual([])
    await eventually(async () => (await mesh.get<{ entries: Array<{ nodeId: string, agentId: string }> }>(A, '/api/v1/registry')).entries.some(e => e.nodeId === peerId(D) && e.agentId === 'echo'),
      {
        what: 'D\'s echo agent in A\'s registry (gossiped through M1 and M2)',
        timeoutMs: 60_000,
        detail: async () => (await Promise.all([A, M1, M2, D].map(async i => {
          const { entries } = await mesh.get<{ entries: Array<{ nodeId: string, agentId: string }> }>(i, '/api/v1/registry')
          return `node ${i} registry: ${entries.map(e => `${e.nodeId.slice(-6)}:${e.agentId}`).join(' ')}`
        }))).join('\n')
      })
  }, 240_000)

  afterAll(async () => {
    for (const c of clients) await c.close().catch(() => {})
    // mesh is unset when the start failed; stop() also removes nothing twice.
    await (mesh as NsMesh | undefined)?.stop()
    topo?.remove()
  })

  it('carries a call from A to D through M1 and M2, shows the route in _meta and metrics, and M1 relays no plaintext', async () => {
    const seed = `SECRET-${randomBytes(12).toString('hex')}`
    const reply = generateText(256, seed)
    const { outcome, frames } = await recorded(async () => await callGenerate(seed))
    expect(outcome.isError, text(outcome)).not.toBe(true)
    expect(text(outcome)).toBe(reply)
    expect(outcome._meta).toEqual({ 'dawn/route': 'flood', 'dawn/hops': 3 })
    expect(await mesh.metric(A, 'dawn_tool_calls_total', { result: 'ok', route: 'flood' })).toBeGreaterThanOrEqual(1)
    for (const relay of [M1, M2]) expect(await mesh.metric(relay, 'dawn_flood_relayed_total', { result: 'found' })).toBeGreaterThanOrEqual(1)
    // M1 carried the request on and the reply back: what it saw is what we search.
    expect(frames.map(f => f.direction).sort()).toEqual(['forward', 'return'])
    expect({ argument: holds(frames, seed), reply: holds(frames, reply) }).toEqual({ argument: false, reply: false })
  })

  it('says flood, with the hop count, in the mesh agent\'s route tool on A (and direct for M1)', async () => {
    const client = await mcpClient(A)
    const tools = (await client.listTools()).tools
    // A built-in's logical name runs on the entry node's own copy.
    const route = tools.find(t => t.name === 'mesh.route')!.name
    const ask = async (nodeId: string): Promise<unknown> => JSON.parse(text(await client.callTool({ name: route, arguments: { nodeId } }, undefined, { timeout: 60_000 }))) as unknown
    expect(await ask(peerId(D))).toEqual({ nodeId: peerId(D), route: 'flood', hops: 3 })
    expect(await ask(peerId(M1))).toMatchObject({ nodeId: peerId(M1), route: 'direct' })
  })

  it('measures flood calls to D against direct calls to M1 (p50 over 30 calls each)', async () => {
    const times = async (target: string): Promise<{ routes: Set<string>, p50: number, p50Router: number }> => {
      const wall: number[] = []
      const router: number[] = []
      const routes = new Set<string>()
      for (let i = 0; i < 30; i++) {
        const started = performance.now()
        const res = await fetch(`${url(A)}/api/v1/calls`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ target: `${target}:echo`, tool: 'echo', arguments: { text: `t${i}` }, timeoutMs: 30_000 })
        })
        const body = await res.json() as { route: string, durationMs: number }
        expect(res.status, JSON.stringify(body)).toBe(200)
        wall.push(performance.now() - started)
        router.push(body.durationMs)
        routes.add(body.route)
      }
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
      return { routes, p50: Math.round(median(wall) * 10) / 10, p50Router: Math.round(median(router) * 10) / 10 }
    }
    const flood = await times(peerId(D))
    const direct = await times(peerId(M1))
    expect([...flood.routes]).toEqual(['flood'])
    expect([...direct.routes]).toEqual(['direct'])
    console.log(`flood route latency: A -> D (3 hops) p50 ${flood.p50} ms over HTTP, ${flood.p50Router} ms in the router; A -> M1 direct p50 ${direct.p50} ms over HTTP, ${direct.p50Router} ms in the router`)
  })

  it('with encryption off at A, the same search finds the argument and the reply in what M1 relays', async () => {
    await restartA(tc => { tc.encryption = 'off' })
    const seed = `PLAIN-${randomBytes(12).toString('hex')}`
    const reply = generateText(256, seed)
    const { outcome, frames } = await recorded(async () => await callGenerate(seed))
    expect(text(outcome), JSON.stringify(outcome)).toBe(reply)
    expect(outcome._meta).toMatchObject({ 'dawn/route': 'flood' })
    expect({ argument: holds(frames, seed), reply: holds(frames, reply) }).toEqual({ argument: true, reply: true })
  })

  it('with the flood route off at A, the same call finds no path to D', async () => {
    await restartA(tc => { tc.encryption = 'required'; tc.floodMaxHops = 0 })
    const outcome = await callGenerate(`NOPE-${randomBytes(4).toString('hex')}`)
    expect(outcome.isError).toBe(true)
    expect(outcome._meta).toEqual({ 'dawn/error': 'node-unreachable' })
  })
})
