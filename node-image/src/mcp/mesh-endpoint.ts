/**
 * The node's mesh-wide MCP endpoint at `/mcp`: the shared MCP HTTP endpoint with the mesh's
 * servers behind it. 2025-11-25 sessions each get a {@link createMeshMcpServer}; 2026-07-28
 * requests go to one {@link createModernMcpHandler}. A token, when set, is a bearer token.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { createMeshMcpServer, type MeshMcpServerComponents } from './legacy-mcp-server.ts'
import { bearerGuard } from './http-auth.ts'
import { registerMcpHttpEndpoint } from './http-endpoint.ts'
import { createModernMcpHandler } from './modern-mcp-handler.ts'

export const MCP_PATH = '/mcp'

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

/** Requests the endpoint answers itself, token included (in JSON-RPC, and for its GET stream too). */
export function isMcpRequest (req: FastifyRequest): boolean {
  const route = req.routeOptions.url
  return route === MCP_PATH || route?.startsWith(`${MCP_PATH}/`) === true
}

export async function registerMcpEndpoint (app: FastifyInstance, components: MeshMcpServerComponents, init: McpEndpointInit): Promise<void> {
  if (init.token === '') throw new McpEndpointConfigError('the MCP bearer token is empty')
  await registerMcpHttpEndpoint(app, {
    log: components.log,
    createLegacyServer: (caller) => createMeshMcpServer(components, { timeoutMs: init.timeoutMs, caller }),
    modern: createModernMcpHandler(components, { timeoutMs: init.timeoutMs })
  }, {
    path: MCP_PATH,
    allowedOrigins: init.allowedOrigins,
    authorize: bearerGuard(init.token),
    maxRequestBytes: init.maxRequestBytes,
    maxSessions: init.maxSessions,
    sessionIdleMs: init.sessionIdleSeconds * 1000
  })
}
