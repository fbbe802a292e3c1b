// MCP 2026-07-28 on every node's /mcp: stateless, so any node gives the same answer, while a
// 2025-11-25 (v1 SDK) client keeps its session on the same endpoint at the same time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { eventually, startMesh, type Mesh } from './harness.ts'
import type { NodeConfig } from '../../src/config/schema.ts'

const MODERN = '2026-07-28'
const NODES = 3

const agentsOf = (i: number): NodeConfig['agents'] => [
  { id: 'echo', kind: 'builtin', builtin: 'echo', description: '' },
  { id: `only-${i + 1}`, kind: 'builtin', builtin: 'echo', description: `only on node ${i + 1}` }
]

/** The documented mesh name: `<last 10 chars of the node id>.<agentId>.<tool>`. */
const meshName = (nodeId: string, agentId: string, tool: string): string => `${nodeId.slice(-10)}.${agentId}.${tool}`

interface TextResult { content?: unknown, _meta?: Record<string, unknown> }

function text (result: TextResult): string {
  return (result.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('')
}

describe('MCP 2026-07-28 across 3 real nodes', () => {
  let mesh: Mesh
  const ids: string[] = []
  const urls: URL[] = []
  const clients: Array<{ close: () => Promise<void> }> = []

  /** An SDK v2 client pinned to 2026-07-28 on node i; `prior` skips the discover round trip. */
  const modernClient = async (i: number, prior?: Client): Promise<Client> => {
    const client = new Client({ name: 'dawn-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } })
    const discover = prior?.getDiscoverResult()
    const transport = new StreamableHTTPClientTransport(urls[i]!)
    await client.connect(transport, discover === undefined ? undefined : { prior: { kind: 'modern', discover } })
    clients.push(client)
    expect(client.getProtocolEra()).toBe('modern')
    expect(transport.sessionId).toBeUndefined()
    return client
  }

  beforeAll(async () => {
    mesh = await startMesh({ nodes: NODES, agents: agentsOf })
    ids.push(...mesh.net.nodes.map((n) => n.peerId))
    urls.push(...mesh.net.nodes.map((n) => new URL('/mcp', n.httpUrl)))
    // Stateless answers are the same everywhere only once every node has every agent.
    for (let i = 0; i < NODES; i++) {
      await eventually(async () => {
        const reg = await mesh.get<{ entries: Array<{ tools: unknown[] }> }>(i, '/api/v1/registry')
        expect(reg.entries.filter((e) => e.tools.length > 0)).toHaveLength(NODES * 2)
        return true
      }, { what: `all ${NODES * 2} agents in node ${i + 1}'s registry`, timeoutMs: 30_000 })
    }
  }, 120_000)

  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {})
    await mesh.stop()
  })

  it('lists every node\'s tools and calls an agent on another node, with the route in _meta', async () => {
    const client = await modernClient(0)
    expect(client.getDiscoverResult()?.supportedVersions).toContain(MODERN)
    const { tools } = await client.listTools()
    const names = tools.map((t) => t.name)
    expect(names.filter((n) => n === 'echo.echo')).toHaveLength(1)
    for (const i of ids.keys()) expect(names).toContain(`only-${i + 1}.echo`)
    const said = `hello node 3 ${ids[2]!}`
    const result = await client.callTool({ name: meshName(ids[2]!, 'only-3', 'echo'), arguments: { text: said } })
    expect(text(result)).toBe(said)
    expect(result.isError).not.toBe(true)
    // Another node's agent: never answered locally.
    expect(['direct', 'relayed', 'flood']).toContain(result._meta?.['dawn/route'])
  })

  it('gives the same answer to the same request on each of the three nodes', async () => {
    const first = await modernClient(0)
    const others = await Promise.all([1, 2].map(async (i) => await modernClient(i, first)))
    const all = [first, ...others]
    const listings = await Promise.all(all.map(async (c) => JSON.stringify((await c.listTools()).tools)))
    expect(new Set(listings).size).toBe(1)
    const name = meshName(ids[1]!, 'echo', 'echo')
    const texts = await Promise.all(all.map(async (c) => text(await c.callTool({ name, arguments: { text: 'same everywhere' } }))))
    expect(texts).toEqual(['same everywhere', 'same everywhere', 'same everywhere'])
  })

  it('serves a 2025-11-25 v1 client with a session on the same endpoint at the same time', async () => {
    const legacy = new LegacyClient({ name: 'dawn-test-legacy', version: '1.0.0' })
    const legacyTransport = new LegacyTransport(urls[0]!)
    await legacy.connect(legacyTransport)
    clients.push(legacy)
    expect(legacyTransport.sessionId).toMatch(/.+/)
    expect(legacy.getServerVersion()?.name).toBe('dawn-mesh')
    const modern = await modernClient(0)
    const name = meshName(ids[2]!, 'echo', 'echo')
    const [fromLegacy, fromModern] = await Promise.all([
      legacy.callTool({ name, arguments: { text: 'legacy' } }),
      modern.callTool({ name, arguments: { text: 'modern' } })
    ])
    expect(text(fromLegacy as TextResult)).toBe('legacy')
    expect(text(fromModern)).toBe('modern')
    expect((fromLegacy as TextResult)._meta?.['dawn/route']).toEqual(fromModern._meta?.['dawn/route'])
  })
})
