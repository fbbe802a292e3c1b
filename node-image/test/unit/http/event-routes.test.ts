// GET /api/v1/events over a real socket: hello first, live events, resumption, the subscriber cap, cleanup.
import { connect } from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { eventually } from '../../../../test/support/eventually.ts'
import { openEvents, type SseStream } from '../../support/sse-client.ts'
import { eventsServer, type EventsServer } from './events-server.ts'

const streams: SseStream[] = []
const servers: EventsServer[] = []
afterEach(async () => {
  for (const s of streams.splice(0)) s.close()
  for (const s of servers.splice(0)) await s.app.close()
})

async function start (opts: Parameters<typeof eventsServer>[0] = {}): Promise<{ server: EventsServer, url: string }> {
  const server = await eventsServer(opts)
  servers.push(server)
  const base = await server.app.listen({ host: '127.0.0.1', port: 0 })
  return { server, url: `${base}/api/v1/events` }
}

async function open (url: string, opts: Parameters<typeof openEvents>[1] = {}): Promise<SseStream> {
  const stream = await openEvents(url, opts)
  streams.push(stream)
  return stream
}

const types = (s: SseStream): string[] => s.events.map(e => e.event)

describe('GET /api/v1/events', () => {
  it('answers an event stream whose first event is hello, before anything is published', async () => {
    const { url } = await start()
    const s = await open(url)
    expect(s.status).toBe(200)
    expect(s.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    expect(s.headers.get('cache-control')).toBe('no-cache, no-transform')
    expect(s.headers.get('x-content-type-options')).toBe('nosniff')
    await eventually(async () => s.events.length > 0, { what: 'hello' })
    expect(s.events[0]).toEqual({
      event: 'hello',
      data: { bootId: 'boot1', nodeId: 'node-self', network: 'demo', version: 'test', tokenRequired: false, encryption: 'required', naming: 'logical', ready: true, reason: 'test' }
    })
  })

  it('delivers published events with ids, and resumes from Last-Event-ID without loss', async () => {
    const { server, url } = await start()
    const first = await open(url)
    await eventually(async () => first.events.length === 1, { what: 'hello' })
    server.hub.publish('peer', { peerId: 'p1', verified: true, route: 'direct' })
    await eventually(async () => first.events.length === 2, { what: 'the peer event' })
    expect(first.events[1]).toEqual({ id: 'boot1-1', event: 'peer', data: { peerId: 'p1', verified: true, route: 'direct' } })
    const resumeFrom = first.lastEventId() ?? ''
    first.close()
    await eventually(async () => server.hub.subscriberCount === 0, { what: 'the closed stream unsubscribed' })

    server.hub.publish('node', { ready: false, reason: 'x' })
    server.hub.publish('presence', { agentId: 'echo', nodeId: 'n', state: 'unreachable' })
    const again = await open(url, { lastEventId: resumeFrom })
    await eventually(async () => again.events.length === 3, { what: 'hello and the two missed events', detail: async () => JSON.stringify(again.events) })
    expect(again.events.map(e => [e.event, e.id])).toEqual([['hello', undefined], ['node', 'boot1-2'], ['presence', 'boot1-3']])
  })

  it('sends reset to a client resuming from another boot', async () => {
    const { url } = await start()
    const s = await open(url, { lastEventId: 'oldboot-7' })
    await eventually(async () => s.events.length === 2, { what: 'hello and reset' })
    expect(s.events[1]).toEqual({ id: 'boot1-0', event: 'reset', data: { reason: 'other-boot', bootId: 'boot1', lastEventId: 'boot1-0' } })
  })

  it('answers 503 with a JSON body past the subscriber limit, and serves again once one leaves', async () => {
    const { server, url } = await start({ hub: { maxSubscribers: 2 } })
    const a = await open(url)
    await open(url)
    const refused = await fetch(url)
    expect(refused.status).toBe(503)
    expect(refused.headers.get('retry-after')).toBe('5')
    expect(await refused.json()).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the node serves at most 2 event streams at once' })
    a.close()
    await eventually(async () => server.hub.subscriberCount === 1, { what: 'a slot free' })
    expect((await open(url)).status).toBe(200)
  })

  it('holds back a burst past the high-water mark and delivers all of it as the socket drains', async () => {
    const { server, url } = await start()
    const s = await open(url)
    await eventually(async () => s.events.length === 1, { what: 'hello' })
    // 12 MB in one synchronous burst: far past the kernel's buffers and the 1 MiB mark, within the ring.
    const pad = 'x'.repeat(8 * 1024)
    for (let i = 1; i <= 1500; i++) server.hub.publish('n', { i, pad })
    await eventually(async () => s.events.length === 1501, { what: 'the whole burst', timeoutMs: 15_000, detail: async () => `${s.events.length} events` })
    expect(s.events.slice(1).map(e => (e.data as { i: number }).i)).toEqual(Array.from({ length: 1500 }, (_, i) => i + 1))
    expect(server.hub.subscriberCount).toBe(1)
  })

  it('cuts off a client that stops reading once the ring has moved past it', async () => {
    const drops: string[] = []
    const { server, url } = await start({ hub: { highWaterBytes: 64 * 1024, ringSize: 20, onDrop: r => drops.push(r) } })
    const { hostname, port, host } = new URL(url)
    const socket = connect(Number(port), hostname)
    await once(socket, 'connect')
    socket.write(`GET /api/v1/events HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
    await eventually(async () => server.hub.subscriberCount === 1, { what: 'the raw client subscribed' })
    // Stop reading: the kernel buffers fill, then the response's own buffer, then the hub pauses it.
    socket.pause()
    const closed = once(socket, 'close')
    const pad = 'x'.repeat(8 * 1024)
    await eventually(async () => {
      for (let i = 0; i < 100; i++) server.hub.publish('n', { pad })
      return server.hub.subscriberCount === 0
    }, { what: 'the stalled client dropped', timeoutMs: 20_000 })
    expect(drops).toEqual(['slow'])
    socket.resume()
    await closed
  })

  it('needs the token when one is set', async () => {
    const { url } = await start({ token: 'tok' })
    const refused = await fetch(url)
    expect(refused.status).toBe(401)
    const s = await open(url, { headers: { authorization: 'Bearer tok' } })
    await eventually(async () => types(s).includes('hello'), { what: 'hello' })
    expect(s.events[0]?.data).toMatchObject({ tokenRequired: true })
  })

  it('ends open streams when the server closes, so close() does not hang', async () => {
    const { server, url } = await start()
    const s = await open(url)
    await eventually(async () => s.events.length === 1, { what: 'hello' })
    await server.app.close()
    servers.splice(0)
    await s.closed
    expect(server.hub.subscriberCount).toBe(0)
  })
})
