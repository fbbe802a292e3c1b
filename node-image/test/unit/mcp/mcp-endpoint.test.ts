// The HTTP side of /mcp: origin and token checks, body limits, JSON-RPC refusals, sessions.
import { describe, it, expect, beforeAll, afterEach } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { SdkHttpError } from '@modelcontextprotocol/client'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { eventually } from '../../../../test/support/eventually.ts'
import { ACCEPT, connectClient, INITIALIZE, newNodeId, post, record, RecordingCaller, rpcErrorOf, startEndpoint, TestCatalog, type Endpoint } from './fixtures.ts'
import type { McpEndpointInit } from '../../../src/mcp/mesh-endpoint.ts'

let records: AgentRecord[]
const endpoints: Endpoint[] = []
const cleanups: Array<() => Promise<void>> = []

beforeAll(async () => {
  const nodeId = await newNodeId()
  records = [record(nodeId, 'echo', { tools: [{ name: 'say' }] })]
})

afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn()
  for (const e of endpoints.splice(0)) await e.close()
})

async function start (init: Partial<McpEndpointInit> = {}): Promise<Endpoint> {
  const endpoint = await startEndpoint(new TestCatalog(records), new RecordingCaller(), init)
  endpoints.push(endpoint)
  return endpoint
}

async function connect (endpoint: Endpoint, headers: Record<string, string> = {}): Promise<Awaited<ReturnType<typeof connectClient>>> {
  const connected = await connectClient(endpoint.url, headers)
  cleanups.push(async () => { await connected.client.close() })
  return connected
}

/** Initializes a session by hand; the response is read to its end. */
async function initialize (endpoint: Endpoint, headers: Record<string, string> = {}): Promise<{ response: Response, sessionId: string | null, text: string }> {
  const response = await post(endpoint.url, JSON.stringify(INITIALIZE), headers)
  const text = await response.text()
  return { response, sessionId: response.headers.get('mcp-session-id'), text }
}

async function listToolsRaw (endpoint: Endpoint, sessionId: string): Promise<Response> {
  return await post(endpoint.url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }), { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' })
}

describe('/mcp origin check', () => {
  it('refuses a foreign Origin with 403 and a JSON-RPC error', async () => {
    const endpoint = await start({ allowedOrigins: ['https://app.example.com'] })
    for (const origin of ['http://evil.example', 'null', 'http://localhost.evil.example', 'https://app.example.com:8443', 'http://app.example.com']) {
      const response = await post(endpoint.url, JSON.stringify(INITIALIZE), { origin })
      expect(response.status, origin).toBe(403)
      expect(await response.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: `Forbidden: origin ${origin} not allowed` } })
    }
    const get = await fetch(endpoint.url, { headers: { origin: 'http://evil.example', accept: 'text/event-stream' } })
    expect(get.status).toBe(403)
  })

  it('lets through no Origin, loopback origins and the allowed ones', async () => {
    const endpoint = await start({ allowedOrigins: ['https://app.example.com'] })
    for (const origin of [undefined, 'http://localhost', 'http://localhost:6274', 'https://127.0.0.1:8443', 'http://[::1]:3000', 'https://app.example.com']) {
      const { response, sessionId } = await initialize(endpoint, origin === undefined ? {} : { origin })
      expect(response.status, origin).toBe(200)
      expect(sessionId, origin).toMatch(/^[0-9a-f-]{36}$/)
    }
    const { client } = await connect(endpoint, { origin: 'http://localhost:6274' })
    expect((await client.listTools()).tools).toHaveLength(1)
  })
})

describe('/mcp bearer token', () => {
  it('answers 401 with WWW-Authenticate: Bearer without the right token', async () => {
    const endpoint = await start({ token: 's3cret-token' })
    const missing = await post(endpoint.url, JSON.stringify(INITIALIZE))
    expect(missing.status).toBe(401)
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer\b/)
    expect((await rpcErrorOf(missing)).error.code).toBe(-32000)
    for (const authorization of ['Bearer wrong', 'Bearer s3cret-token-and-more', 'Basic czNjcmV0LXRva2Vu', 's3cret-token', 'Bearer ']) {
      const wrong = await post(endpoint.url, JSON.stringify(INITIALIZE), { authorization })
      expect(wrong.status, authorization).toBe(401)
      expect(wrong.headers.get('www-authenticate')).toMatch(/^Bearer\b/)
      expect((await rpcErrorOf(wrong)).jsonrpc).toBe('2.0')
    }
    await expect(connectClient(endpoint.url)).rejects.toThrow()
  })

  it('serves a client that sends it', async () => {
    const endpoint = await start({ token: 's3cret-token' })
    const { response } = await initialize(endpoint, { authorization: 'bearer s3cret-token' })
    expect(response.status).toBe(200)
    const { client } = await connect(endpoint, { authorization: 'Bearer s3cret-token' })
    expect((await client.listTools()).tools).toHaveLength(1)
  })
})

describe('/mcp request bodies', () => {
  it('refuses a body over maxRequestBytes with 413 and -32600 naming the limit', async () => {
    const endpoint = await start({ maxRequestBytes: 4096 })
    const big = JSON.stringify({ ...INITIALIZE, params: { ...INITIALIZE.params, padding: 'x'.repeat(8000) } })
    const response = await post(endpoint.url, big)
    expect(response.status).toBe(413)
    const body = await rpcErrorOf(response)
    expect(body.error.code).toBe(-32600)
    expect(body.error.message).toContain('4096')
    // A small body is fine.
    const { response: ok } = await initialize(endpoint)
    expect(ok.status).toBe(200)
  })

  it('answers malformed JSON with 400 and -32700', async () => {
    const endpoint = await start()
    for (const text of ['{"jsonrpc":', 'not json', '']) {
      const response = await post(endpoint.url, text)
      expect(response.status, text).toBe(400)
      expect((await rpcErrorOf(response)).error.code).toBe(-32700)
    }
  })

  it('answers JSON that is not JSON-RPC with 400 and -32600', async () => {
    const endpoint = await start()
    for (const value of [{ hello: 1 }, [], [{ hello: 1 }], 42, 'text', null, { jsonrpc: '1.0', id: 1, method: 'x' }, [INITIALIZE, { nope: true }]]) {
      const response = await post(endpoint.url, JSON.stringify(value))
      expect(response.status, JSON.stringify(value)).toBe(400)
      const body = await rpcErrorOf(response)
      expect(body.error.code).toBe(-32600)
      expect(body.id).toBeNull()
    }
  })

  it('answers a non-JSON content type with 415', async () => {
    const endpoint = await start()
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const response = await post(endpoint.url, JSON.stringify(INITIALIZE), { 'content-type': type })
      expect(response.status, type).toBe(415)
      expect((await rpcErrorOf(response)).error.message).toContain('application/json')
    }
    const none = await fetch(endpoint.url, { method: 'POST', headers: { accept: ACCEPT } })
    expect(none.status).toBe(415)
  })
})

describe('/mcp sessions', () => {
  it('needs initialize first, and a known session id afterwards', async () => {
    const endpoint = await start()
    const noSession = await post(endpoint.url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }))
    expect(noSession.status).toBe(400)
    expect((await rpcErrorOf(noSession)).error.code).toBe(-32000)
    const unknown = await listToolsRaw(endpoint, '00000000-0000-4000-8000-000000000000')
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found' } })
    const get = await fetch(endpoint.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': 'nope' } })
    expect(get.status).toBe(404)
    const getNoSession = await fetch(endpoint.url, { headers: { accept: 'text/event-stream' } })
    expect(getNoSession.status).toBe(400)
    const { sessionId } = await initialize(endpoint)
    const listed = await listToolsRaw(endpoint, sessionId!)
    expect(listed.status).toBe(200)
    expect(await listed.text()).toContain('"tools"')
  })

  it('ends a session on DELETE', async () => {
    const endpoint = await start()
    const { sessionId } = await initialize(endpoint)
    const deleted = await fetch(endpoint.url, { method: 'DELETE', headers: { 'mcp-session-id': sessionId! } })
    expect(deleted.status).toBe(200)
    expect((await listToolsRaw(endpoint, sessionId!)).status).toBe(404)
  })

  it('does not keep a session whose initialize the transport refused', async () => {
    const endpoint = await start({ maxSessions: 1 })
    const refused = await post(endpoint.url, JSON.stringify(INITIALIZE), { accept: 'application/json' })
    expect(refused.status).toBe(406)
    const { response } = await initialize(endpoint)
    expect(response.status).toBe(200)
  })

  it('refuses sessions beyond maxSessions with 503 and a JSON-RPC error', async () => {
    const endpoint = await start({ maxSessions: 2 })
    await connect(endpoint)
    const second = await connect(endpoint)
    const response = await post(endpoint.url, JSON.stringify(INITIALIZE))
    expect(response.status).toBe(503)
    const body = await rpcErrorOf(response)
    expect(body.error.code).toBe(-32000)
    expect(body.error.message).toContain('2')
    const err = await connectClient(endpoint.url).then(() => undefined, (e: unknown) => e)
    expect(err).toBeInstanceOf(SdkHttpError)
    expect((err as SdkHttpError).status).toBe(503)
    // Ending one session makes room.
    await second.transport.terminateSession()
    const { response: ok } = await initialize(endpoint)
    expect(ok.status).toBe(200)
  })

  it('closes sessions idle longer than sessionIdleSeconds; later requests get 404', async () => {
    const endpoint = await start({ sessionIdleSeconds: 0.3 })
    const { sessionId } = await initialize(endpoint)
    expect((await listToolsRaw(endpoint, sessionId!)).status).toBe(200)
    await eventually(async () => (await listToolsRaw(endpoint, sessionId!)).status === 404 || undefined, { what: 'the idle session to be swept', timeoutMs: 5000, intervalMs: 500 })
    expect(endpoint.logs.some((l) => l.msg === 'mcp session closed' && l.fields.reason === 'idle')).toBe(true)
  })

  it('keeps a session whose client holds its notification stream open', async () => {
    const endpoint = await start({ sessionIdleSeconds: 0.3 })
    const { client, streamOpen } = await connect(endpoint)
    await streamOpen
    await sleep(1200)
    expect((await client.listTools()).tools).toHaveLength(1)
  })

  it('closes every session and stream when the app closes', async () => {
    const endpoint = await startEndpoint(new TestCatalog(records), new RecordingCaller())
    const { streamOpen } = await connectClient(endpoint.url)
    await streamOpen
    await endpoint.close()
    expect(endpoint.logs.some((l) => l.msg === 'mcp session closed' && l.fields.reason === 'shutdown')).toBe(true)
  })
})
