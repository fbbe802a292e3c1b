import Fastify, { type FastifyError, type FastifyInstance } from 'fastify'
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { NodeView } from './node-view.ts'
import { DialBody, DialReply, ErrorReply, NodeInfo, PeerInfo, RegistryQuery, RegistryReply } from './schemas.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { registerUiRoutes } from './ui-routes.ts'
import { registerAgentRoutes } from './agent-routes.ts'
import { isMcpRequest, registerMcpEndpoint, type McpEndpointInit } from '../mcp/mesh-endpoint.ts'
import { requireTokenToWrite } from './bearer-auth.ts'
import type { MeshCallComponents, MeshCatalog } from '../mcp/mesh-requests.ts'
import type { MeshCaller } from '../routing/types.ts'
import type { ContentFacade } from '../storage/content-api.ts'
import { registerContentRoutes } from './content-routes.ts'
import { registerEventRoutes, type EventRoutesComponents } from './event-routes.ts'
import { refuseForeignOrigins } from './origin.ts'
import { registerRoomRoutes, type RoomRoutesComponents } from './room-routes.ts'


export interface HttpServerComponents {
  view: NodeView
  log: LogFn
  caller: MeshCaller
  catalog: MeshCatalog
  selfId: string
  /** The content layer; without it there is no `/api/v1/content`. */
  content?: ContentFacade
  /** Replica choice, round trips, metrics and the naming view for calls by logical name. */
  mesh?: MeshCallComponents
  /** The live event stream and presence; without it there is no `/api/v1/events`. */
  events?: EventRoutesComponents
  /** Rooms and direct messages; without it there is no `/api/v1/rooms`. */
  rooms?: RoomRoutesComponents
}

export interface HttpServerInit {
  /** Where the caller listens; 127.0.0.1 unless the config says otherwise (see config/schema.ts). */
  host: string
  port: number
  /** Largest request body accepted, in bytes. */
  bodyLimit?: number
  mcp: McpEndpointInit & { enabled: boolean }
}

/**
 * The node's HTTP API: probes, metrics, the `/api/v1` surface and the mesh-wide `/mcp`.
 * With `mcp.token` set, every state-changing request needs it (see bearer-auth.ts);
 * reads stay open except private ones (private-read.ts). Foreign Origins may neither
 * change state nor read private routes (origin.ts).
 */
export async function createHttpServer (components: HttpServerComponents, init: HttpServerInit): Promise<FastifyInstance> {
  // maxParamLength: a CID in the path can be longer than Fastify's default 100 characters.
  const app = Fastify({ logger: false, bodyLimit: init.bodyLimit ?? 64 * 1024, routerOptions: { maxParamLength: 256 } }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(TypeBoxValidatorCompiler)
  const { view, log } = components

  app.setErrorHandler((err: FastifyError, _req, reply) => {
    const statusCode = err.validation != null ? 400 : (err.statusCode ?? 500)
    if (statusCode >= 500) log('error', 'http handler failed', { error: err.message })
    void reply.status(statusCode).send({
      statusCode,
      error: statusCode === 400 ? 'Bad Request' : statusCode === 413 ? 'Payload Too Large' : statusCode === 415 ? 'Unsupported Media Type' : statusCode >= 500 ? 'Internal Server Error' : 'Error',
      message: statusCode >= 500 ? 'internal error' : err.message
    })
  })
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ statusCode: 404, error: 'Not Found', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` })
  })

  // Registered before any route, so every route and the not-found handler run them.
  // Origin first: a foreign page learns nothing, not even whether a token is needed.
  app.addHook('onRequest', refuseForeignOrigins(init.mcp.allowedOrigins, isMcpRequest, (origin, req) => {
    log('warn', 'http request refused', { reason: 'origin', origin, method: req.method, ip: req.ip })
  }))
  app.addHook('onRequest', requireTokenToWrite(init.mcp.token, isMcpRequest))

  const errors = { 400: ErrorReply, 401: ErrorReply, 404: ErrorReply }

  app.get('/healthz', { schema: { response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, () => ({ status: 'ok' as const }))

  const ReadyReply = Type.Object({
    ready: Type.Boolean(),
    reason: Type.String(),
    registrySync: Type.Optional(Type.Object({
      lastSuccessAt: Type.Optional(Type.String()),
      consecutiveFailures: Type.Integer(),
      failingPeers: Type.Integer(),
      lastError: Type.Optional(Type.Object({ peer: Type.String(), reason: Type.String(), message: Type.String(), at: Type.String() }))
    }))
  })
  app.get('/readyz', {
    schema: { response: { 200: ReadyReply, 503: ReadyReply } }
  }, async (_req, reply) => {
    const r = view.readiness()
    return await reply.status(r.ready ? 200 : 503).send(r)
  })

  app.get('/metrics', async (_req, reply) => {
    const { contentType, body } = await view.metrics()
    return await reply.header('content-type', contentType).send(body)
  })

  app.get('/api/v1/node', { schema: { response: { 200: NodeInfo } } }, () => view.info())
  app.get('/api/v1/peers', { schema: { response: { 200: Type.Array(PeerInfo) } } }, () => view.peers())
  app.get('/api/v1/registry', { schema: { querystring: RegistryQuery, response: { 200: RegistryReply, ...errors } } }, (req) => view.registry(req.query.nodeId === undefined ? {} : { nodeId: req.query.nodeId }))

  app.post('/api/v1/peers', { schema: { body: DialBody, response: { 200: DialReply, ...errors, 502: ErrorReply } } }, async (req, reply) => {
    try {
      return await view.dial(req.body.addr, AbortSignal.timeout(10_000))
    } catch (err) {
      return await reply.status(502).send({ statusCode: 502, error: 'Bad Gateway', message: `dial failed: ${(err as Error).message}` })
    }
  })

  registerAgentRoutes(app, {
    agents: components.catalog.entries,
    selfId: components.selfId,
    caller: components.caller,
    log,
    ...(components.mesh === undefined ? {} : { mesh: components.mesh })
  }, { maxRequestBytes: init.mcp.maxRequestBytes, timeoutMs: init.mcp.timeoutMs })
  if (components.content !== undefined) registerContentRoutes(app, { content: components.content })
  if (components.events !== undefined) registerEventRoutes(app, components.events)
  if (components.rooms !== undefined) registerRoomRoutes(app, components.rooms)
  if (init.mcp.enabled) await registerMcpEndpoint(app, { ...components.mesh, catalog: components.catalog, caller: components.caller, log, selfId: components.selfId }, init.mcp)
  registerUiRoutes(app)
  return app
}
