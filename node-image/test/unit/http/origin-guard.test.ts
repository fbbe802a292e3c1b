// The app-wide Origin guard and the privateRead flag, through fastify inject on the node's real server.
import { afterEach, describe, expect, it } from 'vitest'
import { eventsServer, type EventsServer } from './events-server.ts'
import { ACCEPT, INITIALIZE } from '../mcp/fixtures.ts'

const TOKEN = 's3cret-token'
const FOREIGN = 'https://evil.example'
const CONFIGURED = 'https://dawn.example.org'

const servers: EventsServer[] = []
afterEach(async () => { for (const s of servers.splice(0)) await s.app.close() })

async function start (opts: { token?: string } = {}): Promise<EventsServer> {
  const server = await eventsServer({ ...opts, allowedOrigins: [CONFIGURED] })
  servers.push(server)
  return server
}

async function upload (s: EventsServer, origin: string | undefined, headers: Record<string, string> = {}): Promise<{ statusCode: number, json: () => unknown }> {
  return await s.app.inject({
    method: 'POST',
    url: '/api/v1/content',
    headers: { 'content-type': 'application/octet-stream', ...(origin === undefined ? {} : { origin }), ...headers },
    payload: Buffer.from('bytes')
  })
}

describe('the app-wide Origin guard', () => {
  it('refuses a state-changing request from a foreign Origin with a JSON 403, before anything is done', async () => {
    const s = await start()
    for (const origin of [FOREIGN, 'null', `${CONFIGURED}.evil.com`, 'http://localhost.evil.com', 'http://127.0.0.1.nip.io:8080']) {
      const res = await upload(s, origin)
      expect(res.statusCode, origin).toBe(403)
      expect(res.json()).toEqual({ statusCode: 403, error: 'Forbidden', message: `origin ${JSON.stringify(origin)} is not allowed` })
    }
    const dial = await s.app.inject({ method: 'POST', url: '/api/v1/peers', headers: { origin: FOREIGN }, payload: { addr: '/ip4/127.0.0.1/tcp/1' } })
    expect(dial.statusCode).toBe(403)
    // Unknown paths too: a foreign page learns nothing.
    expect((await s.app.inject({ method: 'PUT', url: '/api/v1/nothing', headers: { origin: FOREIGN } })).statusCode).toBe(403)
    expect(s.content.adds).toHaveLength(0)
  })

  it('lets through no Origin, loopback origins and a configured origin', async () => {
    const s = await start()
    for (const origin of [undefined, 'http://localhost:5173', 'http://127.0.0.1:8080', 'http://[::1]:80', 'https://localhost', CONFIGURED]) {
      expect((await upload(s, origin)).statusCode, String(origin)).toBe(201)
    }
    expect(s.content.adds).toHaveLength(6)
  })

  it('refuses foreign reads of private routes only', async () => {
    const s = await start()
    for (const url of ['/api/v1/presence', '/api/v1/events']) {
      const res = await s.app.inject({ method: 'GET', url, headers: { origin: FOREIGN } })
      expect(res.statusCode, url).toBe(403)
      expect(res.json()).toMatchObject({ statusCode: 403, error: 'Forbidden' })
    }
    for (const url of ['/api/v1/node', '/api/v1/registry', '/healthz']) {
      expect((await s.app.inject({ method: 'GET', url, headers: { origin: FOREIGN } })).statusCode, url).toBe(200)
    }
    expect((await s.app.inject({ method: 'GET', url: '/api/v1/presence', headers: { origin: 'http://localhost:8080' } })).statusCode).toBe(200)
  })

  it('leaves /mcp to its own check, which answers in JSON-RPC', async () => {
    const s = await start()
    const res = await s.app.inject({ method: 'POST', url: '/mcp', headers: { origin: FOREIGN, accept: ACCEPT, 'content-type': 'application/json' }, payload: INITIALIZE })
    expect(res.statusCode).toBe(403)
    expect(res.json()).toMatchObject({ jsonrpc: '2.0', error: { message: `Forbidden: origin ${FOREIGN} not allowed` } })
  })
})

describe('privateRead routes', () => {
  it('need the token when one is configured; public reads do not', async () => {
    const s = await start({ token: TOKEN })
    for (const url of ['/api/v1/presence', '/api/v1/events']) {
      for (const authorization of [undefined, 'Bearer wrong']) {
        const res = await s.app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } })
        expect(res.statusCode, `${url} ${String(authorization)}`).toBe(401)
        expect(res.headers['www-authenticate']).toBe('Bearer')
      }
    }
    // Fastify's automatic HEAD route carries the flag too.
    expect((await s.app.inject({ method: 'HEAD', url: '/api/v1/presence' })).statusCode).toBe(401)
    const ok = await s.app.inject({ method: 'GET', url: '/api/v1/presence', headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual({ lastEventId: 'boot1-0', entries: [{ agentId: 'echo', nodeId: 'node-self', state: 'online' }] })
    expect((await s.app.inject({ method: 'GET', url: '/api/v1/node' })).statusCode).toBe(200)
    // The Origin check comes first: a foreign page with no token learns nothing about the token.
    expect((await s.app.inject({ method: 'GET', url: '/api/v1/presence', headers: { origin: FOREIGN } })).statusCode).toBe(403)
  })

  it('are open without a token configured', async () => {
    const s = await start()
    expect((await s.app.inject({ method: 'GET', url: '/api/v1/presence' })).statusCode).toBe(200)
  })
})
