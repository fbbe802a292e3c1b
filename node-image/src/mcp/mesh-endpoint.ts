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
import { DEFAULT_LISTING_VIEW, type ListingView } from './mesh-listing.ts'
import { LruMap } from '../p2p/lru-map.ts'
import { AGENT_ID_PATTERN } from '../registry/agent-record.ts'

export const MCP_PATH = '/mcp'
/** One logical agent under its own names: a client built for that server works through the mesh unchanged. */
export const AGENT_MCP_PATH = `${MCP_PATH}/agents/:agentId`
const AGENT_ID = new RegExp(AGENT_ID_PATTERN)
/** Per-agent views kept (each caches its listing); more agents than this are rebuilt on use. */
const MAX_AGENT_VIEWS = 1024

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

/**
 * The components of one agent's endpoint: the node's, with a view of that agent alone. A view
 * is kept per agent (and rebuilt when the node's view is reloaded), so its listing is cached.
 */
function agentScopes (components: MeshMcpServerComponents): (agentId: string) => MeshMcpServerComponents {
  const base = components.view ?? (() => DEFAULT_LISTING_VIEW)
  const scopes = new LruMap<string, { from: ListingView, view: ListingView }>(MAX_AGENT_VIEWS)
  const viewOf = (agentId: string): ListingView => {
    const from = base()
    const kept = scopes.get(agentId)
    if (kept?.from === from) return kept.view
    const view: ListingView = { naming: from.naming, toolFilters: from.toolFilters, agentId }
    scopes.set(agentId, { from, view })
    return view
  }
  return (agentId) => ({ ...components, view: () => viewOf(agentId) })
}

/** The agent id a per-agent path names; anything else is no agent (an empty listing). */
function agentIdOf (path: string): string {
  const id = decodeURIComponent(path.slice(`${MCP_PATH}/agents/`.length).split(/[/?]/)[0] ?? '')
  return AGENT_ID.test(id) ? id : ''
}

export async function registerMcpEndpoint (app: FastifyInstance, components: MeshMcpServerComponents, init: McpEndpointInit): Promise<void> {
  if (init.token === '') throw new McpEndpointConfigError('the MCP bearer token is empty')
  const http = {
    allowedOrigins: init.allowedOrigins,
    authorize: bearerGuard(init.token),
    maxRequestBytes: init.maxRequestBytes,
    maxSessions: init.maxSessions,
    sessionIdleMs: init.sessionIdleSeconds * 1000
  }
  await registerMcpHttpEndpoint(app, {
    log: components.log,
    createLegacyServer: (caller) => createMeshMcpServer(components, { timeoutMs: init.timeoutMs, caller }),
    modern: createModernMcpHandler(components, { timeoutMs: init.timeoutMs })
  }, { ...http, path: MCP_PATH })

  const scoped = agentScopes(components)
  await registerMcpHttpEndpoint(app, {
    log: components.log,
    createLegacyServer: (caller, scope) => createMeshMcpServer(scoped(scope ?? ''), { timeoutMs: init.timeoutMs, caller }),
    modern: createModernMcpHandler(components, { timeoutMs: init.timeoutMs, componentsFor: (request) => scoped(agentIdOf(new URL(request.url).pathname)) })
  }, { ...http, path: AGENT_MCP_PATH, scopeOf: (req) => agentIdOf(req.url) })
}
