/**
 * Serves a built-in agent (or any Server factory) over MCP Streamable HTTP: a small
 * Fastify app with the node's own MCP HTTP endpoint (mcp/http-endpoint.ts) at `/mcp`,
 * both protocol revisions as on the node's `/mcp`: a Server per 2025-11-25 session, and
 * one per 2026-07-28 stateless request (the SDK's createMcpHandler). A real remote MCP
 * server for tests, benchmarks and `dawn-node agent serve --http`. Guards, body cap,
 * session cap and idle close are the endpoint's.
 */
import Fastify from 'fastify'
import type { AddressInfo } from 'node:net'
import type { LogFn } from '../logging/json-logger.ts'
import { silentLogger } from '../logging/json-logger.ts'
import { requiredHeadersGuard } from '../mcp/http-auth.ts'
import { registerMcpHttpEndpoint, sendRpcError } from '../mcp/http-endpoint.ts'
import { createStatelessService, type StatelessServiceInit } from '../mcp/stateless-service.ts'
import { createBuiltinSpec } from './builtin/index.ts'
import type { MeshFacade } from './builtin/mesh.ts'
import { defineServer, watchableResources } from './define-server.ts'
import type { LowLevelServer, ServerSpec } from './define-server.ts'

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
  /** Serve 2026-07-28 stateless requests too (default true); false leaves 2025-11-25 sessions only. */
  modern?: boolean
  /** Changes 2026-07-28 `subscriptions/listen` streams hear of (2025-11-25 sessions hear them from their own server). */
  publish?: StatelessServiceInit['publish']
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

/** Serves `createMcpServer()` (called once per session and once per stateless request) at `<host>:<port>/mcp`. */
export async function serveMcpHttp (createMcpServer: () => LowLevelServer, opts: McpHttpOptions): Promise<McpHttpServer> {
  const maxRequestBytes = opts.maxRequestBytes ?? MCP_HTTP_DEFAULTS.maxRequestBytes
  const log = opts.log ?? silentLogger
  // Closing ends every connection, as a stopped agent server should.
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: maxRequestBytes })
  app.setNotFoundHandler((_req, reply) => sendRpcError(reply, 404, -32000, `Not Found: the MCP endpoint is ${MCP_PATH}`))
  const modern = opts.modern === false
    ? undefined
    : createStatelessService(() => createMcpServer(), { log, ...(opts.publish === undefined ? {} : { publish: opts.publish }) })
  await registerMcpHttpEndpoint(app, { log, createLegacyServer: () => createMcpServer(), ...(modern === undefined ? {} : { modern }) }, {
    path: MCP_PATH,
    allowedOrigins: opts.allowedOrigins ?? [],
    authorize: requiredHeadersGuard(opts.requiredHeaders ?? {}),
    maxRequestBytes,
    maxSessions: opts.maxSessions ?? MCP_HTTP_DEFAULTS.maxSessions,
    sessionIdleMs: opts.sessionIdleMs ?? MCP_HTTP_DEFAULTS.sessionIdleMs
  })
  try {
    await app.listen({ host: opts.host, port: opts.port })
  } catch (err) {
    // Closing the app closes the modern service too (the endpoint's onClose hook).
    await app.close()
    throw err
  }
  const { address, port } = app.server.address() as AddressInfo
  const host = address.includes(':') ? `[${address}]` : address
  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${port}${MCP_PATH}`,
    close: async () => {
      closing ??= app.close()
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
  return await serveSpecHttp(spec, opts)
}

/**
 * Serves a spec's servers. Its watchable resources are watched for as long as it serves, so
 * 2026-07-28 listen streams hear of their updates (sessions subscribe on their own server).
 */
export async function serveSpecHttp (spec: ServerSpec, opts: McpHttpOptions): Promise<McpHttpServer> {
  const watched = watchableResources(spec)
  return await serveMcpHttp(() => defineServer(spec), {
    ...opts,
    publish: (notify) => {
      const stops = watched.map((resource) => resource.watch?.(() => { notify.resourceUpdated(resource.uri) }))
      return () => { for (const stop of stops) stop?.() }
    }
  })
}
