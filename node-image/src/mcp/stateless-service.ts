/**
 * The 2026-07-28 leg of the MCP HTTP endpoint for a plain server factory (a built-in agent
 * served by `dawn-node agent serve --http`): the SDK's `createMcpHandler`, one server per
 * request, legacy traffic left to the endpoint's sessions. Changes the server wants
 * `subscriptions/listen` streams to hear of are published through the handler's notifier.
 */
import { createMcpHandler, type McpServerFactory, type ServerNotifier } from '@modelcontextprotocol/server'
import type { LogFn } from '../logging/json-logger.ts'
import type { ModernMcpService } from './http-endpoint.ts'

export interface StatelessServiceInit {
  log: LogFn
  /** Starts telling `notify` of changes (e.g. a watched resource's updates); returns how to stop. */
  publish?: (notify: ServerNotifier) => () => void
}

export function createStatelessService (factory: McpServerFactory, init: StatelessServiceInit): ModernMcpService {
  const { log } = init
  const handler = createMcpHandler(factory, {
    legacy: 'reject',
    onerror: (err) => { log('debug', 'mcp modern request error', { error: err.message }) }
  })
  const stop = init.publish?.(handler.notify)
  return {
    fetch: async (request, _caller, body) => await handler.fetch(request, { parsedBody: body }),
    close: async () => {
      stop?.()
      await handler.close()
    }
  }
}
