// The node's real HTTP server with a real EventHub behind /api/v1/events, for the guard and stream tests.
import type { FastifyInstance } from 'fastify'
import { createHttpServer } from '../../../src/http/server.ts'
import type { NodeView } from '../../../src/http/node-view.ts'
import { EventHub, type EventHubInit } from '../../../src/events/event-hub.ts'
import type { PresenceEntry } from '../../../src/events/presence.ts'
import { MemoryContent, SELF } from '../content-double.ts'
import { RecordingCaller, TestCatalog } from '../mcp/fixtures.ts'

export interface EventsServer {
  app: FastifyInstance
  hub: EventHub
  content: MemoryContent
  presence: PresenceEntry[]
}

export async function eventsServer (opts: { token?: string, allowedOrigins?: string[], hub?: EventHubInit } = {}): Promise<EventsServer> {
  const view: NodeView = {
    info: () => ({ peerId: SELF, network: 'demo', version: 'test', addrs: [], relayServer: false, startedAt: new Date(0).toISOString(), ready: true, peers: 0, registry: { digest: 'd', entries: 0 } }),
    peers: () => [],
    registry: () => ({ digest: 'd', size: 0, entries: [] }),
    readiness: () => ({ ready: true, reason: 'test' }),
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    dial: async () => ({ peerId: SELF, verified: true })
  }
  const hub = new EventHub({ bootId: 'boot1', ...opts.hub })
  hub.start()
  const content = new MemoryContent()
  const server: EventsServer = { app: undefined as unknown as FastifyInstance, hub, content, presence: [{ agentId: 'echo', nodeId: SELF, state: 'online' }] }
  server.app = await createHttpServer({
    view,
    log: () => {},
    caller: new RecordingCaller(),
    catalog: new TestCatalog([]),
    selfId: SELF,
    content,
    events: {
      hub,
      presence: () => server.presence,
      hello: () => ({ nodeId: SELF, network: 'demo', version: 'test', tokenRequired: opts.token !== undefined, encryption: 'required', naming: 'logical', ready: true, reason: 'test' })
    }
  }, {
    host: '127.0.0.1',
    port: 0,
    mcp: { enabled: true, allowedOrigins: opts.allowedOrigins ?? [], maxRequestBytes: 1024 * 1024, maxSessions: 4, sessionIdleSeconds: 60, timeoutMs: 1000, ...(opts.token === undefined ? {} : { token: opts.token }) }
  })
  server.app.addHook('onClose', () => { hub.stop() })
  return server
}
