/**
 * `GET /api/v1/events`: the node's live events as Server-Sent Events (see events/event-hub.ts),
 * and `GET /api/v1/presence`, the presence list a page loads once before following events.
 * Both are private reads: with a token set they need it, and foreign Origins are refused.
 */
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { EventHubStoppedError, TooManySubscribersError, type EventHub, type EventSink, type Subscription } from '../events/event-hub.ts'
import type { PresenceEntry } from '../events/presence.ts'
import { ErrorReply } from './schemas.ts'

/** The first event on every stream: what the page needs before anything else. */
export interface HelloData {
  bootId: string
  nodeId: string
  network: string
  version: string
  tokenRequired: boolean
  /** toolCalls.encryption: whether routed calls are end-to-end sealed. */
  encryption: 'required' | 'preferred' | 'off'
  /** mcp.naming, as reloaded. */
  naming: string
  ready: boolean
  reason: string
}

export interface EventRoutesComponents {
  hub: Pick<EventHub, 'subscribe' | 'lastEventId' | 'bootId'>
  hello: () => Omit<HelloData, 'bootId'>
  presence: () => PresenceEntry[]
}

export const PresenceReply = Type.Object({
  /** Follow the stream from here (send it as Last-Event-ID) to miss no change after this list. */
  lastEventId: Type.String(),
  entries: Type.Array(Type.Object({
    agentId: Type.String(),
    nodeId: Type.String(),
    state: Type.Union([Type.Literal('online'), Type.Literal('degraded'), Type.Literal('unreachable')])
  }))
})

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-content-type-options': 'nosniff',
  // Proxies that buffer would hold events back.
  'x-accel-buffering': 'no'
}

export function registerEventRoutes (app: FastifyInstance, components: EventRoutesComponents): void {
  const { hub } = components
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()
  // This app's streams, ended before it closes: an open stream would keep close() waiting.
  const open = new Set<() => void>()
  app.addHook('preClose', (done) => {
    for (const end of [...open]) end()
    done()
  })

  typed.get('/api/v1/presence', {
    config: { privateRead: true },
    schema: { response: { 200: PresenceReply } }
  }, () => {
    const entries = components.presence()
    return { lastEventId: hub.lastEventId, entries }
  })

  typed.get('/api/v1/events', {
    config: { privateRead: true },
    exposeHeadRoute: false,
    schema: {
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 128 })) }),
      response: { 503: ErrorReply }
    }
  }, async (req, reply) => {
    const res = reply.raw
    let subscription: Subscription | undefined
    let ended = false
    const end = (): void => {
      if (ended) return
      ended = true
      open.delete(end)
      subscription?.unsubscribe()
      res.end()
    }
    const sink: EventSink = {
      write: (text) => {
        if (!res.headersSent) {
          reply.hijack()
          res.writeHead(200, SSE_HEADERS)
        }
        res.write(text)
      },
      buffered: () => res.writableLength,
      close: (reason) => {
        // A dropped (slow) reader is cut off; its client reconnects with Last-Event-ID.
        if (reason === 'slow') res.destroy()
        end()
      }
    }
    const hello = components.hello()
    const lastEventId = req.headers['last-event-id']
    try {
      subscription = hub.subscribe(sink, {
        greeting: { type: 'hello', data: { bootId: hub.bootId, ...hello } },
        ...(lastEventId === undefined ? {} : { lastEventId })
      })
    } catch (err) {
      if (!(err instanceof TooManySubscribersError) && !(err instanceof EventHubStoppedError)) throw err
      return await reply.status(503).header('retry-after', '5').send({ statusCode: 503, error: 'Service Unavailable', message: err.message })
    }
    const sub = subscription
    open.add(end)
    res.on('drain', () => { sub.drained() })
    res.on('close', end)
    // A write racing a vanished client must not become an uncaught error.
    res.on('error', end)
    return reply
  })
}
