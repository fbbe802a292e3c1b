// `dawn-node agent serve --http` (serveBuiltinHttp) over a real socket: its guards
// (Origin, required headers), body cap, session cap and idle timeout.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { serveBuiltinHttp, type BuiltinHttpOptions, type McpHttpServer } from '../../../src/agents/builtin-http-server.ts'
import type { LogLevel } from '../../../src/logging/json-logger.ts'
import { eventually } from '../../../../test/support/eventually.ts'

const ACCEPT = 'application/json, text/event-stream'
const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }
const LIST_TOOLS = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const cleanup of cleanups.splice(0).reverse()) await cleanup() })

interface Served extends McpHttpServer {
  logs: Array<{ level: LogLevel, msg: string, fields: Record<string, unknown> }>
}

async function serve (opts: Partial<BuiltinHttpOptions> = {}): Promise<Served> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dawn-agent-http-'))
  cleanups.push(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const logs: Served['logs'] = []
  const server = await serveBuiltinHttp('echo', {
    host: '127.0.0.1',
    port: 0,
    dataDir,
    log: (level, msg, fields = {}) => { logs.push({ level, msg, fields }) },
    ...opts
  })
  cleanups.push(async () => { await server.close() })
  return { ...server, logs }
}

async function post (url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(url, { method: 'POST', headers: { accept: ACCEPT, 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })
}

/** Opens a session; the initialize answer is read to its end. */
async function initialize (url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await post(url, INITIALIZE, headers)
  expect(res.status).toBe(200)
  const session = res.headers.get('mcp-session-id')
  if (session === null) throw new Error('no mcp-session-id in the initialize answer')
  await res.text()
  return session
}

async function errorMessage (res: Response): Promise<string> {
  return ((await res.json()) as { error: { message: string } }).error.message
}

describe('serveBuiltinHttp guards', () => {
  it('answers 401 for a missing or wrong required header, and serves the right one', async () => {
    const server = await serve({ requiredHeaders: { authorization: 'Bearer right-token' } })
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { authorization: 'Bearer right-token-and-more' }, { authorization: 'Bearer right' }] as Array<Record<string, string>>) {
      const res = await post(server.url, INITIALIZE, headers)
      expect(res.status, JSON.stringify(headers)).toBe(401)
      expect(await errorMessage(res)).toBe('Unauthorized: a required header is missing or wrong')
    }
    const session = await initialize(server.url, { authorization: 'Bearer right-token' })
    // A session id does not stand in for the token.
    expect((await post(server.url, LIST_TOOLS, { 'mcp-session-id': session })).status).toBe(401)
  })

  it('refuses a foreign browser Origin with 403, even with the right token, and lets loopback and listed origins in', async () => {
    const server = await serve({ requiredHeaders: { 'x-api-key': 'k' }, allowedOrigins: ['https://ui.example.test'] })
    for (const origin of ['https://evil.example', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io:8080', 'null']) {
      const res = await post(server.url, INITIALIZE, { origin, 'x-api-key': 'k' })
      expect(res.status, origin).toBe(403)
      expect(await errorMessage(res)).toBe(`Forbidden: origin ${origin} not allowed`)
    }
    expect(server.logs.filter((l) => l.msg === 'mcp request refused').map((l) => l.fields.reason)).toEqual(['origin', 'origin', 'origin', 'origin'])
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1', 'http://[::1]:8080', 'https://ui.example.test']) {
      await initialize(server.url, { origin, 'x-api-key': 'k' })
    }
  })

  it('refuses a body over maxRequestBytes with 413, with and without content-length', async () => {
    const server = await serve({ maxRequestBytes: 4096 })
    const session = await initialize(server.url)
    const big = JSON.stringify({ ...LIST_TOOLS, params: { pad: 'x'.repeat(8192) } })
    expect((await post(server.url, big, { 'mcp-session-id': session })).status).toBe(413)
    const chunked = new ReadableStream<Uint8Array>({
      start (controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      }
    })
    const res = await fetch(server.url, { method: 'POST', headers: { accept: ACCEPT, 'content-type': 'application/json', 'mcp-session-id': session }, body: chunked, duplex: 'half' })
    expect(res.status).toBe(413)
    // Under the cap is served as before.
    expect((await post(server.url, LIST_TOOLS, { 'mcp-session-id': session })).status).toBe(200)
  })

  it('refuses sessions beyond maxSessions with 503, and takes new ones once one ends', async () => {
    const server = await serve({ maxSessions: 1 })
    const first = await initialize(server.url)
    const refused = await post(server.url, INITIALIZE)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('30')
    const ended = await fetch(server.url, { method: 'DELETE', headers: { 'mcp-session-id': first } })
    expect(ended.status).toBe(200)
    await initialize(server.url)
  })

  it('holds maxSessions against initializes that arrive together', async () => {
    const server = await serve({ maxSessions: 1 })
    const answers = await Promise.all([post(server.url, INITIALIZE), post(server.url, INITIALIZE), post(server.url, INITIALIZE)])
    expect(answers.map((r) => r.status).sort()).toEqual([200, 503, 503])
    await Promise.all(answers.map(async (r) => await r.text()))
  })

  it('does not count an initialize the transport refused', async () => {
    const server = await serve({ maxSessions: 1 })
    // Not an initialize: the transport answers 400 and no session is kept.
    expect((await post(server.url, LIST_TOOLS)).status).toBe(400)
    await initialize(server.url)
  })
})

describe('serveBuiltinHttp idle sessions', () => {
  it('closes a session idle past sessionIdleMs; its next request gets 404', async () => {
    const server = await serve({ sessionIdleMs: 200 })
    const session = await initialize(server.url)
    const listed = await post(server.url, LIST_TOOLS, { 'mcp-session-id': session })
    expect(listed.status).toBe(200)
    await listed.text()
    await eventually(async () => server.logs.some((l) => l.msg === 'mcp session closed' && l.fields.reason === 'idle'), { what: 'the idle session to be closed', timeoutMs: 5000, intervalMs: 50 })
    const after = await post(server.url, LIST_TOOLS, { 'mcp-session-id': session })
    expect(after.status).toBe(404)
    expect(await errorMessage(after)).toBe('Session not found')
  })

  it('keeps a session that is used more often than sessionIdleMs, while an idle one beside it is closed', async () => {
    const server = await serve({ sessionIdleMs: 2000 })
    const used = await initialize(server.url)
    const idle = await initialize(server.url)
    const closed = (): number => server.logs.filter((l) => l.msg === 'mcp session closed').length
    // Use one session every 250 ms until the sweeper has closed the other: proof that it ran.
    const started = Date.now()
    while (closed() === 0) {
      expect(Date.now() - started, 'the idle session was never closed').toBeLessThan(30_000)
      const res = await post(server.url, LIST_TOOLS, { 'mcp-session-id': used })
      expect(res.status).toBe(200)
      await res.text()
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect(closed()).toBe(1)
    expect((await post(server.url, LIST_TOOLS, { 'mcp-session-id': idle })).status).toBe(404)
    expect((await post(server.url, LIST_TOOLS, { 'mcp-session-id': used })).status).toBe(200)
  })
})
