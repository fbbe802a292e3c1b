/**
 * The 2025-11-25 face of the mesh's MCP endpoint: one v1 SDK server per client session, answering
 * from {@link createMeshRequests} and telling its session when the lists change.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListRootsResultSchema,
  SetLevelRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema
} from '@modelcontextprotocol/sdk/types.js'
import type { CallToolResult, IsomorphicHeaders, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js'
import type { InputRequest } from '../agents/input-rounds.ts'
import { SessionLinks } from './session-links.ts'
import { ToolCallError } from '../routing/errors.ts'
import { meshResourceUri, parseMeshResourceUri } from '../routing/tool-names.ts'
import type { CallContext, LogLevel } from '../routing/types.ts'
import { VERSION } from '../version.ts'
import {
  createMeshRequests, MESH_CAPABILITIES, MESH_INSTRUCTIONS, MESH_SERVER_NAME, MeshRequestError,
  type MeshMcpServerComponents, type MeshRequestsInit, type RequestExtra
} from './mesh-requests.ts'

export { MESH_SERVER_NAME, TIMEOUT_META_KEY, type MeshCatalog, type MeshMcpServerComponents } from './mesh-requests.ts'

export interface MeshMcpServerInit extends MeshRequestsInit {
  /** How long catalog changes are gathered before list_changed is sent. */
  listChangedDebounceMs?: number
}

interface V1Extra {
  signal: AbortSignal
  requestInfo?: { headers: IsomorphicHeaders }
  sendNotification: (notification: ServerNotification) => Promise<void>
  sendRequest: (request: ServerRequest, schema: typeof ElicitResultSchema | typeof CreateMessageResultSchema | typeof ListRootsResultSchema, options?: { signal?: AbortSignal, timeout?: number }) => Promise<unknown>
}

const INVALID_PARAMS = -32602
const INTERNAL_ERROR = -32603

/** How long a 2025-11-25 client may take to answer an agent's question (the SDK's legacy shim allows 10 minutes). */
const ASK_TIMEOUT_MS = 10 * 60 * 1000

const ANSWER_SCHEMAS = {
  'elicitation/create': ElicitResultSchema,
  'sampling/createMessage': CreateMessageResultSchema,
  'roots/list': ListRootsResultSchema
} as const

interface LegacySession {
  capabilities: () => Record<string, unknown>
  logLevel: () => LogLevel | undefined
  links: SessionLinks
}

/** A 2025-11-25 request: capabilities from the session's initialize, the level from logging/setLevel. */
function extraOf (extra: V1Extra, session: LegacySession, meta: Record<string, unknown> | undefined): RequestExtra {
  const progressToken = meta?.progressToken
  const logLevel = session.logLevel()
  const context: CallContext = {
    capabilities: session.capabilities(),
    ...(logLevel === undefined ? {} : { logLevel }),
    ...(typeof progressToken === 'string' || typeof progressToken === 'number' ? { progress: true } : {})
  }
  return {
    signal: extra.signal,
    header: (name) => {
      const value = extra.requestInfo?.headers[name]
      return Array.isArray(value) ? value[0] : value
    },
    context,
    session: session.links,
    notify: (event) => {
      const notification = event.method === 'notifications/progress'
        ? { method: event.method, params: { ...event.params, progressToken: progressToken as string | number } }
        : event
      extra.sendNotification(notification as ServerNotification).catch(() => {})
    },
    ask: async (request: InputRequest, signal: AbortSignal) => {
      const answer = await extra.sendRequest({ method: request.method, params: request.params ?? {} } as ServerRequest, ANSWER_SCHEMAS[request.method], { signal, timeout: ASK_TIMEOUT_MS })
      return answer as Record<string, unknown>
    }
  }
}

/** The v1 SDK's own error class, so legacy clients see the messages they always saw. */
async function v1Errors<T> (run: () => T | Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (err) {
    if (err instanceof MeshRequestError) throw new McpError(err.code, err.message, err.data)
    throw err
  }
}

/**
 * The SDK's low-level server: the mesh's lists change at run time and are served whole,
 * which McpServer's register-each-tool API does not model.
 */
export type MeshMcpServer = Server // eslint-disable-line @typescript-eslint/no-deprecated -- deliberate, see above

/** Builds the MCP server for one session. It unsubscribes from the catalog when it closes (it owns `server.onclose`). */
export function createMeshMcpServer (components: MeshMcpServerComponents, init: MeshMcpServerInit): MeshMcpServer {
  const { catalog, log } = components
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see MeshMcpServer
  const server: MeshMcpServer = new Server({ name: MESH_SERVER_NAME, version: VERSION }, {
    capabilities: MESH_CAPABILITIES,
    instructions: MESH_INSTRUCTIONS
  })
  const mesh = createMeshRequests(components, init)
  // The session's level: agents send nothing until the client asks (MCP's rule in both revisions).
  let logLevel: LogLevel | undefined
  const capabilities = (): Record<string, unknown> => ({ ...(server.getClientCapabilities() ?? {}) })
  const links = new SessionLinks({
    caller: components.caller,
    log,
    context: () => ({ capabilities: capabilities(), ...(logLevel === undefined ? {} : { logLevel }) }),
    deliver: (target, event) => {
      const sent = event.method === 'notifications/resources/updated'
        ? server.sendResourceUpdated({ uri: meshResourceUri(target.nodeId, target.agentId, event.params.uri) })
        : event.method === 'notifications/message'
          ? server.notification({ method: event.method, params: event.params })
          : server.notification({ method: event.method })
      sent.catch((err: unknown) => { log('debug', 'mcp session notification not sent', { method: event.method, error: (err as Error).message }) })
    },
    ask: async (request, signal) => await server.request({ method: request.method, params: request.params ?? {} }, ANSWER_SCHEMAS[request.method], { signal, timeout: ASK_TIMEOUT_MS })
  })
  const session: LegacySession = { capabilities, logLevel: () => logLevel, links }
  server.setRequestHandler(SetLevelRequestSchema, async (request, extra) => {
    logLevel = request.params.level
    await links.setLevel(request.params.level, extra.signal)
    return {}
  })
  const subscription = (subscribe: boolean) => async (request: { params: { uri: string } }, extra: { signal: AbortSignal }): Promise<Record<string, never>> => {
    const parsed = parseMeshResourceUri(request.params.uri)
    if (parsed === undefined) throw new McpError(INVALID_PARAMS, `unknown resource "${request.params.uri}": not a dawn://<nodeId>/<agentId>/<encoded URI> resource URI`)
    await v1Errors(async () => {
      try {
        await links.subscribe({ nodeId: parsed.nodeId, agentId: parsed.agentId }, parsed.uri, subscribe, extra.signal)
      } catch (err) {
        throw err instanceof ToolCallError ? new MeshRequestError(INTERNAL_ERROR, err.message, { code: err.code }) : err
      }
    })
    return {}
  }
  server.setRequestHandler(SubscribeRequestSchema, subscription(true))
  server.setRequestHandler(UnsubscribeRequestSchema, subscription(false))

  server.setRequestHandler(ListToolsRequestSchema, async (request) => await v1Errors(() => mesh.listTools(request.params)))
  server.setRequestHandler(ListPromptsRequestSchema, async (request) => await v1Errors(() => mesh.listPrompts(request.params)))
  server.setRequestHandler(ListResourcesRequestSchema, async (request) => await v1Errors(() => mesh.listResources(request.params)))
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async (request) => await v1Errors(() => mesh.listResourceTemplates(request.params)))
  server.setRequestHandler(CompleteRequestSchema, async (request, extra) =>
    await v1Errors(async () => await mesh.complete(request.params, extraOf(extra, session, request.params._meta))))
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) =>
    await v1Errors(async () => await mesh.callTool(request.params, extraOf(extra, session, request.params._meta)) as CallToolResult))
  server.setRequestHandler(GetPromptRequestSchema, async (request, extra) =>
    await v1Errors(async () => await mesh.getPrompt(request.params, extraOf(extra, session, request.params._meta))))
  server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) =>
    await v1Errors(async () => await mesh.readResource(request.params, extraOf(extra, session, request.params._meta))))

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
