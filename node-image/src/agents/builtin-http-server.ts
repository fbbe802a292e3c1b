/**
 * Serves a built-in agent (or any Server factory) over MCP Streamable HTTP:
 * stateful sessions keyed by mcp-session-id, one Server per session. A real
 * remote MCP server for tests, benchmarks and `dawn-node agent serve --http`.
 * Before a session is looked up, requests pass the Origin check (DNS-rebinding
 * defence) and the required headers; bodies are capped, sessions are bounded
 * and closed when idle, as on the node's own `/mcp`.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { LogFn } from '../logging/json-logger.ts'
import { silentLogger } from '../logging/json-logger.ts'
import { secretsEqual } from '../identity/constant-time.ts'
import { originAllowed } from './mcp-http-origin.ts'
import { McpSessionTable } from './mcp-http-sessions.ts'
import { createBuiltinSpec } from './builtin/index.ts'
import type { MeshFacade } from './builtin/mesh.ts'
import { defineServer } from './define-server.ts'
import type { LowLevelServer } from './define-server.ts'

export interface McpHttpOptions {
  host: string
  port: number
  /** Every header here must be sent with exactly this value, or the request gets 401. */
  requiredHeaders?: Record<string, string>
  /** Browser origins allowed besides localhost; any other Origin gets 403. */
  allowedOrigins?: string[]
  /** Sessions open at once; more initialize requests get 503. Default 1024. */
  maxSessions?: number
  /** A session with no request for this long, and none open, is closed. Default 15 minutes. */
  sessionIdleMs?: number
  /** Largest request body; larger ones get 413. Default 4 MiB. */
  maxRequestBytes?: number
  log?: LogFn
}

/** The node's `/mcp` defaults (mcp.maxSessions, mcp.sessionIdleSeconds, mcp.maxRequestBytes). */
export const MCP_HTTP_DEFAULTS = { maxSessions: 1024, sessionIdleMs: 15 * 60_000, maxRequestBytes: 4 * 1024 * 1024 } as const

export interface BuiltinHttpOptions extends McpHttpOptions {
  dataDir: string
  /** Agent id the built-in runs as (its data lives under it); defaults to the built-in's name. */
  agentId?: string
  settings?: Record<string, unknown>
  mesh?: MeshFacade
}

export interface McpHttpServer {
  /** The MCP endpoint, e.g. http://127.0.0.1:41234/mcp */
  url: string
  close: () => Promise<void>
}

export const MCP_PATH = '/mcp'

interface Session {
  transport: StreamableHTTPServerTransport
  server: LowLevelServer
}

function sendJsonError (res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }))
}

function sameSecret (given: string | string[] | undefined, expected: string): boolean {
  return typeof given === 'string' && secretsEqual(given, expected)
}

/** Serves `createMcpServer()` (called once per session) at `<host>:<port>/mcp`. */
export async function serveMcpHttp (createMcpServer: () => LowLevelServer, opts: McpHttpOptions): Promise<McpHttpServer> {
  const log = opts.log ?? silentLogger
  const allowedOrigins = opts.allowedOrigins ?? []
  const maxRequestBytes = opts.maxRequestBytes ?? MCP_HTTP_DEFAULTS.maxRequestBytes
  const required = Object.entries(opts.requiredHeaders ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const)
  const sessions = new McpSessionTable<Session>({
    maxSessions: opts.maxSessions ?? MCP_HTTP_DEFAULTS.maxSessions,
    idleMs: opts.sessionIdleMs ?? MCP_HTTP_DEFAULTS.sessionIdleMs,
    log,
    close: async (session, reason) => {
      log('debug', 'MCP session closed', { reason })
      await session.server.close()
    }
  })

  // Every header is compared, even after a mismatch, so the time taken does not tell which one was wrong.
  const authorized = (req: IncomingMessage): boolean => required.map(([name, value]) => sameSecret(req.headers[name], value)).every(Boolean)

  const newSession = async (): Promise<{ id: string, session: Session }> => {
    const id = randomUUID()
    const server = createMcpServer()
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => id, maxRequestBodySize: maxRequestBytes })
    const session: Session = { transport, server }
    // Chained by the SDK's connect: runs however the transport ends (DELETE, idle, shutdown).
    transport.onclose = () => { void sessions.close(id, 'closed') }
    // Counted before the first await, so concurrent initializes cannot overshoot maxSessions.
    sessions.add(id, session)
    try {
      await server.connect(transport)
    } catch (err) {
      await sessions.close(id, 'not connected')
      throw err
    }
    return { id, session }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== MCP_PATH) {
      sendJsonError(res, 404, `not found; the MCP endpoint is ${MCP_PATH}`)
      return
    }
    const origin = req.headers.origin
    if (!originAllowed(origin, allowedOrigins)) {
      log('warn', 'MCP request refused', { reason: 'origin', origin })
      sendJsonError(res, 403, `forbidden: origin ${String(origin)} not allowed`)
      return
    }
    if (!authorized(req)) {
      sendJsonError(res, 401, 'unauthorized')
      return
    }
    const id = req.headers['mcp-session-id']
    if (typeof id === 'string') {
      const session = sessions.get(id)
      if (session === undefined) {
        sendJsonError(res, 404, 'session not found')
        return
      }
      sessions.track(id, res)
      await session.transport.handleRequest(req, res)
      return
    }
    if (req.method !== 'POST') {
      sendJsonError(res, 400, 'mcp-session-id header required')
      return
    }
    if (sessions.full()) {
      res.setHeader('retry-after', '30')
      sendJsonError(res, 503, 'too many sessions')
      return
    }
    const created = await newSession()
    sessions.track(created.id, res)
    await created.session.transport.handleRequest(req, res)
    // Not an initialize request (or refused): the transport answered 400 and the session never started.
    if (created.session.transport.sessionId === undefined) await sessions.close(created.id, 'not initialized')
  }

  const http = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log('warn', 'MCP HTTP request failed', { error: err instanceof Error ? err.message : String(err) })
      if (!res.headersSent) sendJsonError(res, 500, 'internal error')
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(opts.port, opts.host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  const { address, port } = http.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${port}${MCP_PATH}`,
    close: async () => {
      closing ??= (async () => {
        await sessions.closeAll('shutdown')
        await new Promise<void>((resolve) => {
          http.close(() => { resolve() })
          http.closeAllConnections()
        })
      })()
      await closing
    }
  }
}

/** Serves built-in `name` over Streamable HTTP; all sessions share one instance (e.g. one notes store). */
export async function serveBuiltinHttp (name: string, opts: BuiltinHttpOptions): Promise<McpHttpServer> {
  const log = opts.log ?? silentLogger
  const spec = createBuiltinSpec(name, {
    agentId: opts.agentId ?? name,
    dataDir: opts.dataDir,
    log,
    ...(opts.mesh === undefined ? {} : { mesh: opts.mesh })
  }, opts.settings)
  return await serveMcpHttp(() => defineServer(spec), opts)
}
