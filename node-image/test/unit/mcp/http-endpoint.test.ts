// The shared MCP HTTP endpoint on its own: the legacy/modern split is decided from the parsed
// body and headers. Both legs get the body already parsed, and their web Request carries none:
// 2025-11-25 POSTs go to their session's transport, 2026-07-28 requests to the modern service.
import { afterEach, describe, expect, it } from 'vitest'
import Fastify from 'fastify'
import { isLegacyRequest, Server } from '@modelcontextprotocol/server'
import { registerMcpHttpEndpoint, type ModernMcpService } from '../../../src/mcp/http-endpoint.ts'
import { isLegacyPost } from '../../../src/mcp/protocol-era.ts'
import { openGuard } from '../../../src/mcp/http-auth.ts'
import { webRequestOf } from '../../../src/mcp/web-exchange.ts'
import { eventually } from '../../../../test/support/eventually.ts'
import { INITIALIZE, post } from './fixtures.ts'

const MODERN = '2026-07-28'
const closers: Array<() => Promise<void>> = []
afterEach(async () => { for (const close of closers.splice(0)) await close() })

interface Started {
  url: URL
  /** Web Requests the endpoint built: the JSON-RPC method of the body they carry, or `<HTTP method> (no body)`. */
  built: string[]
  /** Requests the modern service was handed, with the parsed body. */
  served: Array<{ request: Request, body: unknown }>
}

async function start (withModern: boolean): Promise<Started> {
  const built: string[] = []
  const served: Started['served'] = []
  const modern: ModernMcpService = {
    fetch: async (request, _caller, body) => {
      served.push({ request, body })
      return Response.json({ jsonrpc: '2.0', id: 1, result: { resultType: 'complete', from: 'modern' } })
    },
    close: async () => {}
  }
  const app = Fastify({ logger: false })
  await registerMcpHttpEndpoint(app, {
    log: () => {},
    createLegacyServer: () => {
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the low-level server, as the node's legacy leg uses
      const server = new Server({ name: 'legacy', version: '1' }, { capabilities: { tools: {} } })
      server.setRequestHandler('tools/list', () => ({ tools: [{ name: 'from-legacy', inputSchema: { type: 'object' } }] }))
      return server
    },
    ...(withModern ? { modern } : {}),
    toWebRequest: (method, url, headers, body, signal) => {
      built.push(body === undefined ? `${method} (no body)` : String((JSON.parse(body) as { method?: unknown }).method))
      return webRequestOf(method, url, headers, body, signal)
    }
  }, { path: '/mcp', allowedOrigins: [], authorize: openGuard, maxRequestBytes: 64 * 1024, maxSessions: 4, sessionIdleMs: 60_000 })
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  closers.push(async () => { await app.close() })
  return { url: new URL('/mcp', address), built, served }
}

function modernDiscover (): string {
  const envelope = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} }
  return JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: envelope } })
}
const MODERN_HEADERS = { 'mcp-protocol-version': MODERN, 'mcp-method': 'server/discover' }

describe('MCP HTTP endpoint: the legacy/modern split', () => {
  it('hands legacy POSTs to the session parsed, and a modern request to the modern service parsed', async () => {
    const { url, built, served } = await start(true)
    const init = await post(url, JSON.stringify(INITIALIZE))
    expect(init.status).toBe(200)
    const session = init.headers.get('mcp-session-id') ?? ''
    await init.text()
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' }
    expect((await post(url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers)).status).toBe(202)
    const listed = await post(url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }), headers)
    expect(listed.status).toBe(200)
    expect(await listed.text()).toContain('from-legacy')
    expect(built).toEqual(['POST (no body)', 'POST (no body)', 'POST (no body)'])
    expect(served).toEqual([])

    const discovered = await post(url, modernDiscover(), MODERN_HEADERS)
    expect(discovered.status).toBe(200)
    expect(await discovered.json()).toMatchObject({ result: { from: 'modern' } })
    expect(built.slice(3)).toEqual(['POST (no body)'])
    expect(served).toHaveLength(1)
    expect(served[0]!.request.headers.get('mcp-method')).toBe('server/discover')
    expect(served[0]!.body).toEqual(JSON.parse(modernDiscover()))
  })

  it('without a modern service, takes a modern request down the legacy leg, which refuses it', async () => {
    const { url, built, served } = await start(false)
    const response = await post(url, modernDiscover(), MODERN_HEADERS)
    // No session and not an initialize: the legacy leg's refusal, before any transport sees it.
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: No valid session ID provided' } })
    expect(built).toEqual([])
    expect(served).toEqual([])
  })

  it('streams the GET notification stream at once, and frees the session when the client goes away', async () => {
    const { url } = await start(true)
    const init = await post(url, JSON.stringify(INITIALIZE))
    const session = init.headers.get('mcp-session-id') ?? ''
    await init.text()
    const headers = { 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' }
    expect((await post(url, JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), headers)).status).toBe(202)
    const gone = new AbortController()
    // The headers arrive although the server has nothing to send yet.
    const stream = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: gone.signal })
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toBe('text/event-stream')
    // One stream per session: a second GET is refused while the first is open...
    expect((await fetch(url, { headers: { ...headers, accept: 'text/event-stream' } })).status).toBe(409)
    gone.abort()
    // ...and allowed once the first client went away (its stream was cancelled at the transport).
    await eventually(async () => {
      const again = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' } })
      await again.body?.cancel()
      return again.status === 200 || undefined
    }, { what: 'the stream to be freed', timeoutMs: 5000, intervalMs: 50 })
    // DELETE ends the session.
    expect((await fetch(url, { method: 'DELETE', headers })).status).toBe(200)
    expect((await post(url, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: {} }), headers)).status).toBe(404)
  })
})

describe('isLegacyPost', () => {
  const envelope = JSON.parse(modernDiscover()) as { params: { _meta: Record<string, unknown> } }
  const meta = envelope.params._meta
  const cases: Array<[string, unknown, Record<string, string>]> = [
    ['initialize', INITIALIZE, {}],
    ['a session request', { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }, { 'mcp-protocol-version': '2025-11-25' }],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }, {}],
    ['a response', { jsonrpc: '2.0', id: 'x', result: {} }, {}],
    ['a legacy batch', [{ jsonrpc: '2.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'ping' }], {}],
    ['server/discover', JSON.parse(modernDiscover()), MODERN_HEADERS],
    ['a modern call', { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 't', arguments: {}, _meta: meta } }, { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 't' }],
    ['a modern header without the envelope', { jsonrpc: '2.0', id: 4, method: 'tools/list', params: {} }, { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list' }],
    ['an envelope with a wrong Mcp-Method', { jsonrpc: '2.0', id: 5, method: 'tools/list', params: { _meta: meta } }, { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call' }],
    ['an envelope without headers', { jsonrpc: '2.0', id: 6, method: 'tools/list', params: { _meta: meta } }, {}]
  ]

  it.each(cases)('agrees with the SDK\'s isLegacyRequest on %s', async (_name, body, headers) => {
    const text = JSON.stringify(body)
    const web = webRequestOf('POST', '/mcp', { 'content-type': 'application/json', ...headers }, text, new AbortController().signal)
    expect(isLegacyPost(headers, body)).toBe(await isLegacyRequest(web))
  })

  it('tells the two revisions apart', () => {
    expect(cases.map(([name, body, headers]) => [name, isLegacyPost(headers, body)])).toEqual([
      ['initialize', true], ['a session request', true], ['a notification', true], ['a response', true], ['a legacy batch', true],
      ['server/discover', false], ['a modern call', false], ['a modern header without the envelope', false],
      ['an envelope with a wrong Mcp-Method', false], ['an envelope without headers', false]
    ])
  })
})
