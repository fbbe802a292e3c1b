/**
 * The 2025-11-25 face of the mesh's MCP endpoint: one v2 SDK server per client session, with
 * the mesh's methods ({@link registerMeshHandlers}) plus what only sessions have:
 * `logging/setLevel`, `resources/subscribe`/`unsubscribe`, agents' questions asked as
 * server→client requests, and list_changed / `resources/updated` sent to the session.
 */
import { ProtocolError, type Notification, type ServerContext } from '@modelcontextprotocol/server'
import type { InputRequest } from '../agents/input-rounds.ts'
import { SessionLinks } from './session-links.ts'
import { ToolCallError } from '../routing/errors.ts'
import type { CallContext, LogLevel } from '../routing/types.ts'
import { headerOf, newMeshServer, registerMeshHandlers, type MeshServer } from './mesh-handlers.ts'
import { createMeshRequests, type MeshMcpServerComponents, type MeshRequestsInit, type RequestExtra } from './mesh-requests.ts'

export { MESH_SERVER_NAME, TIMEOUT_META_KEY, type MeshCatalog, type MeshMcpServerComponents } from './mesh-requests.ts'

export interface MeshMcpServerInit extends MeshRequestsInit {
  /** How long catalog changes are gathered before list_changed is sent. */
  listChangedDebounceMs?: number
}

const INVALID_PARAMS = -32602
const INTERNAL_ERROR = -32603

/** How long a 2025-11-25 client may take to answer an agent's question (the SDK's legacy shim allows 10 minutes). */
const ASK_TIMEOUT_MS = 10 * 60 * 1000

interface LegacySession {
  capabilities: () => Record<string, unknown>
  logLevel: () => LogLevel | undefined
  links: SessionLinks
}

/** A 2025-11-25 request: capabilities from the session's initialize, the level from logging/setLevel. */
function extraOf (ctx: ServerContext, session: LegacySession): RequestExtra {
  const progressToken = ctx.mcpReq._meta?.progressToken
  const logLevel = session.logLevel()
  const context: CallContext = {
    capabilities: session.capabilities(),
    ...(logLevel === undefined ? {} : { logLevel }),
    ...(typeof progressToken === 'string' || typeof progressToken === 'number' ? { progress: true } : {})
  }
  return {
    signal: ctx.mcpReq.signal,
    header: headerOf(ctx),
    context,
    session: session.links,
    // On this request's own stream, as the request's related messages.
    notify: (event) => {
      const notification = event.method === 'notifications/progress'
        ? { method: event.method, params: { ...event.params, progressToken: progressToken as string | number } }
        : event
      ctx.mcpReq.notify(notification as Notification).catch(() => {})
    },
    ask: async (request: InputRequest, signal: AbortSignal) => await ctx.mcpReq.send({ method: request.method, params: request.params ?? {} }, { signal, timeout: ASK_TIMEOUT_MS })
  }
}

export type MeshMcpServer = MeshServer

/** Builds the MCP server for one session. It unsubscribes from the catalog when it closes (it owns `server.onclose`). */
export function createMeshMcpServer (components: MeshMcpServerComponents, init: MeshMcpServerInit): MeshMcpServer {
  const { catalog, log } = components
  const mesh = createMeshRequests(components, init)
  const server = newMeshServer(mesh.instructions())
  // The session's level: agents send nothing until the client asks (MCP's rule in both revisions).
  let logLevel: LogLevel | undefined
  // A session's capabilities are its initialize's: the accessor is deprecated for 2026-07-28 only.
  // eslint-disable-next-line @typescript-eslint/no-deprecated
  const capabilities = (): Record<string, unknown> => ({ ...(server.getClientCapabilities() ?? {}) })
  const links = new SessionLinks({
    caller: components.caller,
    log,
    context: () => ({ capabilities: capabilities(), ...(logLevel === undefined ? {} : { logLevel }) }),
    deliver: (target, event) => {
      const sent = event.method === 'notifications/resources/updated'
        ? server.sendResourceUpdated({ uri: mesh.clientUri(target, event.params.uri) })
        : event.method === 'notifications/message'
          ? server.notification({ method: event.method, params: event.params })
          : server.notification({ method: event.method })
      sent.catch((err: unknown) => { log('debug', 'mcp session notification not sent', { method: event.method, error: (err as Error).message }) })
    },
    ask: async (request, signal) => await server.request({ method: request.method, params: request.params ?? {} }, { signal, timeout: ASK_TIMEOUT_MS })
  })
  const session: LegacySession = { capabilities, logLevel: () => logLevel, links }
  // Replaces the SDK's own handler: the level also goes to the session's agents.
  server.setRequestHandler('logging/setLevel', async (request, ctx) => {
    logLevel = request.params.level
    await links.setLevel(request.params.level, ctx.mcpReq.signal)
    return {}
  })
  const subscription = (subscribe: boolean) => async (request: { params: { uri: string } }, ctx: ServerContext): Promise<Record<string, never>> => {
    const found = mesh.subscriptionTarget(request.params.uri)
    if ('reason' in found) throw new ProtocolError(INVALID_PARAMS, `unknown resource "${request.params.uri}": ${found.reason}`)
    try {
      await links.subscribe(found.target, found.uri, subscribe, ctx.mcpReq.signal)
    } catch (err) {
      throw err instanceof ToolCallError ? new ProtocolError(INTERNAL_ERROR, err.message, { code: err.code }) : err
    }
    return {}
  }
  server.setRequestHandler('resources/subscribe', subscription(true))
  server.setRequestHandler('resources/unsubscribe', subscription(false))
  registerMeshHandlers(server, mesh, { extraOf: (ctx) => extraOf(ctx, session) })

  // list_changed: gather catalog changes for a moment, then tell the client about the lists that really changed.
  let shown = mesh.keys()
  let timer: NodeJS.Timeout | undefined
  const notify = (): void => {
    timer = undefined
    if (server.transport === undefined) return
    const keys = mesh.keys()
    const sends: Array<[string, () => Promise<void>]> = []
    if (keys.tools !== shown.tools) sends.push(['tools', async () => { await server.sendToolListChanged() }])
    if (keys.prompts !== shown.prompts) sends.push(['prompts', async () => { await server.sendPromptListChanged() }])
    if (keys.resources !== shown.resources) sends.push(['resources', async () => { await server.sendResourceListChanged() }])
    shown = keys
    for (const [list, send] of sends) {
      send().catch((err: unknown) => { log('debug', 'mcp list_changed not sent', { list, error: (err as Error).message }) })
    }
  }
  const unsubscribe = catalog.onChange(() => {
    if (timer !== undefined) return
    timer = setTimeout(notify, init.listChangedDebounceMs ?? 100)
    timer.unref()
  })
  server.onclose = () => {
    links.close()
    unsubscribe()
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  return server
}
