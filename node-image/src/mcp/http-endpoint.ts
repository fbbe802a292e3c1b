/**
 * MCP over HTTP, one implementation for the node's `/mcp` and `dawn-node agent serve --http`:
 * a Fastify plugin serving POST/GET/DELETE at one path.
 *
 * Before the body is read, a request passes the Origin check (DNS-rebinding defence) and the
 * auth guard. Bodies are read by the plugin's own parser under `maxRequestBytes`; every refusal
 * is a JSON-RPC error body. A POST is then split by protocol revision from its parsed body and
 * headers: 2026-07-28 requests go to the `modern` service (stateless), the rest to 2025-11-25
 * sessions, one legacy server and one SDK web-standard transport per session, bounded and closed
 * when idle. Without a `modern` service everything is legacy. Both legs are handed a web Request
 * whose signal aborts when the client goes away, and their web Response is streamed back.
 */
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { JSONRPCMessageSchema } from '@modelcontextprotocol/core'
import { isInitializeRequest, ProtocolErrorCode as ErrorCode, WebStandardStreamableHTTPServerTransport, type Transport } from '@modelcontextprotocol/server'
import type { LogFn } from '../logging/json-logger.ts'
import type { McpAuthGuard } from './http-auth.ts'
import { originAllowed } from '../http/origin.ts'
import { McpSessionTable } from './http-sessions.ts'
import { isLegacyPost } from './protocol-era.ts'
import { sendWebResponse, webRequestOf } from './web-exchange.ts'

const SESSION_HEADER = 'mcp-session-id'
/** JSON-RPC code the SDK uses for "Session not found". */
const SESSION_NOT_FOUND = -32001
const SERVER_ERROR = -32000
const CLIENT_GONE = new DOMException('the HTTP exchange ended', 'AbortError')

/** A 2025-11-25 server: one per session, connected to that session's transport. */
export interface LegacyMcpServer {
  connect: (transport: Transport) => Promise<void>
  close: () => Promise<void>
}

/**
 * The 2026-07-28 side: answers one web Request; `caller` names it in the audit log. A POST's
 * body comes parsed as `body`, and the Request carries none (the SDK would clone, read and
 * parse it again).
 */
export interface ModernMcpService {
  fetch: (request: Request, caller: string, body?: unknown) => Promise<Response>
  close: () => Promise<void>
}

export interface McpHttpEndpointComponents {
  log: LogFn
  /** The server of a new 2025-11-25 session; `caller` names the session in logs, `scope` is the path's (see McpHttpEndpointInit.scopeOf). */
  createLegacyServer: (caller: string, scope: string | undefined) => LegacyMcpServer
  /** Serves 2026-07-28 requests and is closed with the app; without it every request is legacy. */
  modern?: ModernMcpService
  /** Builds the web Request a leg is handed (a seam for tests). */
  toWebRequest?: typeof webRequestOf
}

export interface McpHttpEndpointInit {
  path: string
  /** What part of the mesh a request's path addresses (e.g. one agent); a session keeps the scope it was opened in. */
  scopeOf?: (req: FastifyRequest) => string | undefined
  /** Browser origins allowed besides localhost. */
  allowedOrigins: readonly string[]
  authorize: McpAuthGuard
  maxRequestBytes: number
  maxSessions: number
  /** A session with no request for this long (and none open) is closed. */
  sessionIdleMs: number
}

interface Session {
  id: string
  caller: string
  scope: string | undefined
  server: LegacyMcpServer
  transport: WebStandardStreamableHTTPServerTransport
}

function rpcErrorBody (code: number, message: string): { jsonrpc: '2.0', id: null, error: { code: number, message: string } } {
  return { jsonrpc: '2.0', id: null, error: { code, message } }
}

export function sendRpcError (reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.status(status).header('content-type', 'application/json').send(rpcErrorBody(code, message))
}

/** After a hijacked reply failed: a 500 if nothing was sent yet, else the half-sent answer is cut off. */
function failRaw (res: ServerResponse): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.destroy()
    return
  }
  res.writeHead(500, { 'content-type': 'application/json' })
  res.end(JSON.stringify(rpcErrorBody(ErrorCode.InternalError, 'Internal error')))
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

/** Registers POST/GET/DELETE `init.path` in its own encapsulated plugin (own JSON parser, body limit and error handler). */
export async function registerMcpHttpEndpoint (app: FastifyInstance, components: McpHttpEndpointComponents, init: McpHttpEndpointInit): Promise<void> {
  const { log, modern } = components
  const toWebRequest = components.toWebRequest ?? webRequestOf
  const sessions = new McpSessionTable<Session>({
    maxSessions: init.maxSessions,
    idleMs: init.sessionIdleMs,
    log,
    close: async (session, reason) => {
      log('info', 'mcp session closed', { caller: session.caller, reason })
      await session.server.close()
    }
  })
  let modernOpen = modern !== undefined
  const closeAll = async (): Promise<void> => {
    await sessions.closeAll('shutdown')
    if (modern !== undefined && modernOpen) {
      modernOpen = false
      await modern.close()
    }
  }
  // Before the HTTP server closes: open SSE streams would otherwise keep it from closing.
  app.addHook('preClose', closeAll)
  app.addHook('onClose', closeAll)

  /** Takes the reply over and builds the web Request a leg is handed; its signal aborts when the client goes away. */
  const exchange = (req: FastifyRequest, reply: FastifyReply, body: string | undefined): Request => {
    const gone = new AbortController()
    // The response closes after every request, not only when a client vanishes: one shared
    // reason spares a DOMException (and its stack capture) per request.
    reply.raw.once('close', () => { gone.abort(CLIENT_GONE) })
    const web = toWebRequest(req.method, req.url, req.headers, body, gone.signal)
    reply.hijack()
    return web
  }

  /**
   * Hands the request to the session's transport; the reply is the transport's from here on.
   * A POST's body was parsed already and is passed as such, so the web Request carries none.
   */
  const handOver = async (session: Session, req: FastifyRequest, reply: FastifyReply, body?: unknown): Promise<void> => {
    sessions.track(session.id, reply.raw)
    const web = exchange(req, reply, undefined)
    try {
      const response = await session.transport.handleRequest(web, body === undefined ? undefined : { parsedBody: body })
      await sendWebResponse(reply.raw, response)
    } catch (err) {
      log('error', 'mcp request failed', { caller: session.caller, error: (err as Error).message })
      failRaw(reply.raw)
    }
  }

  /** Hands a modern request to the stateless service; its signal aborts when the client goes away. */
  const serveModern = async (service: ModernMcpService, req: FastifyRequest, reply: FastifyReply, body: unknown): Promise<void> => {
    const web = exchange(req, reply, undefined)
    const caller = `mcp:modern@${req.ip}`
    try {
      await sendWebResponse(reply.raw, await service.fetch(web, caller, body))
    } catch (err) {
      log('error', 'mcp request failed', { caller, error: (err as Error).message })
      failRaw(reply.raw)
    }
  }

  const openSession = async (req: FastifyRequest): Promise<Session> => {
    const id = randomUUID()
    const caller = `mcp:${id.slice(0, 8)}@${req.ip}`
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: () => id, maxRequestBodySize: init.maxRequestBytes })
    const scope = init.scopeOf?.(req)
    const session: Session = { id, caller, scope, server: components.createLegacyServer(caller, scope), transport }
    // Chained by the SDK's connect: runs however the transport ends (DELETE, sweeper, shutdown).
    transport.onclose = () => { void sessions.close(id, 'closed') }
    transport.onerror = (err) => { log('debug', 'mcp transport error', { caller, error: err.message }) }
    // Counted before the first await, so initializes that arrive together cannot overshoot maxSessions.
    sessions.add(id, session)
    try {
      await session.server.connect(transport)
    } catch (err) {
      await sessions.close(id, 'not connected')
      throw err
    }
    return session
  }

  /** The session a GET/DELETE/non-initialize POST names, or the reply refusing it. */
  const existingSession = (req: FastifyRequest, reply: FastifyReply): Session | undefined => {
    const id = sessionHeader(req)
    if (id === undefined) {
      sendRpcError(reply, 400, SERVER_ERROR, 'Bad Request: Mcp-Session-Id header is required')
      return undefined
    }
    const session = sessions.get(id)
    // A session belongs to the path it was opened on: another agent's path does not know it.
    if (session === undefined || session.scope !== init.scopeOf?.(req)) {
      sendRpcError(reply, 404, SESSION_NOT_FOUND, 'Session not found')
      return undefined
    }
    return session
  }

  /** A legacy POST: `initialize` opens a session, anything else goes to the one it names. */
  const serveLegacyPost = async (req: FastifyRequest, reply: FastifyReply, message: unknown): Promise<FastifyReply | undefined> => {
    if (sessionHeader(req) !== undefined) {
      const session = existingSession(req, reply)
      if (session === undefined) return reply
      await handOver(session, req, reply, message)
      return undefined
    }
    if (!isInitialize(message)) return sendRpcError(reply, 400, SERVER_ERROR, 'Bad Request: No valid session ID provided')
    if (sessions.full()) {
      log('warn', 'mcp session refused', { reason: 'too many sessions', limit: init.maxSessions, ip: req.ip })
      void reply.header('retry-after', '30')
      return sendRpcError(reply, 503, SERVER_ERROR, `Service Unavailable: too many MCP sessions (limit ${init.maxSessions})`)
    }
    const session = await openSession(req)
    await handOver(session, req, reply, message)
    if (session.transport.sessionId === undefined) {
      // The transport refused the initialize (e.g. wrong Accept header): nothing to keep.
      await sessions.close(session.id, 'not initialized')
    } else {
      log('info', 'mcp session opened', { caller: session.caller })
    }
    return undefined
  }

  await app.register((mcp, _opts, done) => {
    mcp.removeAllContentTypeParsers()
    mcp.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: init.maxRequestBytes }, (_req, body, done) => {
      done(null, body)
    })

    mcp.setErrorHandler((err: FastifyError, _req, reply) => {
      switch (err.code) {
        case 'FST_ERR_CTP_BODY_TOO_LARGE':
          return sendRpcError(reply, 413, ErrorCode.InvalidRequest, `Request body too large: the limit is ${init.maxRequestBytes} bytes`)
        case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
          return sendRpcError(reply, 415, SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json')
        case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
          return sendRpcError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: body length does not match Content-Length')
      }
      const status = err.statusCode ?? 500
      if (status >= 500) {
        log('error', 'mcp endpoint failed', { error: err.message })
        return sendRpcError(reply, 500, ErrorCode.InternalError, 'Internal error')
      }
      return sendRpcError(reply, status, ErrorCode.InvalidRequest, err.message)
    })

    // Origin, then auth: before the body is read.
    mcp.addHook('onRequest', async (req, reply) => {
      const origin = req.headers.origin
      if (!originAllowed(origin, init.allowedOrigins)) {
        log('warn', 'mcp request refused', { reason: 'origin', origin, ip: req.ip })
        return sendRpcError(reply, 403, SERVER_ERROR, `Forbidden: origin ${String(origin)} not allowed`)
      }
      const refused = init.authorize(req.headers)
      if (refused !== undefined) {
        log('warn', 'mcp request refused', { reason: refused.reason, ip: req.ip })
        if (refused.challenge !== undefined) void reply.header('www-authenticate', refused.challenge)
        return sendRpcError(reply, 401, SERVER_ERROR, refused.message)
      }
      return undefined
    })

    mcp.post(init.path, { bodyLimit: init.maxRequestBytes }, async (req, reply) => {
      if (typeof req.body !== 'string') return sendRpcError(reply, 415, SERVER_ERROR, 'Unsupported Media Type: Content-Type must be application/json')
      let message: unknown
      try {
        message = JSON.parse(req.body)
      } catch (err) {
        return sendRpcError(reply, 400, ErrorCode.ParseError, `Parse error: ${(err as Error).message}`)
      }
      if (!isJsonRpcPayload(message)) return sendRpcError(reply, 400, ErrorCode.InvalidRequest, 'Invalid Request: not a JSON-RPC 2.0 message or batch')
      if (modern !== undefined && !isLegacyPost(req.headers, message)) {
        await serveModern(modern, req, reply, message)
        return undefined
      }
      return await serveLegacyPost(req, reply, message)
    })

    const serveSession = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
      const session = existingSession(req, reply)
      if (session === undefined) return reply
      await handOver(session, req, reply)
      return undefined
    }
    // The GET stream and DELETE are 2025-11-25 only (the SDK classifies them legacy too).
    mcp.get(init.path, serveSession)
    mcp.delete(init.path, serveSession)
    done()
  })
}
