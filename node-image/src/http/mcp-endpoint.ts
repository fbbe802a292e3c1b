/**
 * The mesh-wide MCP endpoint at `/mcp`, serving two protocol revisions side by side.
 *
 * 2025-11-25: one {@link createMeshMcpServer} server and one SDK transport per session, created by
 * `initialize` and ended by DELETE, by the idle sweeper or when the app closes.
 * 2026-07-28: stateless; a request the v2 SDK classifies as modern (`isLegacyRequest` false) goes to
 * the {@link createModernMcpHandler}, whatever session header it carries.
 * Before anything is parsed, requests pass the Origin check (DNS-rebinding defence)
 * and, when a token is configured, the bearer check. Every refusal is a JSON-RPC error body.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { ErrorCode, isInitializeRequest, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js'
import { isLegacyRequest } from '@modelcontextprotocol/server'
import { bearerMatches } from './bearer-auth.ts'
import { originAllowed } from '../agents/mcp-http-origin.ts'
import { McpSessionTable } from '../agents/mcp-http-sessions.ts'
import { createMeshMcpServer, type MeshMcpServer, type MeshMcpServerComponents } from '../routing/mesh-mcp-server.ts'
import { createModernMcpHandler } from '../mcp/modern-mcp-handler.ts'
import { sendWebResponse, webRequestOf } from '../mcp/web-exchange.ts'

export const MCP_PATH = '/mcp'
const SESSION_HEADER = 'mcp-session-id'
/** JSON-RPC code the SDK uses for "Session not found". */
const SESSION_NOT_FOUND = -32001
const SERVER_ERROR = -32000

export interface McpEndpointInit {
  /** Browser origins allowed besides localhost. */
  allowedOrigins: string[]
  /** Bearer token clients must send; undefined means none. */
  token?: string
  maxRequestBytes: number
  maxSessions: number
  /** A session with no request for this long (and none open) is closed. */
  sessionIdleSeconds: number
  timeoutMs: number
}

export class McpEndpointConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'McpEndpointConfigError'
  }
}

interface Session {
  id: string
  caller: string
  server: MeshMcpServer
  transport: StreamableHTTPServerTransport
}

/** Requests the endpoint answers itself, token included (in JSON-RPC, and for its GET stream too). */
export function isMcpRequest (req: FastifyRequest): boolean {
  const route = req.routeOptions.url
  return route === MCP_PATH || route?.startsWith(`${MCP_PATH}/`) === true
}

function rpcError (reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.status(status).header('content-type', 'application/json').send({ jsonrpc: '2.0', id: null, error: { code, message } })
}

/** A JSON-RPC message or a non-empty batch of them, as the SDK defines them. */
function isJsonRpcPayload (value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0 && value.every((m) => JSONRPCMessageSchema.safeParse(m).success)
  return JSONRPCMessageSchema.safeParse(value).success
}

function isInitialize (value: unknown): boolean {
  return Array.isArray(value) ? value.some((m) => isInitializeRequest(m)) : isInitializeRequest(value)
}

function sessionHeader (req: FastifyRequest): string | undefined {
  const value = req.headers[SESSION_HEADER]
  return Array.isArray(value) ? value[0] : value
}

/** Registers POST/GET/DELETE `/mcp` in its own encapsulated plugin (own JSON parser, body limit and error handler). */
export async function registerMcpEndpoint (app: FastifyInstance, components: MeshMcpServerComponents, init: McpEndpointInit): Promise<void> {
  const { log } = components
  if (init.token === '') throw new McpEndpointConfigError('the MCP bearer token is empty')
  const sessions = new McpSessionTable<Session>({
    maxSessions: init.maxSessions,
    idleMs: init.sessionIdleSeconds * 1000,
    log,
    close: async (session, reason) => {
      log('info', 'mcp session closed', { caller: session.caller, reason })
      await session.server.close()
    }
  })
  const closeSession = async (session: Session, reason: string): Promise<void> => { await sessions.close(session.id, reason) }
  const modern = createModernMcpHandler(components, { timeoutMs: init.timeoutMs })
  let modernOpen = true
  const closeAll = async (): Promise<void> => {
    await sessions.closeAll('shutdown')
    if (modernOpen) {
      modernOpen = false
      await modern.close()
    }
  }
  // Before the HTTP server closes: open SSE streams would otherwise keep it from closing.
  app.addHook('preClose', closeAll)
  app.addHook('onClose', closeAll)

  /** Hands the request to the session's transport; the reply is the transport's from here on. */
  const handOver = async (session: Session, req: FastifyRequest, reply: FastifyReply, body?: unknown): Promise<void> => {
    sessions.track(session.id, reply.raw)
    reply.hijack()
    try {
      await session.transport.handleRequest(req.raw, reply.raw, body)
    } catch (err) {
      log('error', 'mcp request failed', { caller: session.caller, error: (err as Error).message })
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' })
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InternalError, message: 'Internal error' } }))
      }
    }
  }

  /**
   * The request as the v2 SDK sees it, if it classifies it as 2026-07-28; undefined means legacy.
   * Its signal aborts when the client goes away (how cancellation and listen teardown reach the SDK).
   */
  const modernRequest = async (req: FastifyRequest, reply: FastifyReply, body?: string, parsed?: unknown): Promise<Request | undefined> => {
    const gone = new AbortController()
    const web = webRequestOf(req.method, req.url, req.headers, body, gone.signal)
    if (await isLegacyRequest(web, parsed)) return undefined
    reply.raw.once('close', () => { gone.abort() })
    return web
  }

  /** Hands a modern request to the stateless handler; the reply is the handler's from here on. */
  const serveModern = async (req: FastifyRequest, reply: FastifyReply, web: Request): Promise<void> => {
    reply.hijack()
    const caller = `mcp:modern@${req.ip}`
    try {
      await sendWebResponse(reply.raw, await modern.fetch(web, caller))
    } catch (err) {
      log('error', 'mcp request failed', { caller, error: (err as Error).message })
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' })
        reply.raw.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.InternalError, message: 'Internal error' } }))
      }
    }
  }

  const openSession = (req: FastifyRequest): Session => {
    const id = randomUUID()
    const caller = `mcp:${id.slice(0, 8)}@${req.ip}`
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      maxRequestBodySize: init.maxRequestBytes
    })
    const server = createMeshMcpServer(components, { timeoutMs: init.timeoutMs, caller })
    const session: Session = { id, caller, server, transport }
    // Chained by the SDK's Server.connect: runs however the transport ends (DELETE, sweeper, shutdown).
    transport.onclose = () => { void closeSession(session, 'closed') }
    transport.onerror = (err) => { log('debug', 'mcp transport error', { caller, error: err.message }) }
    sessions.add(id, session)
    return session
  }

  /** The session a GET/DELETE/non-initialize POST names, or the reply refusing it. */
  const existingSession = (req: FastifyRequest, reply: FastifyReply): Session | undefined => {
    const id = sessionHeader(req)
    if (id === undefined) {
      rpcError(reply, 400, SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required')
      return undefined
    }
    const session = sessions.get(id)
    if (session === undefined) {
      rpcError(reply, 404, SESSION_NOT_FOUND, 'Session not found')
      return undefined
    }
    return session
  }

  await app.register((mcp, _opts, done) => {
    mcp.removeAllContentTypeParsers()
    mcp.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: init.maxRequestBytes }, (_req, body, done) => {
      done(null, body)
    })

    mcp.setErrorHandler((err: FastifyError, _req, reply) => {
      switch (err.code) {
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          return rpcError(reply, 413, ErrorCode.InvalidRequest, `Request body too large: the limit is ${init.maxRequestBytes} bytes`)
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          return rpcError(reply, 415, SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json')
        case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
          return rpcError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: body length does not match Content-Length')
      }
      const status = err.statusCode ?? 500
      if (status >= 500) {
        log('error', 'mcp endpoint failed', { error: err.message })
        return rpcError(reply, 500, ErrorCode.InternalError, 'Internal error')
      }
      return rpcError(reply, status, ErrorCode.InvalidRequest, err.message)
    })

    // Origin, then token: before the body is read.
    mcp.addHook('onRequest', async (req, reply) => {
      const origin = req.headers.origin
      if (!originAllowed(origin, init.allowedOrigins)) {
        log('warn', 'mcp request refused', { reason: 'origin', origin, ip: req.ip })
        return rpcError(reply, 403, SERVER_ERROR, `Forbidden: origin ${String(origin)} not allowed`)
      }
      if (!bearerMatches(req.headers.authorization, init.token)) {
        const missing = req.headers.authorization === undefined
        log('warn', 'mcp request refused', { reason: missing ? 'no token' : 'wrong token', ip: req.ip })
        void reply.header('www-authenticate', missing ? 'Bearer' : 'Bearer error="invalid_token"')
        return rpcError(reply, 401, SERVER_ERROR, missing ? 'Unauthorized: bearer token required' : 'Unauthorized: invalid bearer token')
      }
      return undefined
    })

    mcp.post(MCP_PATH, { bodyLimit: init.maxRequestBytes }, async (req, reply) => {
      if (typeof req.body !== 'string') return rpcError(reply, 415, SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json')
      let message: unknown
      try {
        message = JSON.parse(req.body)
      } catch (err) {
        return rpcError(reply, 400, ErrorCode.ParseError, `Parse error: ${(err as Error).message}`)
      }
      if (!isJsonRpcPayload(message)) return rpcError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message or batch')
      const web = await modernRequest(req, reply, req.body, message)
      if (web !== undefined) {
        await serveModern(req, reply, web)
        return
      }

      if (sessionHeader(req) === undefined) {
        if (!isInitialize(message)) return rpcError(reply, 400, SERVER_ERROR, 'Bad Request: No valid session ID provided')
        if (sessions.full()) {
          log('warn', 'mcp session refused', { reason: 'too many sessions', limit: init.maxSessions, ip: req.ip })
          void reply.header('retry-after', '30')
          return rpcError(reply, 503, SERVER_ERROR, `Service Unavailable: too many MCP sessions (limit ${init.maxSessions})`)
        }
        const session = openSession(req)
        await session.server.connect(session.transport)
        await handOver(session, req, reply, message)
        if (session.transport.sessionId === undefined) {
          // The transport refused the initialize (e.g. wrong Accept header): nothing to keep.
          await closeSession(session, 'not initialized')
        } else {
          log('info', 'mcp session opened', { caller: session.caller })
        }
        return
      }
      const session = existingSession(req, reply)
      if (session === undefined) return reply
      await handOver(session, req, reply, message)
    })

    mcp.get(MCP_PATH, async (req, reply) => {
      const session = existingSession(req, reply)
      if (session === undefined) return reply
      await handOver(session, req, reply)
    })

    mcp.delete(MCP_PATH, async (req, reply) => {
      const session = existingSession(req, reply)
      if (session === undefined) return reply
      await handOver(session, req, reply)
    })
    done()
  })
}
