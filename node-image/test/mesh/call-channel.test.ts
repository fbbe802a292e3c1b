// The warm call channel between real node processes: calls from node 1 to node 2 travel on
// one channel (one signed handshake, no per-call envelope), for an MCP 2025-11-25 and a
// 2026-07-28 client alike (events on the channel: test/unit/routing/call-channel.test.ts); node 3 has the channel off and is called per stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { eventually, startMesh, type Mesh } from './harness.ts'

const meshName = (nodeId: string, agentId: string, tool: string): string => `${nodeId.slice(-10)}.${agentId}.${tool}`
const text = (result: Record<string, unknown>): string => (result.content as Array<{ text?: string }>).map(c => c.text ?? '').join('')

describe('warm call channel across real nodes', () => {
  let mesh: Mesh
  let ids: string[] = []
  const closers: Array<{ close: () => Promise<void> }> = []

  beforeAll(async () => {
    mesh = await startMesh({
      nodes: 3,
      agents: i => i === 0 ? [] : [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }],
      patch: (i, config) => {
        if (i === 2) (config as { toolCalls?: Record<string, unknown> }).toolCalls = { channel: false }
      }
    })
    ids = mesh.net.nodes.map(n => n.peerId)
    await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ tools: unknown[] }> }>(0, '/api/v1/registry')
      expect(reg.entries.filter(e => e.tools.length > 0)).toHaveLength(2)
      return true
    }, { what: 'both echo agents in node 1\'s registry', timeoutMs: 30_000 })
  }, 120_000)

  afterAll(async () => {
    for (const c of closers.splice(0)) await c.close().catch(() => {})
    await mesh.stop()
  })

  const legacy = async (): Promise<LegacyClient> => {
    const client = new LegacyClient({ name: 'dawn-test', version: '1.0.0' })
    await client.connect(new LegacyTransport(new URL('/mcp', mesh.net.nodes[0]!.httpUrl)))
    closers.push(client)
    return client
  }
  const modern = async (): Promise<Client> => {
    const client = new Client({ name: 'dawn-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', mesh.net.nodes[0]!.httpUrl)))
    closers.push(client)
    return client
  }

  it('carries calls of both MCP revisions on one channel', async () => {
    const old = await legacy()
    const now = await modern()
    // Warm up (a 2025-11-25 session may open its own session stream), then count.
    await old.callTool({ name: meshName(ids[1]!, 'echo', 'echo'), arguments: { text: 'warm' } })
    await now.callTool({ name: meshName(ids[1]!, 'echo', 'echo'), arguments: { text: 'warm' } })
    const envelopes = await mesh.metric(1, 'dawn_messages_in_total', { type: 'toolcall.request' })
    const served = await mesh.metric(1, 'dawn_tool_calls_served_total', { result: 'ok' })
    for (let i = 0; i < 5; i++) {
      expect(text(await old.callTool({ name: meshName(ids[1]!, 'echo', 'echo'), arguments: { text: `old ${i}` } }))).toBe(`old ${i}`)
      expect(text(await now.callTool({ name: meshName(ids[1]!, 'echo', 'echo'), arguments: { text: `new ${i}` } }))).toBe(`new ${i}`)
    }
    expect(await mesh.metric(1, 'dawn_messages_in_total', { type: 'toolcall.channel' })).toBe(1)
    expect(await mesh.metric(1, 'dawn_messages_in_total', { type: 'toolcall.request' })).toBe(envelopes)
    expect(await mesh.metric(1, 'dawn_tool_calls_served_total', { result: 'ok' })).toBe(served + 10)
  })

  it('calls a node with the channel off on a signed stream per call', async () => {
    const old = await legacy()
    const now = await modern()
    await old.callTool({ name: meshName(ids[2]!, 'echo', 'echo'), arguments: { text: 'warm' } })
    const envelopes = await mesh.metric(2, 'dawn_messages_in_total', { type: 'toolcall.request' })
    expect(text(await old.callTool({ name: meshName(ids[2]!, 'echo', 'echo'), arguments: { text: 'per call' } }))).toBe('per call')
    expect(text(await now.callTool({ name: meshName(ids[2]!, 'echo', 'echo'), arguments: { text: 'per call too' } }))).toBe('per call too')
    expect(await mesh.metric(2, 'dawn_messages_in_total', { type: 'toolcall.request' })).toBe(envelopes + 2)
    expect(await mesh.metric(2, 'dawn_messages_in_total', { type: 'toolcall.channel' })).toBe(0)
  })
})
