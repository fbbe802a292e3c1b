/**
 * One call to a logical agent: replicas in the chooser's order, each failure judged by
 * failover.ts, at most `maxAttempts` attempts, never a second run of a call that may have
 * reached an agent unless the tool is idempotent on every replica that lists it.
 */
import { DeadlineExceededError, OutcomeUnknownError, UnknownAgentError } from './errors.ts'
import { coolsDown, failoverClass, failureCode, NotDeliveredError, type FailoverClass } from './failover.ts'
import type { Replica, ReplicaChooser, ReplicaPick } from './replica-choice.ts'

/** One attempt, as `_meta` and metrics show it: the pick, and how it ended. */
export interface FailoverAttempt extends ReplicaPick {
  outcome: 'ok' | ReturnType<typeof failureCode>
  /** For a failed attempt: what the failure meant. */
  failover?: FailoverClass
}

export type FailoverRun<T> =
  | { ok: true, result: T, nodeId: string, attempts: FailoverAttempt[] }
  /** `error` is the agent's own answer, the last failure, or an OutcomeUnknownError. */
  | { ok: false, error: unknown, attempts: FailoverAttempt[] }

/**
 * Runs the call on one replica. It must honour `signal`, and should throw a
 * NotDeliveredError around a failure it knows came before its request left this node.
 * Any result it returns is final, `isError: true` tool results included.
 */
export type ReplicaAttempt<T> = (nodeId: string, signal: AbortSignal) => Promise<T>

export interface FailoverOptions {
  signal?: AbortSignal
  /** Most replicas tried for one call (default 3). */
  maxAttempts?: number
  /** Clock for round trips, ms (default performance.now). */
  now?: () => number
  /** A replica to try first unless it is cooling down (a caller session's agent session lives there). */
  prefer?: string
  /** Whether a successful call's duration counts as a round trip (default true; off when pings measure it, since a call's time includes the tool's). */
  observeCallRtt?: boolean
}

export const DEFAULT_MAX_ATTEMPTS = 3

/** Idempotent only when every replica that lists the tool says so: a rolling upgrade may disagree. */
export function isIdempotent (replicas: readonly Replica[], tool: string): boolean {
  const listed = replicas.flatMap(r => r.tools.filter(t => t.name === tool))
  return listed.length > 0 && listed.every(t => t.annotations?.idempotentHint === true)
}

export async function runWithFailover<T> (chooser: ReplicaChooser, replicas: readonly Replica[], tool: string, attempt: ReplicaAttempt<T>, opts: FailoverOptions = {}): Promise<FailoverRun<T>> {
  const signal = opts.signal ?? new AbortController().signal
  const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new RangeError('maxAttempts must be a positive integer')
  const now = opts.now ?? (() => performance.now())
  const idempotent = isIdempotent(replicas, tool)
  const attempts: FailoverAttempt[] = []
  const tried = new Set<string>()
  let lastError: unknown
  /** The replica that may have run the call, once one may have. */
  let mayHaveRun: string | undefined

  while (attempts.length < maxAttempts && !signal.aborted) {
    const pick = preferred(chooser.order(replicas, tool), opts.prefer).find(p => !tried.has(p.nodeId))
    if (pick === undefined) break
    tried.add(pick.nodeId)
    const end = chooser.begin(pick.nodeId)
    const started = now()
    try {
      const result = await attempt(pick.nodeId, signal)
      if (opts.observeCallRtt !== false) chooser.observeRtt(pick.nodeId, Math.max(0, now() - started))
      chooser.succeeded(pick.nodeId)
      attempts.push({ ...pick, outcome: 'ok' })
      return { ok: true, result, nodeId: pick.nodeId, attempts }
    } catch (err) {
      const failover = failoverClass(err)
      attempts.push({ ...pick, outcome: failureCode(err), failover })
      if (coolsDown(err)) chooser.failed(pick.nodeId)
      lastError = err
      if (failover === 'final') return { ok: false, error: err, attempts }
      if (failover === 'retry-if-idempotent') {
        mayHaveRun = pick.nodeId
        if (!idempotent) return { ok: false, error: outcomeUnknown(pick.nodeId, tool, 'the tool is not idempotent', err), attempts }
      }
    } finally {
      end()
    }
  }

  // Out of attempts or replicas, or aborted: never claim "did not run" after a replica may have run it.
  if (mayHaveRun !== undefined) {
    const why = signal.aborted ? 'the call was cancelled or ran past its deadline' : `no replica answered after ${attempts.length} attempt(s)`
    return { ok: false, error: outcomeUnknown(mayHaveRun, tool, why, lastError), attempts }
  }
  // The wrapper only told this loop the request never left; callers match on the ToolCallError inside.
  if (lastError !== undefined) return { ok: false, error: lastError instanceof NotDeliveredError ? lastError.cause : lastError, attempts }
  if (signal.aborted) return { ok: false, error: new DeadlineExceededError(`call to ${tool} was cancelled or ran past its deadline before any replica was tried`), attempts }
  return { ok: false, error: new UnknownAgentError(`no replica lists the tool "${tool}"`), attempts }
}

/** The order with `prefer` first, unless it is cooling down or not a candidate. */
function preferred (order: ReplicaPick[], prefer: string | undefined): ReplicaPick[] {
  const i = order.findIndex(p => p.nodeId === prefer)
  const pick = order[i]
  if (pick === undefined || i === 0 || pick.reason === 'cooling-down') return order
  return [{ ...pick, reason: 'session' }, ...order.slice(0, i), ...order.slice(i + 1)]
}

function outcomeUnknown (nodeId: string, tool: string, why: string, cause: unknown): OutcomeUnknownError {
  const detail = cause instanceof Error ? cause.message : String(cause)
  return new OutcomeUnknownError(`call to ${tool} may have run on ${nodeId} and ended without an answer (${why}): ${detail}`, { cause, nodeId })
}
