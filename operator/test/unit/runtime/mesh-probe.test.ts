// The operator's look at the nodes, against a real HTTP server on loopback that answers as
// nodes would, and as broken or hostile ones would.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MeshProbe } from '../../../src/runtime/mesh-probe.ts'

const info = (ready: boolean): Record<string, unknown> => ({
  peerId: 'peerA', network: 'n', version: '0.1.0', addrs: [], relayServer: false, startedAt: '2026-06-01T12:00:00.000Z', ready, peers: 2, registry: { digest: 'd', entries: 0 }
})
const peers = [
  { peerId: 'peerB', verified: true, connections: [{ remoteAddr: '/ip4/10.0.0.2/tcp/4001', direction: 'outbound', limited: false }] },
  { peerId: 'peerC', verified: false, connections: [] }
]

let server: Server
let base = ''
let closedPort = 0
let inFlight = 0
let maxInFlight = 0
const hanging = new Set<() => void>()

beforeAll(async () => {
  server = createServer((req, res) => {
    const [, node, ...rest] = (req.url ?? '').split('/')
    const path = `/${rest.join('/')}`
    // Counted for the concurrency test only: an earlier test's aborted requests may still be closing.
    if (node === 'slowgood') {
      inFlight++
      maxInFlight = Math.max(maxInFlight, inFlight)
      res.once('close', () => { inFlight-- })
    }
    const json = (body: unknown): void => { res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)) }
    switch (node) {
      case 'good': return json(path === '/api/v1/node' ? info(true) : peers)
      case 'slowgood': return void setTimeout(() => { json(path === '/api/v1/node' ? info(true) : peers) }, 100)
      case 'notjson': return void res.writeHead(200).end('<html>hello</html>')
      case 'wrongshape': return json(path === '/api/v1/node' ? info(true) : [{ peerId: 7, verified: 'yes' }])
      case 'huge': {
        // A reply that never ends: the probe must stop reading at its cap.
        res.writeHead(200, { 'content-type': 'application/json' })
        const chunk = Buffer.alloc(64 * 1024, 0x20)
        const pump = (): void => { while (res.write(chunk)) { /* fill */ } }
        res.on('drain', pump)
        pump()
        return
      }
      case 'error': return void res.writeHead(500).end('{"statusCode":500}')
      case 'hang': hanging.add(() => res.destroy()); return
      default: return void res.writeHead(404).end()
    }
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const gone = createServer()
  await new Promise<void>(resolve => gone.listen(0, '127.0.0.1', resolve))
  closedPort = (gone.address() as AddressInfo).port
  await new Promise(resolve => gone.close(resolve))
})

afterAll(async () => {
  for (const h of hanging) h()
  server.closeAllConnections()
  await new Promise(resolve => server.close(resolve))
})

describe('MeshProbe', () => {
  it('reports each node\'s readiness and verified peers, and a failure for every bad reply, without throwing', async () => {
    const probe = new MeshProbe({ timeoutMs: 1000, maxReplyBytes: 256 * 1024 })
    const names = ['good', 'notjson', 'wrongshape', 'huge', 'error', 'hang']
    const reports = await probe.observe([...names.map(n => ({ name: n, baseUrl: `${base}/${n}` })), { name: 'closed', baseUrl: `http://127.0.0.1:${closedPort}` }], AbortSignal.timeout(10_000))
    expect(reports.map(r => r.name)).toEqual([...names, 'closed'])
    expect(reports[0]).toEqual({ name: 'good', ok: true, ready: true, startedAtMs: Date.parse('2026-06-01T12:00:00Z'), verifiedPeers: ['peerB'] })
    const errors = Object.fromEntries(reports.slice(1).map(r => [r.name, r.ok ? 'ok' : r.error]))
    expect(errors).toEqual({
      notjson: 'GET /api/v1/node: the reply is not JSON',
      wrongshape: 'GET /api/v1/peers: the reply does not match the peer list schema',
      huge: 'GET /api/v1/node: the reply is larger than 262144 bytes',
      error: 'GET /api/v1/node: HTTP 500',
      hang: 'no answer within 1000 ms',
      closed: expect.stringMatching(/ECONNREFUSED/)
    })
    // The body text of a bad reply never reaches the message.
    expect(JSON.stringify(reports)).not.toContain('hello')
  })

  it('asks at most `concurrency` nodes at once', async () => {
    maxInFlight = 0
    const probe = new MeshProbe({ timeoutMs: 5000, concurrency: 3 })
    const reports = await probe.observe(Array.from({ length: 12 }, (_, i) => ({ name: `n${i}`, baseUrl: `${base}/slowgood` })), AbortSignal.timeout(10_000))
    expect(reports.every(r => r.ok)).toBe(true)
    // Two requests per node.
    expect(maxInFlight).toBe(6)
  })

  it('rejects when its own signal aborts', async () => {
    const probe = new MeshProbe({ timeoutMs: 5000 })
    const ac = new AbortController()
    const p = probe.observe([{ name: 'hang', baseUrl: `${base}/hang` }], ac.signal)
    setTimeout(() => { ac.abort(new Error('stopping')) }, 50)
    await expect(p).rejects.toThrow('stopping')
  })
})
