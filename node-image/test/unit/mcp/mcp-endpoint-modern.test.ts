// /mcp serving 2026-07-28 beside 2025-11-25: which leg a request takes, and the modern leg's
// header checks and error codes (the SDK's), behind the same Origin check.
import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { ACCEPT, connectClient, INITIALIZE, newNodeId, post, record, RecordingCaller, startEndpoint, TestCatalog, type Endpoint } from './fixtures.ts'

const MODERN = '2026-07-28'
let nodeId: string
let records: AgentRecord[]
const endpoints: Endpoint[] = []
const cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  nodeId = await newNodeId()
  records = [record(nodeId, 'echo', { tools: [{ name: 'say' }] })]
})

afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn()
  for (const e of endpoints.splice(0)) await e.close()
})

async function start (allowedOrigins: string[] = []): Promise<{ endpoint: Endpoint, caller: RecordingCaller, toolName: string }> {
  const caller = new RecordingCaller()
  const endpoint = await startEndpoint(new TestCatalog(records), caller, { allowedOrigins })
  endpoints.push(endpoint)
  return { endpoint, caller, toolName: 'echo.say' }
}

function envelope (version = MODERN): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
    'io.modelcontextprotocol/clientCapabilities': {}
  }
}

/** A hand-made modern request; `headers` replace the ones a correct client would send. */
async function modernPost (endpoint: Endpoint, method: string, params: Record<string, unknown>, headers: Record<string, string | undefined> = {}, version = MODERN): Promise<Response> {
  const name = typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : undefined
  const wanted: Record<string, string | undefined> = { 'mcp-protocol-version': version, 'mcp-method': method, ...(name === undefined ? {} : { 'mcp-name': name }), ...headers }
  const sent = Object.fromEntries(Object.entries(wanted).filter((e): e is [string, string] => e[1] !== undefined))
  return await post(endpoint.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: envelope(version) } }), sent)
}

async function errorOf (response: Response): Promise<{ code: number, message: string, data?: Record<string, unknown> }> {
  return (await response.json() as { error: { code: number, message: string, data?: Record<string, unknown> } }).error
}

describe('/mcp 2026-07-28', () => {
  it('answers an agent\'s undefined resultType as the agent\'s failure, in both revisions', async () => {
    const { endpoint, caller, toolName } = await start()
    caller.handler = async () => await Promise.resolve({ resultType: 'partial', content: [{ type: 'text', text: 'half' }] })
    const modern = new Client({ name: 't', version: '1' }, { versionNegotiation: { mode: { pin: MODERN } } })
    await modern.connect(new StreamableHTTPClientTransport(endpoint.url))
    cleanups.push(async () => { await modern.close() })
    const fromModern = await modern.callTool({ name: toolName, arguments: {} })
    expect(fromModern).toMatchObject({ isError: true, _meta: { 'dawn/error': 'agent-failed' } })
    expect(JSON.stringify(fromModern.content)).toMatch(/resultType .*partial.*which MCP does not define/)
    const { client: legacy } = await connectClient(endpoint.url)
    cleanups.push(async () => { await legacy.close() })
    expect(await legacy.callTool({ name: toolName, arguments: {} })).toMatchObject({ isError: true, _meta: { 'dawn/error': 'agent-failed' } })
  })

  it('answers server/discover without a session', async () => {
    const { endpoint } = await start()
    const response = await modernPost(endpoint, 'server/discover', {})
    expect(response.status).toBe(200)
    expect(response.headers.get('mcp-session-id')).toBeNull()
    const body = await response.json() as { result: Record<string, unknown> }
    expect(body.result.resultType).toBe('complete')
    expect(body.result.supportedVersions).toContain(MODERN)
    expect(body.result.capabilities).toMatchObject({ tools: { listChanged: true }, prompts: {}, resources: {} })
    expect(body.result._meta).toMatchObject({ 'io.modelcontextprotocol/serverInfo': { name: 'dawn-mesh' } })
  })

  it('serves a pinned SDK v2 client: lists and calls through the mesh caller, with the route in _meta', async () => {
    const { endpoint, caller, toolName } = await start()
    const client = new Client({ name: 'dawn-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } })
    const transport = new StreamableHTTPClientTransport(endpoint.url)
    await client.connect(transport)
    cleanups.push(async () => { await client.close() })
    expect(client.getProtocolEra()).toBe('modern')
    expect(transport.sessionId).toBeUndefined()

    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name)).toEqual([toolName])
    const result = await client.callTool({ name: toolName, arguments: { text: 'hi' } })
    expect(result._meta).toMatchObject({ 'dawn/route': 'direct' })
    expect(result.content).toEqual([{ type: 'text', text: JSON.stringify({ name: 'say', arguments: { text: 'hi' } }) }])
    expect(caller.calls).toHaveLength(1)
    expect(caller.calls[0]?.target).toEqual({ nodeId, agentId: 'echo' })
    expect(caller.calls[0]?.opts?.caller).toBe('mcp:modern@127.0.0.1')
  })

  it('refuses a missing or mismatched Mcp-Method, and a missing Mcp-Name, with 400 -32020 before any call', async () => {
    const { endpoint, caller, toolName } = await start()
    const cases: Array<[string, Record<string, string | undefined>]> = [
      ['missing Mcp-Method', { 'mcp-method': undefined }],
      ['mismatched Mcp-Method', { 'mcp-method': 'tools/list' }],
      ['missing Mcp-Name', { 'mcp-name': undefined }],
      ['mismatched Mcp-Name', { 'mcp-name': 'other.tool' }]
    ]
    for (const [label, headers] of cases) {
      const response = await modernPost(endpoint, 'tools/call', { name: toolName, arguments: {} }, headers)
      expect(response.status, label).toBe(400)
      expect((await errorOf(response)).code, label).toBe(-32020)
    }
    expect(caller.calls).toHaveLength(0)
  })

  it('answers an unknown protocol revision with 400 -32022 naming the supported ones', async () => {
    const { endpoint } = await start()
    const response = await modernPost(endpoint, 'tools/list', {}, {}, '2099-01-01')
    expect(response.status).toBe(400)
    const error = await errorOf(response)
    expect(error.code).toBe(-32022)
    expect(error.data).toMatchObject({ requested: '2099-01-01' })
    expect(error.data?.supported).toContain(MODERN)
  })

  it('answers an unknown tool with -32602 and a removed method with 404 -32601', async () => {
    const { endpoint, caller } = await start()
    const unknown = await modernPost(endpoint, 'tools/call', { name: 'nope.echo.say', arguments: {} })
    expect((await errorOf(unknown)).code).toBe(-32602)
    const ping = await modernPost(endpoint, 'ping', {})
    expect(ping.status).toBe(404)
    expect((await errorOf(ping)).code).toBe(-32601)
    expect(caller.calls).toHaveLength(0)
  })

  it('ignores a session header on a modern request (stateless)', async () => {
    const { endpoint } = await start()
    const response = await modernPost(endpoint, 'tools/list', {}, { 'mcp-session-id': 'no-such-session' })
    expect(response.status).toBe(200)
    expect(response.headers.get('mcp-session-id')).toBeNull()
    const body = await response.json() as { result: { tools: unknown[], resultType: string } }
    expect(body.result.resultType).toBe('complete')
    expect(body.result.tools).toHaveLength(1)
  })

  it('leaves GET and DELETE without a session on the legacy leg, as the SDK classifies them', async () => {
    const { endpoint } = await start()
    for (const method of ['GET', 'DELETE']) {
      const response = await fetch(endpoint.url, { method, headers: { accept: ACCEPT, 'mcp-protocol-version': MODERN } })
      expect(response.status, method).toBe(400)
      expect((await errorOf(response)).message, method).toBe('Bad Request: Mcp-Session-Id header is required')
    }
  })

  it('keeps legacy initialize, sessions and a v1 client working beside modern requests', async () => {
    const { endpoint } = await start()
    const init = await post(endpoint.url, JSON.stringify(INITIALIZE))
    expect(init.status).toBe(200)
    expect(init.headers.get('mcp-session-id')).toMatch(/.+/)
    await init.text()
    const legacy = await connectClient(endpoint.url)
    cleanups.push(async () => { await legacy.client.close() })
    const modern = await modernPost(endpoint, 'tools/list', {})
    expect(modern.status).toBe(200)
    expect((await legacy.client.listTools()).tools).toHaveLength(1)
    // A session-less legacy call is still refused as before.
    const stray = await post(endpoint.url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }))
    expect(stray.status).toBe(400)
  })

  it('applies the Origin check to modern requests too', async () => {
    const { endpoint, caller, toolName } = await start(['https://app.example.com'])
    const refused = await modernPost(endpoint, 'tools/call', { name: toolName, arguments: {} }, { origin: 'http://evil.example' })
    expect(refused.status).toBe(403)
    expect(caller.calls).toHaveLength(0)
    const allowed = await modernPost(endpoint, 'tools/list', {}, { origin: 'https://app.example.com' })
    expect(allowed.status).toBe(200)
  })
})
