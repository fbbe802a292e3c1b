// The node's HTTP API over a real socket: with a token configured, every
// state-changing route answers 401 without it (and does nothing), and works with it.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { createHttpServer } from '../../../src/http/server.ts'
import type { NodeView } from '../../../src/http/node-view.ts'
import { MemoryContent, SELF } from '../content-double.ts'
import { ACCEPT, INITIALIZE, newNodeId, record, RecordingCaller, TestCatalog } from '../mcp/fixtures.ts'

const TOKEN = 's3cret-token'
const GOOD = { authorization: `Bearer ${TOKEN}` }
const JSON_BODY = { 'content-type': 'application/json' }

let nodeId: string
beforeAll(async () => { nodeId = await newNodeId() })

const apps: FastifyInstance[] = []
afterEach(async () => { for (const app of apps.splice(0)) await app.close() })

interface Node {
  url: string
  dials: string[]
  caller: RecordingCaller
  content: MemoryContent
  cid: string
}

async function startNode (token: string | undefined): Promise<Node> {
  const dials: string[] = []
  const view: NodeView = {
    info: () => ({ peerId: nodeId, network: 'demo', version: 'test', addrs: [], relayServer: false, startedAt: new Date(0).toISOString(), ready: true, peers: 0, registry: { digest: 'd', entries: 0 } }),
    peers: () => [],
    registry: () => ({ digest: 'd', size: 0, entries: [] }),
    readiness: () => ({ ready: true, reason: 'test' }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    dial: async (addr) => {
      dials.push(addr)
      return { peerId: nodeId, verified: true }
    }
  }
  const caller = new RecordingCaller()
  const content = new MemoryContent()
  const cid = content.put('already here')
  const app = await createHttpServer(
    { view, log: () => {}, caller, catalog: new TestCatalog([record(nodeId, 'echo')]), selfId: SELF, content },
    { host: '127.0.0.1', port: 0, mcp: { enabled: true, allowedOrigins: [], maxRequestBytes: 1024 * 1024, maxSessions: 4, sessionIdleSeconds: 60, timeoutMs: 1000, ...(token === undefined ? {} : { token }) } }
  )
  apps.push(app)
  return { url: await app.listen({ host: '127.0.0.1', port: 0 }), dials, caller, content, cid }
}

interface WriteRoute {
  name: string
  send: (node: Node, headers: Record<string, string>) => Promise<Response>
  ok: number
  /** Makes the route's work possible, e.g. a pin to remove. */
  setup?: (node: Node) => void
  /** What the route did; must stay unchanged by refused requests. */
  effect: (node: Node) => unknown
}

const ROUTES: WriteRoute[] = [
  {
    name: 'POST /api/v1/peers',
    send: async (n, h) => await fetch(`${n.url}/api/v1/peers`, { method: 'POST', headers: { ...JSON_BODY, ...h }, body: JSON.stringify({ addr: `/ip4/127.0.0.1/tcp/4001/p2p/${nodeId}` }) }),
    ok: 200,
    effect: (n) => n.dials.length
  },
  {
    name: 'POST /api/v1/calls',
    send: async (n, h) => await fetch(`${n.url}/api/v1/calls`, { method: 'POST', headers: { ...JSON_BODY, ...h }, body: JSON.stringify({ target: `${nodeId}:echo`, tool: 'echo', arguments: { text: 'hi' } }) }),
    ok: 200,
    effect: (n) => n.caller.calls.length
  },
  {
    name: 'POST /api/v1/content',
    send: async (n, h) => await fetch(`${n.url}/api/v1/content`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...h }, body: 'new bytes' }),
    ok: 201,
    effect: (n) => n.content.adds.length
  },
  {
    name: 'POST /api/v1/content/<cid>/pin',
    send: async (n, h) => await fetch(`${n.url}/api/v1/content/${n.cid}/pin`, { method: 'POST', headers: h }),
    ok: 200,
    effect: (n) => n.content.pins.has(n.cid)
  },
  {
    name: 'DELETE /api/v1/content/<cid>/pin',
    setup: (n) => { n.content.pins.set(n.cid, 2) },
    send: async (n, h) => await fetch(`${n.url}/api/v1/content/${n.cid}/pin`, { method: 'DELETE', headers: h }),
    ok: 200,
    effect: (n) => n.content.pins.has(n.cid)
  }
]

describe('state-changing routes with a token configured', () => {
  for (const route of ROUTES) {
    it(`${route.name}: 401 with a JSON error without the token or with a wrong one, and nothing done`, async () => {
      const node = await startNode(TOKEN)
      route.setup?.(node)
      const before = route.effect(node)
      for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }] as Array<Record<string, string>>) {
        const res = await route.send(node, headers)
        expect(res.status, JSON.stringify(headers)).toBe(401)
        expect(res.headers.get('www-authenticate')).toBe('Bearer')
        expect(res.headers.get('content-type')).toMatch(/^application\/json/)
        expect(await res.json()).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'a valid bearer token is required' })
      }
      expect(route.effect(node)).toEqual(before)
    })

    it(`${route.name}: succeeds with the token`, async () => {
      const node = await startNode(TOKEN)
      route.setup?.(node)
      const before = route.effect(node)
      const res = await route.send(node, GOOD)
      expect(res.status, await res.clone().text()).toBe(route.ok)
      expect(route.effect(node)).not.toEqual(before)
    })
  }

  it('POST and DELETE /mcp: 401 in JSON-RPC without the token, served with it', async () => {
    const node = await startNode(TOKEN)
    const initialize = async (headers: Record<string, string>): Promise<Response> =>
      await fetch(`${node.url}/mcp`, { method: 'POST', headers: { accept: ACCEPT, ...JSON_BODY, ...headers }, body: JSON.stringify(INITIALIZE) })
    const refused = await initialize({})
    expect(refused.status).toBe(401)
    expect(await refused.json()).toMatchObject({ jsonrpc: '2.0', error: { message: 'Unauthorized: bearer token required' } })

    const opened = await initialize(GOOD)
    expect(opened.status).toBe(200)
    const session = opened.headers.get('mcp-session-id')
    expect(session).toEqual(expect.any(String))
    await opened.body?.cancel()

    const del = async (headers: Record<string, string>): Promise<Response> =>
      await fetch(`${node.url}/mcp`, { method: 'DELETE', headers: { 'mcp-session-id': session ?? '', ...headers } })
    expect((await del({})).status).toBe(401)
    expect((await del(GOOD)).status).toBe(200)
    // The first DELETE did not end the session: the second found it; now it is gone.
    expect((await del(GOOD)).status).toBe(404)
  })

  it('answers 401 to writes on unknown paths too, so they reveal nothing', async () => {
    const node = await startNode(TOKEN)
    expect((await fetch(`${node.url}/api/v1/nothing`, { method: 'PUT' })).status).toBe(401)
    expect((await fetch(`${node.url}/api/v1/nothing`, { method: 'PUT', headers: GOOD })).status).toBe(404)
  })

  it('leaves reads of node state open', async () => {
    const node = await startNode(TOKEN)
    for (const path of ['/healthz', '/readyz', '/metrics', '/api/v1/node', '/api/v1/peers', '/api/v1/registry', '/api/v1/agents', '/api/v1/content', `/api/v1/content/${node.cid}/status`, '/']) {
      expect((await fetch(`${node.url}${path}`)).status, path).toBe(200)
    }
  })
})

describe('state-changing routes without a token configured', () => {
  it('need no Authorization header', async () => {
    const node = await startNode(undefined)
    for (const route of ROUTES) {
      route.setup?.(node)
      const res = await route.send(node, {})
      expect(res.status, route.name).toBe(route.ok)
    }
  })
})
