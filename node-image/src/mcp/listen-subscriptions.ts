/**
 * 2026-07-28 `subscriptions/listen` with `resourceSubscriptions`: the SDK serves the stream and
 * its filter; this subscribes at each agent on the listener's behalf, for as long as the stream
 * lasts, and publishes the agents' updates under their mesh URIs. The agent side is a caller
 * session (SESSION_OPS) per agent, exactly as for a 2025-11-25 client's subscriptions.
 */
import type { LogFn } from '../logging/json-logger.ts'
import { AgentFailedError } from '../routing/errors.ts'
import { meshResourceUri, parseMeshResourceUri } from '../routing/tool-names.ts'
import type { MeshCaller } from '../routing/types.ts'
import { SessionLinks } from './session-links.ts'

export interface ListenSubscriptionsComponents {
  caller: MeshCaller
  log: LogFn
  /** Publishes an update to the listen streams that asked for this mesh URI. */
  updated: (meshUri: string) => void
}

/** More URIs than this in one listen request are not followed at the agents. */
const MAX_URIS = 256

/** Follows one listen request's resource subscriptions (`body`, parsed) until `request.signal` aborts (the stream ended). */
export async function followListen (request: Request, body: unknown, components: ListenSubscriptionsComponents): Promise<void> {
  if (request.method !== 'POST' || request.headers.get('mcp-method') !== 'subscriptions/listen') return
  const uris = subscribedUris(body)
  if (uris.length === 0 || request.signal.aborted) return
  const { caller, log, updated } = components
  const links = new SessionLinks({
    caller,
    log,
    context: () => ({ capabilities: {} }),
    deliver: (target, event) => {
      if (event.method === 'notifications/resources/updated') updated(meshResourceUri(target.nodeId, target.agentId, event.params.uri))
    },
    ask: async () => await Promise.reject(new AgentFailedError('a listen stream cannot be asked anything'))
  })
  request.signal.addEventListener('abort', () => { links.close() }, { once: true })
  await Promise.all(uris.map(async (meshUri) => {
    const parsed = parseMeshResourceUri(meshUri)
    if (parsed === undefined) return
    await links.subscribe({ nodeId: parsed.nodeId, agentId: parsed.agentId }, parsed.uri, true, request.signal).catch((err: unknown) => {
      log('debug', 'listen subscription not made at the agent', { uri: meshUri, error: (err as Error).message })
    })
  }))
}

function subscribedUris (body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return []
  const params = (body as { params?: unknown }).params
  const notifications = typeof params === 'object' && params !== null ? (params as { notifications?: unknown }).notifications : undefined
  const uris = typeof notifications === 'object' && notifications !== null ? (notifications as { resourceSubscriptions?: unknown }).resourceSubscriptions : undefined
  return Array.isArray(uris) ? uris.filter((u): u is string => typeof u === 'string').slice(0, MAX_URIS) : []
}
