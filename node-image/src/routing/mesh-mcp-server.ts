/**
 * The 2025-11-25 face of the mesh's MCP endpoint: one v1 SDK server per client session, answering
 * from {@link createMeshRequests} and telling its session when the lists change.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListRootsResultSchema,
  SetLevelRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema
} from '@modelcontextprotocol/sdk/types.js'
import type { CallToolResult, IsomorphicHeaders, ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js'
import type { InputRequest } from '../agents/input-rounds.ts'
import type { CallContext, LogLevel } from './types.ts'
import { VERSION } from '../version.ts'
import {
  createMeshRequests, MESH_INSTRUCTIONS, MESH_SERVER_NAME, MeshRequestError,
  type MeshMcpServerComponents, type MeshRequestsInit, type RequestExtra
} from '../mcp/mesh-requests.ts'

export { MESH_SERVER_NAME, TIMEOUT_META_KEY, type MeshCatalog, type MeshMcpServerComponents } from '../mcp/mesh-requests.ts'

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

/** How long a 2025-11-25 client may take to answer an agent's question (the SDK's legacy shim allows 10 minutes). */
const ASK_TIMEOUT_MS = 10 * 60 * 1000

const ANSWER_SCHEMAS = {
  'elicitation/create': ElicitResultSchema,
  'sampling/createMessage': CreateMessageResultSchema,
  'roots/list': ListRootsResultSchema
} as const

/** A 2025-11-25 request: capabilities from the session's initialize, the level from logging/setLevel. */
function extraOf (extra: V1Extra, session: { capabilities: () => Record<string, unknown>, logLevel: () => LogLevel | undefined }, meta: Record<string, unknown> | undefined): RequestExtra {
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
async function v1Errors<T> (run: () => Promise<T>): Promise<T> {
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
    capabilities: {
      logging: {},
      tools: { listChanged: true },
      prompts: { listChanged: true },
      resources: { listChanged: true }
    },
    instructions: MESH_INSTRUCTIONS
  })
  const mesh = createMeshRequests(components, init)
  // The session's level: agents send nothing until the client asks (MCP's rule in both revisions).
  let logLevel: LogLevel | undefined
  const session = {
    capabilities: () => ({ ...(server.getClientCapabilities() ?? {}) }),
    logLevel: () => logLevel
  }
  server.setRequestHandler(SetLevelRequestSchema, (request) => {
    logLevel = request.params.level
    return {}
  })

  server.setRequestHandler(ListToolsRequestSchema, () => mesh.listTools())
  server.setRequestHandler(ListPromptsRequestSchema, () => mesh.listPrompts())
  server.setRequestHandler(ListResourcesRequestSchema, () => mesh.listResources())
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [] }))
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
    unsubscribe()
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
  }
  return server
}
