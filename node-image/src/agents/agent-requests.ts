/**
 * How one routed request runs on an agent: on the caller session's own agent session when it
 * has one, else on a session leased for the call with exactly the caller's capabilities
 * (shared when the caller can be asked nothing and wants no logs). Progress is tied to the
 * request by its token on any session.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { CallToolResultSchema, CompleteResultSchema, GetPromptResultSchema, McpError, ReadResourceResultSchema } from '@modelcontextprotocol/sdk/types.js'
import type { AgentOp } from '../routing/types.ts'
import type { CallSessions } from './call-sessions.ts'
import { canBeAsked, type AgentCallOptions } from './input-rounds.ts'

/** Long enough that the caller's AbortSignal, not the SDK, ends a call (setTimeout caps at ~24.8 days). */
export const CALL_TIMEOUT_MS = 24 * 60 * 60 * 1000

/** Every client capability a caller can have relayed through the mesh. */
export const RELAYABLE_CAPABILITIES = { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} }

interface Progress { progress: number, total?: number, message?: string }
interface RequestOptions { signal: AbortSignal, timeout: number, onprogress?: (p: Progress) => void }

export async function runAgentRequest (calls: CallSessions, op: AgentOp, params: Record<string, unknown>, signal: AbortSignal, opts: AgentCallOptions): Promise<Record<string, unknown>> {
  const { context, onEvent } = opts
  const options: RequestOptions = {
    signal,
    timeout: CALL_TIMEOUT_MS,
    ...(context?.progress === true && onEvent !== undefined
      ? { onprogress: (p: Progress) => { onEvent({ method: 'notifications/progress', params: progressOf(p) }) } }
      : {})
  }
  if (opts.dedicated !== undefined) return await requestOn(opts.dedicated.client, op, params, options)
  const capabilities = context?.capabilities ?? {}
  const shared = context?.logLevel === undefined && !canBeAsked(capabilities)
  const lease = await calls.lease(shared ? {} : capabilities, {
    ...(opts.onRequest === undefined ? {} : { onRequest: opts.onRequest }),
    ...(onEvent === undefined ? {} : { onEvent }),
    ...(context?.logLevel === undefined ? {} : { logLevel: context.logLevel })
  }, signal, shared)
  let broken = false
  try {
    if (context?.logLevel !== undefined) await lease.useLogLevel(context.logLevel, signal)
    return await requestOn(lease.client, op, params, options)
  } catch (err) {
    // A cancelled call may leave the agent mid-answer; a fresh session is cheaper than doubt.
    broken = shared ? !(err instanceof McpError) : signal.aborted || !(err instanceof McpError)
    throw err
  } finally {
    lease.release(broken)
  }
}

async function requestOn (client: Client, op: AgentOp, params: Record<string, unknown>, options: RequestOptions): Promise<Record<string, unknown>> {
  switch (op) {
    case 'tools/call': return await client.request({ method: op, params }, CallToolResultSchema, options)
    case 'resources/read': return await client.request({ method: op, params }, ReadResourceResultSchema, options)
    case 'prompts/get': return await client.request({ method: op, params }, GetPromptResultSchema, options)
    case 'completion/complete': return await client.request({ method: op, params }, CompleteResultSchema, options)
  }
}

/** Only the fields the wire carries, without the agent's token. */
function progressOf (p: Progress): Progress {
  return { progress: p.progress, ...(p.total === undefined ? {} : { total: p.total }), ...(typeof p.message === 'string' ? { message: p.message.slice(0, 4096) } : {}) }
}
