/**
 * The 2026-07-28 face of the mesh's MCP endpoint: stateless, one v2 SDK server per request
 * (the SDK's `createMcpHandler`), answering from {@link createMeshRequests}. Any node answers
 * any request the same, since every node sees the same catalog. `server/discover`, the
 * header checks and the era's error codes are the SDK's.
 */
import { createMcpHandler, type McpRequestContext, type ServerContext } from '@modelcontextprotocol/server'
import { followListen } from './listen-subscriptions.ts'
import { LOG_LEVELS } from '../routing/types.ts'
import { headerOf, newMeshServer, registerMeshHandlers, type MeshServer } from './mesh-handlers.ts'
import {
  createMeshRequests, type ListKeys, type MeshMcpServerComponents, type RequestExtra, type RetryParams
} from './mesh-requests.ts'
import { isRecord } from '../validation/is-record.ts'

export interface ModernMcpHandlerInit {
  /** Longest a routed call may take; a client may ask for less with `_meta['dawn/timeoutMs']`. */
  timeoutMs: number
  /** How long catalog changes are gathered before list_changed goes to `subscriptions/listen` streams. */
  listChangedDebounceMs?: number
  /** Most items per list page (default MESH_PAGE_SIZE). */
  pageSize?: number
  /** The components for one request, when they depend on its path (per-agent endpoints); by default the handler's own. */
  componentsFor?: (request: Request) => MeshMcpServerComponents
}

export interface ModernMcpHandler {
  /** Answers one modern request; `caller` names it in the audit log; `body` is a POST's, parsed (see ModernMcpService). */
  fetch: (request: Request, caller: string, body?: unknown) => Promise<Response>
  /** Ends open streams and stops watching the catalog. */
  close: () => Promise<void>
}

/** What the handler needs of a 2026-07-28 request: everything comes with the request itself. */
function extraOf (ctx: ServerContext): RequestExtra {
  // The SDK checked the envelope's shape; these are its wire keys.
  const envelope: Record<string, unknown> = ctx.mcpReq.envelope ?? {}
  const capabilities = envelope['io.modelcontextprotocol/clientCapabilities']
  const level = envelope['io.modelcontextprotocol/logLevel']
  const logLevel = LOG_LEVELS.find((l) => l === level)
  const progressToken = ctx.mcpReq._meta?.progressToken
  return {
    signal: ctx.mcpReq.signal,
    header: headerOf(ctx),
    context: {
      capabilities: isRecord(capabilities) ? { ...capabilities } : {},
      ...(logLevel === undefined ? {} : { logLevel }),
      ...(progressToken === undefined ? {} : { progress: true })
    },
    // Only progress and log lines belong to a request in 2026-07-28; changes go to listen streams.
    notify: (event) => {
      if (event.method === 'notifications/progress' && progressToken !== undefined) {
        ctx.mcpReq.notify({ method: event.method, params: { ...event.params, progressToken } }).catch(() => {})
      } else if (event.method === 'notifications/message') {
        ctx.mcpReq.notify(event).catch(() => {})
      }
    }
  }
}

/** The SDK lifts the MRTR retry fields off params; the agent's node needs them back. */
function retryParams (ctx: ServerContext): RetryParams {
  const state = ctx.mcpReq.requestState()
  return {
    ...(ctx.mcpReq.inputResponses === undefined ? {} : { inputResponses: ctx.mcpReq.inputResponses }),
    ...(typeof state === 'string' ? { requestState: state } : {})
  }
}

export function createModernMcpHandler (components: MeshMcpServerComponents, init: ModernMcpHandlerInit): ModernMcpHandler {
  const { catalog, log } = components
  // The factory only sees the Request, so the caller's name rides along with it.
  const callers = new WeakMap<Request, string>()

  const factory = (ctx: McpRequestContext): MeshServer => {
    const caller = ctx.requestInfo === undefined ? undefined : callers.get(ctx.requestInfo)
    const scoped = ctx.requestInfo === undefined ? undefined : init.componentsFor?.(ctx.requestInfo)
    const mesh = createMeshRequests(scoped ?? components, {
      timeoutMs: init.timeoutMs,
      ...(caller === undefined ? {} : { caller }),
      ...(init.pageSize === undefined ? {} : { pageSize: init.pageSize })
    })
    const server = newMeshServer(mesh.instructions())
    registerMeshHandlers(server, mesh, { extraOf, retryParams })
    return server
  }

  const handler = createMcpHandler(factory, {
    legacy: 'reject',
    onerror: (err) => { log('debug', 'mcp modern request error', { error: err.message }) }
  })

  // list_changed for listen streams: one watcher for the node, not one per request.
  const watcher = createMeshRequests(components, { timeoutMs: init.timeoutMs, ...(init.pageSize === undefined ? {} : { pageSize: init.pageSize }) })
  let shown: ListKeys = watcher.keys()
  let timer: NodeJS.Timeout | undefined
  const publish = (): void => {
    timer = undefined
    const keys = watcher.keys()
    if (keys.tools !== shown.tools) handler.notify.toolsChanged()
    if (keys.prompts !== shown.prompts) handler.notify.promptsChanged()
    if (keys.resources !== shown.resources) handler.notify.resourcesChanged()
    shown = keys
  }
  const unsubscribe = catalog.onChange(() => {
    if (timer !== undefined) return
    timer = setTimeout(publish, init.listChangedDebounceMs ?? 100)
    timer.unref()
  })

  return {
    fetch: async (request, caller, body) => {
      callers.set(request, caller)
      void followListen(request, body, { caller: components.caller, log, updated: (uri) => { handler.notify.resourceUpdated(uri) } })
      return await handler.fetch(request, { parsedBody: body })
    },
    close: async () => {
      unsubscribe()
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await handler.close()
    }
  }
}
