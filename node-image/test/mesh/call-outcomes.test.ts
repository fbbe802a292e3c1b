import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { notesFilePath } from '../../src/agents/builtin/notes.ts'
import type { NodeConfig } from '../../src/config/schema.ts'

// Both sides of "did it run?" with real nodes: a call to a node that is down before the
// call is node-unreachable and its agent never runs; a call whose host dies while its
// agent runs is outcome-unknown, never a success. Node 0 calls; nodes 1-3 are targets.
// Node 0 has the flood route off: with it on, a flood copy goes out towards the dead node
// and the call is (rightly, conservatively) outcome-unknown instead.

const CALLER = 0
const DOWN_BEFORE = 1
const DIES_UNDER_MCP = 2
const DIES_UNDER_HTTP = 3

const agents = (): NodeConfig['agents'] => [
  { id: 'echo', kind: 'builtin', builtin: 'echo', description: '' },
  { id: 'notes', kind: 'builtin', builtin: 'notes', description: '' }
]

const meshName = (nodeId: string, agentId: string, tool: string): string => `${nodeId.slice(-10)}.${agentId}.${tool}`

type CallToolResult = Awaited<ReturnType<Client['callTool']>>

describe('a failed call says whether it may have run', () => {
  let mesh: Mesh
  let client: Client
  const ids: string[] = []

  const notesOn = async (i: number): Promise<Record<string, string>> => {
    const file = notesFilePath(join(mesh.net.nodes[i]!.dir, 'data'), 'notes')
    return (JSON.parse(await readFile(file, 'utf8')) as { notes: Record<string, string> }).notes
  }

  /** Kills node i and waits until the caller holds no connection to it. */
  const killAndForget = async (i: number): Promise<void> => {
    mesh.procs[i]!.kill()
    await eventually(async () => {
      const peers = await mesh.get<Array<{ peerId: string, connections: unknown[] }>>(CALLER, '/api/v1/peers')
      return !peers.some(p => p.peerId === ids[i] && p.connections.length > 0)
    }, { what: `node ${i} gone from the caller's connections`, timeoutMs: 30_000 })
  }

  /** Waits until node i's agent is running a call for another node. */
  const running = async (i: number): Promise<void> => {
    await eventually(async () => await mesh.metric(i, 'dawn_tool_calls_in_flight') >= 1, { what: `node ${i} serving the slow call`, timeoutMs: 30_000 })
  }

  beforeAll(async () => {
    mesh = await startMesh({
      nodes: 4,
      agents,
      patch: (i, config) => { if (i === CALLER) config.toolCalls = { floodMaxHops: 0 } }
    })
    ids.push(...mesh.net.nodes.map(n => n.peerId))
    await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ nodeId: string, tools: unknown[] }> }>(CALLER, '/api/v1/registry')
      return reg.entries.filter(e => e.tools.length > 0).length === 8
    }, { what: 'all 8 agents with tools in the caller\'s registry', timeoutMs: 30_000 })
    client = new Client({ name: 'dawn-test', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', mesh.net.nodes[CALLER]!.httpUrl)))
  }, 120_000)

  afterAll(async () => {
    await client.close()
    await mesh.stop()
  })

  it('a node down before the call: node-unreachable, and its agent never ran', async () => {
    const target = ids[DOWN_BEFORE]!
    const before = `before-${randomBytes(4).toString('hex')}`
    const after = `after-${randomBytes(4).toString('hex')}`
    // The recorder works: a put that succeeds is in the node's notes file.
    const stored = await client.callTool({ name: meshName(target, 'notes', 'put'), arguments: { key: before, value: 'ran' } })
    expect(stored.isError, JSON.stringify(stored)).not.toBe(true)
    expect(await notesOn(DOWN_BEFORE)).toHaveProperty(before, 'ran')

    await killAndForget(DOWN_BEFORE)
    const failed = await client.callTool({ name: meshName(target, 'notes', 'put'), arguments: { key: after, value: 'must not run' } })
    expect(failed).toMatchObject({ isError: true, _meta: { 'dawn/error': 'node-unreachable' } })
    const res = await fetch(`${mesh.net.nodes[CALLER]!.httpUrl}/api/v1/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: `${target}:notes`, tool: 'put', arguments: { key: after, value: 'must not run' } })
    })
    expect(res.status).toBe(502)
    expect(await res.json()).toMatchObject({ code: 'node-unreachable' })
    expect(await mesh.metric(CALLER, 'dawn_tool_calls_total', { result: 'node-unreachable' })).toBeGreaterThanOrEqual(2)

    const notes = await notesOn(DOWN_BEFORE)
    expect(notes).toHaveProperty(before)
    expect(notes).not.toHaveProperty(after)
  })

  it('a host killed while its agent runs the call (MCP): outcome-unknown, never success', async () => {
    const call = client.callTool({ name: meshName(ids[DIES_UNDER_MCP]!, 'echo', 'sleep'), arguments: { ms: 40_000 } }, undefined, { timeout: 90_000 })
    const settled: Promise<CallToolResult | Error> = call.catch((err: unknown) => err as Error)
    await running(DIES_UNDER_MCP)
    mesh.procs[DIES_UNDER_MCP]!.kill()
    const outcome = await settled
    expect(outcome).toMatchObject({ isError: true, _meta: { 'dawn/error': 'outcome-unknown' } })
    // The MCP session's own streams to the dead node's agents (session/open) end the same way, so at least one.
    expect(await mesh.metric(CALLER, 'dawn_tool_calls_total', { result: 'outcome-unknown' })).toBeGreaterThanOrEqual(1)
  })

  it('a host killed while its agent runs the call (HTTP API): 502 outcome-unknown, never success', async () => {
    const call = fetch(`${mesh.net.nodes[CALLER]!.httpUrl}/api/v1/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: `${ids[DIES_UNDER_HTTP]!}:echo`, tool: 'sleep', arguments: { ms: 40_000 }, timeoutMs: 60_000 }),
      signal: AbortSignal.timeout(90_000)
    })
    await running(DIES_UNDER_HTTP)
    mesh.procs[DIES_UNDER_HTTP]!.kill()
    const res = await call
    const body = await res.json() as Record<string, unknown>
    expect({ status: res.status, code: body.code }).toEqual({ status: 502, code: 'outcome-unknown' })
    expect(await mesh.metric(CALLER, 'dawn_tool_calls_total', { result: 'outcome-unknown' })).toBeGreaterThanOrEqual(2)
  })
})
