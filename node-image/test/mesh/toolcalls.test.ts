import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { serveBuiltinHttp } from '../../src/agents/builtin-http-server.ts'
import type { NodeConfig } from '../../src/config/schema.ts'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

type CallToolResult = Awaited<ReturnType<Client['callTool']>>

const agentsOf = (i: number): NodeConfig['agents'] => [
  { id: 'echo', kind: 'builtin', builtin: 'echo', description: '' },
  { id: 'notes', kind: 'builtin', builtin: 'notes', description: '' },
  // One agent only this node has, so listing proves every node's agents arrive.
  { id: `only-${i + 1}`, kind: 'builtin', builtin: 'echo', description: `only on node ${i + 1}` }
]

/** The documented mesh name: `<last 10 chars of the node id>.<agentId>.<tool>`. */
const meshName = (nodeId: string, agentId: string, tool: string): string => `${nodeId.slice(-10)}.${agentId}.${tool}`

async function connectMcp (url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'dawn-test', version: '1.0.0' })
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', url), { requestInit: { headers } }))
  return client
}

function text (result: CallToolResult): string {
  const content = result.content as Array<{ type: string, text?: string }>
  return content.map(c => c.text ?? '').join('')
}

describe('mesh-wide MCP over 5 real nodes', () => {
  let mesh: Mesh
  let client: Client
  const ids: string[] = []

  beforeAll(async () => {
    mesh = await startMesh({ nodes: 5, agents: agentsOf })
    ids.push(...mesh.net.nodes.map(n => n.peerId))
    const url = mesh.net.nodes[0]!.httpUrl
    // Every node's agents must be in node 1's registry before listing.
    await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ nodeId: string, tools: unknown[] }> }>(0, '/api/v1/registry')
      expect(reg.entries.filter(e => e.tools.length > 0)).toHaveLength(15)
      return true
    }, { what: 'all 15 agents with tools in node 1 registry', timeoutMs: 30_000 })
    client = await connectMcp(url)
  }, 120_000)

  afterAll(async () => {
    await client.close()
    await mesh.stop()
  })

  it('lists an agent hosted on all 5 nodes once, by <agentId>.<tool>, and each node\'s own agents once, with the agent in _meta', async () => {
    const { tools } = await client.listTools()
    const names = tools.map(t => t.name)
    expect(new Set(names).size).toBe(names.length)
    for (const tool of ['echo', 'generate', 'sleep']) {
      expect(names.filter(n => n.endsWith(`.${tool}`) && n.startsWith('echo.'))).toEqual([`echo.${tool}`])
      for (const i of ids.keys()) expect(names).toContain(`only-${i + 1}.${tool}`)
    }
    for (const tool of ['put', 'get', 'delete', 'list']) expect(names).toContain(`notes.${tool}`)
    // No replica name is listed: every agent here has one logical name.
    for (const nodeId of ids) expect(names.filter(n => n.startsWith(`${nodeId.slice(-10)}.`))).toEqual([])
    const one = tools.find(t => t.name === 'echo.echo')!
    expect(one._meta).toEqual({ 'dawn/agentId': 'echo', 'dawn/tool': 'echo' })
    expect(one.inputSchema.properties).toHaveProperty('text')
    // A replica name is still callable, for debugging.
    expect(text(await client.callTool({ name: meshName(ids[3]!, 'echo', 'echo'), arguments: { text: 'one replica' } }))).toBe('one replica')
    const logical = await client.callTool({ name: 'only-3.echo', arguments: { text: 'by its logical name' } })
    expect(text(logical)).toBe('by its logical name')
    expect(logical._meta).toMatchObject({ 'dawn/replica': ids[2], 'dawn/attempts': [{ nodeId: ids[2], reason: 'only-replica', outcome: 'ok' }] })
  })

  it('calls every agent on nodes 2-5 through node 1 and gets the right results', async () => {
    for (const [i, nodeId] of ids.entries()) {
      if (i === 0) continue
      const said = `hello node ${i + 1} ${nodeId}`
      expect(text(await client.callTool({ name: meshName(nodeId, 'echo', 'echo'), arguments: { text: said } }))).toBe(said)
      expect(text(await client.callTool({ name: meshName(nodeId, `only-${i + 1}`, 'echo'), arguments: { text: said } }))).toBe(said)
      await client.callTool({ name: meshName(nodeId, 'notes', 'put'), arguments: { key: 'who', value: `node ${i + 1}` } })
    }
    // Each node's notes are its own: the put went to the node the name addresses.
    for (const [i, nodeId] of ids.entries()) {
      if (i === 0) continue
      const got = await client.callTool({ name: meshName(nodeId, 'notes', 'get'), arguments: { key: 'who' } })
      expect(text(got)).toContain(`node ${i + 1}`)
    }
    expect(await mesh.metric(0, 'dawn_tool_calls_total', { result: 'ok', route: 'direct' })).toBeGreaterThanOrEqual(12)
    expect(await mesh.metric(2, 'dawn_tool_calls_served_total', { result: 'ok' })).toBeGreaterThanOrEqual(3)
  })

  it('audits each call on both nodes (caller, tool, outcome) and never logs the arguments', async () => {
    const secret = `SECRET-${Math.random().toString(36).slice(2)}`
    await client.callTool({ name: meshName(ids[2]!, 'echo', 'echo'), arguments: { text: secret } })
    const audit = (i: number): Array<Record<string, unknown>> => mesh.procs[i]!.logs().split('\n')
      .map(line => JSON.parse(line) as Record<string, unknown>).filter(l => l.audit === true)
    expect(audit(0)).toContainEqual(expect.objectContaining({ msg: 'tool call', target: `${ids[2]!}:echo`, subject: 'echo', outcome: 'ok', route: 'direct', caller: expect.stringMatching(/^mcp:[0-9a-f]{8}@127\.0\.0\.1$/) }))
    expect(audit(2)).toContainEqual(expect.objectContaining({ msg: 'tool call served', caller: ids[0], agentId: 'echo', subject: 'echo', outcome: 'ok' }))
    expect(mesh.procs[0]!.logs()).not.toContain(secret)
    expect(mesh.procs[2]!.logs()).not.toContain(secret)
  })

  it('dawn-node call runs a tool anywhere in the mesh through a running node', async () => {
    const cli = (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> => new Promise(resolve => {
      execFile(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, 'call', ...args, '--url', mesh.net.nodes[0]!.httpUrl], (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : (err.code as number), stdout, stderr })
      })
    })
    const ok = await cli(`${ids[4]!}:echo`, 'echo', '--args', '{"text":"from the CLI"}')
    expect(ok).toMatchObject({ code: 0, stdout: 'from the CLI\n' })
    const unknown = await cli(`${ids[4]!}:nobody`, 'echo')
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/unknown-agent/)
    const badArgs = await cli(`${ids[4]!}:echo`, 'echo', '--args', '{not json')
    expect(badArgs.code).toBe(2)
    expect(badArgs.stderr).toMatch(/--args is not JSON/)
  })

  it('completes 100 concurrent calls across the mesh, each with its own answer', async () => {
    const calls = Array.from({ length: 100 }, async (_, k) => {
      const nodeId = ids[1 + (k % 4)]!
      const said = `call ${k} to ${nodeId}`
      const result = await client.callTool({ name: meshName(nodeId, 'echo', 'echo'), arguments: { text: said } })
      return { said, got: text(result) }
    })
    const results = await Promise.all(calls)
    expect(results.filter(r => r.got === r.said)).toHaveLength(100)
  })

  it('brings a 1 MB result back intact', async () => {
    const bytes = 1024 * 1024
    const remote = await client.callTool({ name: meshName(ids[3]!, 'echo', 'generate'), arguments: { bytes, seed: 'intact' } })
    // The same tool run on node 1 itself (no mesh hop) is the reference.
    const local = await client.callTool({ name: meshName(ids[0]!, 'echo', 'generate'), arguments: { bytes, seed: 'intact' } })
    expect(text(remote)).toHaveLength(bytes)
    expect(text(remote) === text(local)).toBe(true)
  })

  it('answers an unknown agent or tool with a clear MCP error', async () => {
    const unknownAgent = client.callTool({ name: meshName(ids[1]!, 'no-such-agent', 'echo'), arguments: {} })
    await expect(unknownAgent).rejects.toBeInstanceOf(McpError)
    await expect(unknownAgent).rejects.toThrow(/unknown tool/)
    const unknownTool = client.callTool({ name: meshName(ids[1]!, 'echo', 'no-such-tool'), arguments: {} })
    await expect(unknownTool).rejects.toThrow(/unknown tool/)
    const res = await fetch(`${mesh.net.nodes[0]!.httpUrl}/api/v1/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: `${ids[1]!}:no-such-agent`, tool: 'echo' })
    })
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ code: 'unknown-agent' })
  })

  it('refuses an oversized request and a malformed JSON-RPC body with JSON-RPC errors', async () => {
    const url = `${mesh.net.nodes[0]!.httpUrl}/mcp`
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }
    const oversized = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(5 * 1024 * 1024) } })
    // HTTP/1.1 lets a server answer before it has read the body; on a busy machine the client can
    // still be writing when the server closes, and then sees EPIPE instead of the 413. Try again.
    const big = await eventually(async () => await fetch(url, { method: 'POST', headers, body: oversized }), { what: 'a 413 for the oversized request', timeoutMs: 20_000 })
    expect(big.status).toBe(413)
    expect(await big.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32600 } })
    const malformed = await fetch(url, { method: 'POST', headers, body: '{"jsonrpc": "2.0", "id": 1, "method": ' })
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } })
    // The node keeps serving.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0)
  })

  it('ends a call cleanly when its agent is removed mid-call', async () => {
    const target = 2
    const nodeId = ids[target]!
    const started = Date.now()
    const pending = client.callTool({ name: meshName(nodeId, `only-${target + 1}`, 'sleep'), arguments: { ms: 30_000 } })
    await eventually(async () => await mesh.metric(target, 'dawn_tool_calls_in_flight') >= 1, { what: 'the call to be running on its agent' })
    await mesh.editConfig(target, config => { config.agents = agentsOf(target).filter(a => a.id !== `only-${target + 1}`) })
    const result = await pending
    expect(result.isError).toBe(true)
    expect(text(result)).toMatch(/^agent-removed: /)
    expect(Date.now() - started).toBeLessThan(15_000)
    await eventually(async () => {
      const { tools } = await client.listTools()
      expect(tools.map(t => t.name)).not.toContain(`only-${target + 1}.sleep`)
      return true
    }, { what: 'the removed agent to leave the tool list', timeoutMs: 15_000 })
  })

  it('makes a remote MCP server added to a node config callable from another node without a restart', async () => {
    const server = await serveBuiltinHttp('echo', { host: '127.0.0.1', port: 0, dataDir: mesh.net.dir, requiredHeaders: { 'x-api-key': 'sesame' } })
    try {
      const host = 4
      const pid = mesh.procs[host]!.pid
      const headersFile = `${mesh.net.nodes[host]!.dir}/remote-echo.headers.json`
      await (await import('node:fs/promises')).writeFile(headersFile, JSON.stringify({ 'x-api-key': 'sesame' }))
      await mesh.editConfig(host, config => {
        config.agents = [...agentsOf(host), { id: 'remote-echo', kind: 'remote', url: server.url, headersFile }]
      })
      const name = 'remote-echo.echo'
      await eventually(async () => {
        const { tools } = await client.listTools()
        expect(tools.map(t => t.name)).toContain(name)
        return true
      }, { what: 'the remote agent tools in the tool list', timeoutMs: 20_000 })
      expect(text(await client.callTool({ name, arguments: { text: 'via a remote MCP server' } }))).toBe('via a remote MCP server')
      expect(mesh.procs[host]!.pid).toBe(pid)
    } finally {
      await server.close()
    }
  })
})
