import { createServer, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { Client, StreamableHTTPClientTransport, type FetchLike } from '@modelcontextprotocol/client'
import { afterEach, describe, expect, it } from 'vitest'
import { serveBuiltinHttp } from '../../../src/agents/builtin-http-server.ts'
import { freePort } from '../../../src/local-mesh/free-port.ts'
import { plainHttpFetch } from '../../../src/agents/plain-http-fetch.ts'
import { Fixture, rejection, text } from './fixture.ts'

const fx = new Fixture()
afterEach(async () => { await fx.cleanup() })

interface Seen { method: string, url: string, headers: IncomingMessage['headers'], body: string }

/** A real HTTP server; `handle` answers, `seen` records what arrived. */
async function server (handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string, seen: Seen[] }> {
  const seen: Seen[] = []
  const srv: Server = createServer((req, res) => {
    let body = ''
    req.setEncoding('utf8')
    req.on('data', (chunk: string) => { body += chunk })
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handle(req, res)
    })
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  fx.onCleanup(async () => { srv.closeAllConnections(); await new Promise((resolve) => srv.close(resolve)) })
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}/mcp`, seen }
}

/** A pool of its own, so a test can see that the node:http path (not the fallback) carried the request. */
function pool (): Agent {
  const agent = new Agent({ keepAlive: true })
  fx.onCleanup(async () => { agent.destroy() })
  return agent
}

function pooledSockets (agent: Agent): number {
  return Object.values(agent.freeSockets).reduce((n, list) => n + (list?.length ?? 0), 0) +
    Object.values(agent.sockets).reduce((n, list) => n + (list?.length ?? 0), 0)
}

const noFallback: FetchLike = async () => { throw new Error('fallback used') }
const post = (body: string, extra: RequestInit = {}): RequestInit => ({ method: 'POST', redirect: 'manual', body, headers: { 'content-type': 'application/json', 'x-trace': 'a' }, ...extra })

describe('plainHttpFetch', () => {
  it('sends and answers like fetch: status, status text, repeated headers, body; over its own pool', async () => {
    const srv = await server((_req, res) => {
      res.writeHead(201, 'Made It', [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['content-type', 'application/json']])
      res.end('{"ok":true}')
    })
    const agent = pool()
    const viaHttp = await plainHttpFetch({ agent, fallback: noFallback })(srv.url, post('{"n":1}'))
    const viaFetch = await fetch(srv.url, post('{"n":1}'))
    for (const res of [viaHttp, viaFetch]) {
      expect(res.status).toBe(201)
      expect(res.statusText).toBe('Made It')
      expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
      expect(await res.json()).toEqual({ ok: true })
    }
    expect(pooledSockets(agent)).toBe(1)
    const [http, undici] = srv.seen
    expect(http).toMatchObject({ method: 'POST', url: '/mcp', body: '{"n":1}' })
    for (const name of ['content-type', 'content-length', 'x-trace', 'accept', 'user-agent']) expect(http?.headers[name], name).toBe(undici?.headers[name])
  })

  it('types a string body without a content type as text/plain, as fetch does', async () => {
    const srv = await server((_req, res) => res.end())
    await plainHttpFetch({ agent: pool(), fallback: noFallback })(srv.url, { method: 'POST', redirect: 'manual', body: 'hi' })
    await fetch(srv.url, { method: 'POST', body: 'hi' })
    expect(srv.seen.map((s) => s.headers['content-type'])).toEqual(['text/plain;charset=UTF-8', 'text/plain;charset=UTF-8'])
  })

  it('leaves https, redirects it would have to follow and non-string bodies to the fallback', async () => {
    const used: string[] = []
    const fallback: FetchLike = async (url, init) => { used.push(`${String(url)} ${init?.redirect ?? 'follow'}`); return new Response('fb') }
    const f = plainHttpFetch({ agent: pool(), fallback })
    await f('https://127.0.0.1:1/mcp', { redirect: 'manual' })
    await f('http://127.0.0.1:1/mcp')
    await f('http://127.0.0.1:1/x', { method: 'POST', redirect: 'manual', body: new Uint8Array([1]) })
    expect(used).toEqual(['https://127.0.0.1:1/mcp manual', 'http://127.0.0.1:1/mcp follow', 'http://127.0.0.1:1/x manual'])
  })

  it('hands a redirect back unfollowed, and a 204 with no body', async () => {
    const srv = await server((req, res) => {
      if (req.url === '/mcp') res.writeHead(307, { location: '/elsewhere' }).end('moved')
      else res.writeHead(204).end()
    })
    const f = plainHttpFetch({ agent: pool(), fallback: noFallback })
    const moved = await f(srv.url, post('{}'))
    expect(moved.status).toBe(307)
    expect(moved.headers.get('location')).toBe('/elsewhere')
    expect(await moved.text()).toBe('moved')
    const empty = await f(new URL('/none', srv.url), { redirect: 'manual' })
    expect(empty.status).toBe(204)
    expect(empty.body).toBeNull()
    expect(srv.seen.map((s) => s.url)).toEqual(['/mcp', '/none'])
  })

  it('decodes a gzip body although it never asked for one', async () => {
    const srv = await server((_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('plain words')))
    const res = await plainHttpFetch({ agent: pool(), fallback: noFallback })(srv.url, { redirect: 'manual' })
    expect(await res.text()).toBe('plain words')
    expect(srv.seen[0]?.headers['accept-encoding']).toBeUndefined()
  })

  it('fails a refused connection with fetch\'s error: TypeError "fetch failed" and the cause', async () => {
    const url = `http://127.0.0.1:${await freePort()}/mcp`
    const viaHttp = await rejection<TypeError>(plainHttpFetch({ agent: pool(), fallback: noFallback })(url, { redirect: 'manual' }))
    const viaFetch = await rejection<TypeError>(fetch(url))
    for (const err of [viaHttp, viaFetch]) {
      expect(err).toBeInstanceOf(TypeError)
      expect(err.message).toBe('fetch failed')
      expect(err.cause).toMatchObject({ code: 'ECONNREFUSED' })
    }
  })

  it('rejects with the signal\'s reason when aborted before the answer, and errors a streaming body when aborted during it', async () => {
    let arrived = 0
    const srv = await server((req, res) => {
      arrived++
      if (req.url === '/mcp') return // never answers
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: one\n\n')
    })
    const f = plainHttpFetch({ agent: pool(), fallback: noFallback })
    const early = new AbortController()
    const pending = f(srv.url, post('{}', { signal: early.signal }))
    while (arrived < 1) await new Promise((resolve) => setTimeout(resolve, 5))
    early.abort(new Error('caller gave up'))
    expect((await rejection<Error>(pending)).message).toBe('caller gave up')

    const late = new AbortController()
    const stream = await f(new URL('/sse', srv.url), { redirect: 'manual', signal: late.signal })
    const reader = stream.body!.getReader()
    const first = await reader.read()
    expect(new TextDecoder().decode(first.value as Uint8Array)).toBe('data: one\n\n')
    late.abort()
    expect((await rejection<Error>(reader.read())).name).toBe('AbortError')
    expect(arrived).toBe(2)
  })

  it('carries the SDK client\'s calls to an MCP server on both revisions, over the node:http pool', async () => {
    const dir = await fx.tmpDir()
    const echo = await serveBuiltinHttp('echo', { host: '127.0.0.1', port: 0, dataDir: dir })
    fx.onCleanup(async () => { await echo.close() })
    for (const mode of ['legacy', 'auto'] as const) {
      const agent = pool()
      const client = new Client({ name: 'test', version: '1' }, { versionNegotiation: { mode } })
      await client.connect(new StreamableHTTPClientTransport(new URL(echo.url), { fetch: plainHttpFetch({ agent, fallback: noFallback }) }))
      fx.onCleanup(async () => { await client.close() })
      expect(text(await client.callTool({ name: 'echo', arguments: { text: `via ${mode}` } }))).toBe(`via ${mode}`)
      expect(client.getNegotiatedProtocolVersion()).toBe(mode === 'legacy' ? '2025-11-25' : '2026-07-28')
      expect(pooledSockets(agent)).toBeGreaterThan(0)
    }
  })
})
