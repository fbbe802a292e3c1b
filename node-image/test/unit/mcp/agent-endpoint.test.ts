// /mcp/agents/<agentId> as a client sees it: the official SDK clients (both revisions) over
// Streamable HTTP against the real endpoint, with a recording MeshCaller in place of the router.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { ReplicaChooser } from '../../../src/routing/replica-choice.ts'
import { NodeUnreachableError } from '../../../src/routing/errors.ts'
import { ACCEPT, connectClient, INITIALIZE, newNodeId, post, record, RecordingCaller, rpcErrorOf, startEndpoint, TestCatalog, type Endpoint } from './fixtures.ts'

let nodeA: string
let nodeB: string
let caller: RecordingCaller
let endpoint: Endpoint
let records: AgentRecord[]
const closers: Array<() => Promise<void>> = []

const agentUrl = (agentId: string): URL => new URL(`/mcp/agents/${agentId}`, endpoint.url)

beforeAll(async () => {
  const ids = [await newNodeId(), await newNodeId()].sort()
  nodeA = ids[0]!
  nodeB = ids[1]!
  const notes = {
    kind: 'remote' as const,
    tools: [{ name: 'add', description: 'Adds a note' }, { name: 'secret' }],
    prompts: [{ name: 'summarize', description: 'Summarizes notes' }],
    resources: [{ uri: 'notes://all', name: 'all notes', mimeType: 'text/plain' }]
  }
  records = [
    record(nodeA, 'echo', { kind: 'remote', tools: [{ name: 'say' }, { name: 'fs/read:v1.2' }] }),
    record(nodeA, 'notes', notes),
    record(nodeB, 'notes', notes)
  ]
  caller = new RecordingCaller()
  endpoint = await startEndpoint(new TestCatalog(records), caller, { timeoutMs: 5000 }, {
    chooser: new ReplicaChooser(),
    rtt: (nodeId) => nodeId === nodeB ? 1 : 5,
    view: () => view
  })
})
// One object, as the node keeps it: the per-agent views are derived from it once.
const view = { naming: 'logical' as const, toolFilters: { notes: { deny: ['secret'] } }, catalog: 'full' as const }

afterEach(async () => {
  for (const close of closers.splice(0)) await close()
  caller.calls.length = 0
  caller.sessionCalls.length = 0
  caller.handler = new RecordingCaller().handler
})

afterAll(async () => { await endpoint.close() })

async function legacy (agentId: string): Promise<Client> {
  const { client } = await connectClient(agentUrl(agentId))
  closers.push(async () => { await client.close() })
  return client
}

async function modern (agentId: string): Promise<Client> {
  const client = new Client({ name: 'dawn-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } })
  await client.connect(new StreamableHTTPClientTransport(agentUrl(agentId)))
  closers.push(async () => { await client.close() })
  return client
}

describe('/mcp/agents/<agentId>', () => {
  it('lists one agent under its own names, filters applied, without the catalog tools, in both revisions', async () => {
    for (const client of [await legacy('notes'), await modern('notes')]) {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['add'])
      expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['summarize'])
      expect((await client.listResources()).resources.map((r) => r.uri)).toEqual(['notes://all'])
    }
    expect((await (await legacy('echo')).listTools()).tools.map((t) => t.name)).toEqual(['fs/read:v1.2', 'say'])
  })

  it('calls a tool by its own name on the nearest replica, failing over, and reads a resource by its own URI', async () => {
    const inner = caller.handler
    caller.handler = async (call) => { if (call.target.nodeId === nodeB && call.op === 'tools/call') throw new NodeUnreachableError('no path'); return await inner(call) }
    const client = await modern('notes')
    const result = await client.callTool({ name: 'add', arguments: { text: 'x' } })
    expect(caller.calls.map((c) => [c.target.nodeId, c.params.name])).toEqual([[nodeB, 'add'], [nodeA, 'add']])
    expect(result._meta).toMatchObject({ 'dawn/replica': nodeA })
    const read = await client.readResource({ uri: 'notes://all' })
    expect(read.contents[0]?.uri).toBe('notes://all')
    // B is cooling down after it could not be reached, so A serves the read.
    expect(caller.calls.at(-1)).toMatchObject({ target: { nodeId: nodeA, agentId: 'notes' }, op: 'resources/read', params: { uri: 'notes://all' } })
    expect(read._meta).toMatchObject({ 'dawn/replica': nodeA, 'dawn/attempts': [{ nodeId: nodeA, reason: 'least-loaded' }] })
  })

  it('keeps a 2025-11-25 session\'s calls on the replica where its agent session lives, though another became nearer', async () => {
    // Its own endpoint and chooser: round trips that change, and no cool-down left by other tests.
    const rtts = { a: 5, b: 1 }
    const own = await startEndpoint(new TestCatalog(records), caller, { timeoutMs: 5000 }, {
      chooser: new ReplicaChooser(),
      rtt: (nodeId) => nodeId === nodeB ? rtts.b : rtts.a,
      view: () => view
    })
    closers.push(async () => { await own.close() })
    const connect = async (): Promise<Client> => {
      const { client } = await connectClient(new URL('/mcp/agents/notes', own.url))
      closers.unshift(async () => { await client.close() })
      return client
    }
    const client = await connect()
    await client.callTool({ name: 'add', arguments: {} })
    expect(caller.sessionCalls.filter((c) => c.op === 'session/open').map((c) => c.target.nodeId)).toEqual([nodeB])
    Object.assign(rtts, { a: 0, b: 100 })
    const second = await client.callTool({ name: 'add', arguments: {} })
    expect(caller.calls.map((c) => c.target.nodeId)).toEqual([nodeB, nodeB])
    expect(second._meta?.['dawn/attempts']).toMatchObject([{ nodeId: nodeB, reason: 'session' }])
    // A new session has no agent session yet: it goes to the now nearer replica.
    await (await connect()).callTool({ name: 'add', arguments: {} })
    expect(caller.calls.at(-1)?.target.nodeId).toBe(nodeA)
  })

  it('refuses a denied tool, another agent\'s tool and a mesh name, as unknown', async () => {
    const client = await legacy('notes')
    for (const name of ['secret', 'say', 'notes.add']) {
      await expect(client.callTool({ name, arguments: {} })).rejects.toThrow(/not a tool name this endpoint lists/)
    }
    expect(caller.calls).toEqual([])
  })

  it('keeps a session to the agent it was opened for', async () => {
    const opened = await post(agentUrl('notes'), JSON.stringify(INITIALIZE), { accept: ACCEPT })
    const session = opened.headers.get('mcp-session-id')!
    expect(session).toBeTruthy()
    const elsewhere = await post(agentUrl('echo'), JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { accept: ACCEPT, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' })
    expect(elsewhere.status).toBe(404)
    expect((await rpcErrorOf(elsewhere)).error.message).toBe('Session not found')
  })
})
