/**
 * How one routed request runs on an agent: on the caller session's own agent session when it
 * has one, else on a session leased for the call with exactly the caller's capabilities
 * (shared when the caller can be asked nothing and wants no logs). Progress is tied to the
 * request by its token on any session.
 */
import { ProtocolError, SERVER_INFO_META_KEY, type Client, type Progress } from '@modelcontextprotocol/client'
import type { AgentOp } from '../routing/types.ts'
import type { CallSessions } from './call-sessions.ts'
import { canBeAsked, type AgentCallOptions } from './input-rounds.ts'
import { isRecord } from '../validation/is-record.ts'

/** Long enough that the caller's AbortSignal, not the SDK, ends a call (setTimeout caps at ~24.8 days). */
export const CALL_TIMEOUT_MS = 24 * 60 * 60 * 1000

/** Every client capability a caller can have relayed through the mesh. */
export const RELAYABLE_CAPABILITIES = { elicitation: { form: {}, url: {} }, sampling: {}, roots: {} }

/**
 * The 2026-07-28 envelope keys: the node's Client writes them from its own state (its
 * capabilities are the caller's, see CallSessions), so none may come from the caller.
 */
const ENVELOPE_KEYS = ['protocolVersion', 'clientInfo', 'clientCapabilities', 'logLevel'].map((k) => `io.modelcontextprotocol/${k}`)
/** What a 2026-07-28 agent stamps on results that a 2025-11-25 one does not; callers get the same either way. */
const ERA_RESULT_FIELDS = ['ttlMs', 'cacheScope'] as const

interface RequestOptions { signal: AbortSignal, timeout: number, onprogress?: (p: Progress) => void }

export async function runAgentRequest (calls: CallSessions, op: AgentOp, params: Record<string, unknown>, signal: AbortSignal, opts: AgentCallOptions): Promise<Record<string, unknown>> {
  const { context, onEvent } = opts
  const options: RequestOptions = {
    signal,
    timeout: CALL_TIMEOUT_MS,
    ...(context?.progress === true && onEvent !== undefined
      ? {
          onprogress: (p: Progress) => {
            if (!isDriverProgress(p)) onEvent({ method: 'notifications/progress', params: progressOf(p) })
          }
        }
      : {})
  }
  if (opts.dedicated !== undefined) return await requestOn(opts.dedicated.client, op, withMeta(params, opts.dedicated.requestMeta()), options)
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
    return await requestOn(lease.client, op, withMeta(params, lease.requestMeta()), options)
  } catch (err) {
    // A cancelled call may leave the agent mid-answer; a fresh session is cheaper than doubt. A
    // shared session serves other calls too: only a failure of the session itself retires it.
    broken = shared ? !signal.aborted && !(err instanceof ProtocolError) : signal.aborted || !(err instanceof ProtocolError)
    throw err
  } finally {
    lease.release(broken)
  }
}

async function requestOn (client: Client, op: AgentOp, params: Record<string, unknown>, options: RequestOptions): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = await client.request({ method: op, params }, options)
  return client.getProtocolEra() === 'modern' ? withoutEraStamps(result) : result
}

/** The caller's `_meta` without envelope keys, plus the lease's own (its log level on 2026-07-28). */
function withMeta (params: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const meta = params._meta
  const callerMeta = isRecord(meta) ? meta : undefined
  const hasEnvelopeKeys = callerMeta !== undefined && ENVELOPE_KEYS.some((k) => k in callerMeta)
  if (!hasEnvelopeKeys && Object.keys(extra).length === 0) return params
  const kept = Object.fromEntries(Object.entries(callerMeta ?? {}).filter(([k]) => !ENVELOPE_KEYS.includes(k)))
  const merged = { ...kept, ...extra }
  const { _meta: _, ...rest } = params
  return Object.keys(merged).length === 0 ? rest : { ...rest, _meta: merged }
}

/** Drops the agent's serverInfo stamp and cache hints (the Client already lifted `resultType`). */
function withoutEraStamps (result: Record<string, unknown>): Record<string, unknown> {
  const out = Object.fromEntries(Object.entries(result).filter(([k]) => !(ERA_RESULT_FIELDS as readonly string[]).includes(k)))
  const meta = out._meta
  if (typeof meta === 'object' && meta !== null && SERVER_INFO_META_KEY in meta) {
    const { [SERVER_INFO_META_KEY]: _, ...rest } = meta as Record<string, unknown>
    if (Object.keys(rest).length === 0) delete out._meta
    else out._meta = rest
  }
  return out
}

/**
 * The v2 Client reports each input-required round it fulfils as progress of its own
 * (`Fulfilling input required by 'tools/call' (round N)`); the agent sent nothing, so the caller hears nothing.
 */
function isDriverProgress (p: Progress): boolean {
  return p.total === undefined && typeof p.message === 'string' && p.message.startsWith('Fulfilling input required by \'')
}

/** Only the fields the wire carries, without the agent's token. */
function progressOf (p: Progress): { progress: number, total?: number, message?: string } {
  return { progress: p.progress, ...(p.total === undefined ? {} : { total: p.total }), ...(typeof p.message === 'string' ? { message: p.message.slice(0, 4096) } : {}) }
}
