/**
 * Serves a built-in agent (or any Server factory) over MCP Streamable HTTP:
 * stateful sessions keyed by mcp-session-id, one Server per session. A real
 * remote MCP server for tests, benchmarks and `dawn-node agent serve --http`.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { LogFn } from '../logging/json-logger.ts'
import { silentLogger } from '../logging/json-logger.ts'
import { createBuiltinSpec } from './builtin/index.ts'
import type { MeshFacade } from './builtin/mesh.ts'
import { defineServer } from './define-server.ts'
import type { LowLevelServer } from './define-server.ts'

export interface McpHttpOptions {
  host: string
  port: number
  /** Every header here must be sent with exactly this value, or the request gets 401. */
  requiredHeaders?: Record<string, string>
  /** Sessions open at once; more initialize requests get 503. */
  maxSessions?: number
  log?: LogFn
}

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
  if (typeof given !== 'string') return false
  const a = Buffer.from(given)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Serves `createMcpServer()` (called once per session) at `<host>:<port>/mcp`. */
export async function serveMcpHttp (createMcpServer: () => LowLevelServer, opts: McpHttpOptions): Promise<McpHttpServer> {
  const log = opts.log ?? silentLogger
  const maxSessions = opts.maxSessions ?? 1000
  const required = Object.entries(opts.requiredHeaders ?? {}).map(([name, value]) => [name.toLowerCase(), value] as const)
  const sessions = new Map<string, Session>()

  const authorized = (req: IncomingMessage): boolean => required.every(([name, value]) => sameSecret(req.headers[name], value))

  const newSession = async (): Promise<Session> => {
    const server = createMcpServer()
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => { sessions.set(id, session) },
      onsessionclosed: (id) => { sessions.delete(id) }
    })
    const session: Session = { transport, server }
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId)
    }
    await server.connect(transport)
    return session
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== MCP_PATH) {
      sendJsonError(res, 404, `not found; the MCP endpoint is ${MCP_PATH}`)
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
      await session.transport.handleRequest(req, res)
      return
    }
    if (req.method !== 'POST') {
      sendJsonError(res, 400, 'mcp-session-id header required')
      return
    }
    if (sessions.size >= maxSessions) {
      sendJsonError(res, 503, 'too many sessions')
      return
    }
    // Not an initialize request: the transport answers 400 and the session never starts.
    const session = await newSession()
    await session.transport.handleRequest(req, res)
    if (session.transport.sessionId === undefined) await session.server.close()
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
        const all = [...sessions.values()]
        sessions.clear()
        await Promise.all(all.map(async (s) => { await s.server.close().catch(() => {}) }))
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
