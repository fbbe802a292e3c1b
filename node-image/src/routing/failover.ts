/**
 * What to do after one attempt of a call to a replicated agent failed: try the next replica,
 * retry only if the tool is idempotent, or stop. The one rule behind the table: a call that
 * may have reached an agent runs again elsewhere only when the tool says that is harmless
 * (`annotations.idempotentHint === true`); otherwise it ends as `outcome-unknown`, never as
 * success and never as a failure that claims it did not run.
 */
import type { CallErrorCode } from './errors.ts'
import { ToolCallError } from './errors.ts'

export type FailoverClass =
  /** The call certainly did not reach an agent: the next replica may take it. */
  | 'next-replica'
  /** The call may have reached an agent: the next replica only if the tool is idempotent. */
  | 'retry-if-idempotent'
  /** The agent's own answer, or a fault of the request itself: every replica would say the same. */
  | 'final'

/**
 * Every routed failure, by code. Codes marked AMBIGUOUS are returned both before and after
 * the request could reach the agent today; they take the cautious class until the router
 * tells the two apart (see {@link NotDeliveredError}).
 */
export const FAILOVER_BY_CODE: Record<CallErrorCode, FailoverClass> = {
  // The caller's registry has no such agent (before sending), or the host has no such agent or
  // the agent no such tool (agent-host answers before, or instead of, running anything).
  'unknown-agent': 'next-replica',
  // Only before sending: the connector found no path, no call stream opened, the flood found
  // no member to take its first copy, a session cannot take the flood route. The router turns
  // any failure after `lp.write(envelope)` was entered or the flood's first copy went out
  // into outcome-unknown (tool-router.ts).
  'node-unreachable': 'next-replica',
  // The request was sent and no answer came: the stream broke, the connection was lost, or
  // the flood carried no reply back. The agent may have run it.
  'outcome-unknown': 'retry-if-idempotent',
  // AMBIGUOUS. The host's "deadline passed before the call started" and agent-host's "before
  // ... started" did not reach the agent; a deadline while the agent ran (agent-host's
  // "during", the agent's own request timeout), or while the caller waited for the reply after
  // sending, may have. The host's "before" would need its own code to be trusted.
  'deadline-exceeded': 'retry-if-idempotent',
  // With an rpcCode: the agent answered with a JSON-RPC error, final. Without one: its MCP
  // server failed or dropped mid-call, or the node is shutting down; AMBIGUOUS (a remote
  // server unreachable from its node did not run the call; one that crashed may have).
  // See failoverClass for the rpcCode split.
  'agent-failed': 'retry-if-idempotent',
  // Only ever given to calls in flight when the agent was removed or reconfigured (agent-host
  // retires in-flight calls); a call arriving after removal gets unknown-agent. So it may have run.
  'agent-removed': 'retry-if-idempotent',
  // AMBIGUOUS. The host's refusals (bad envelope, plaintext under `required`, misdelivered,
  // E2E failure) come before the agent; the caller's refusal of a response or event (bad
  // signature, wrong id, unencrypted result) comes after the agent ran. The router must record
  // which side refused: a host refusal is a plaintext `ok: false` answer with the all-zero id.
  'rejected': 'retry-if-idempotent',
  // The host's call limit (tool-call-service) and session limit refuse before the agent gets
  // the call. Exception: input-rounds' parked-call limit answers `busy` after the agent started
  // and asked for input; it should use another code before this table is trusted for it.
  'busy': 'next-replica',
  // The caller's own request limit (same on every replica), or the host's limit on a result
  // the agent already produced: retrying cannot help and may run the tool again.
  'too-large': 'final',
  // The host found the request malformed or the session bound to another agent: every replica
  // would refuse the same bytes.
  'bad-request': 'final',
  // An MRTR requestState is bound to the node that minted it: no other replica can honour it.
  'invalid-request-state': 'final'
}

/** The error an attempt throws when it knows its request never left this node. */
export class NotDeliveredError extends Error {
  constructor (cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    this.name = 'NotDeliveredError'
  }
}

/**
 * The class of one failed attempt. An error wrapped in {@link NotDeliveredError} never
 * reached an agent, so what would be retried only if idempotent goes to the next replica;
 * a final error stays final. Anything that is not a ToolCallError may have been delivered.
 */
export function failoverClass (err: unknown): FailoverClass {
  if (err instanceof NotDeliveredError) {
    const inner = failoverClass(err.cause)
    return inner === 'final' ? 'final' : 'next-replica'
  }
  if (!(err instanceof ToolCallError)) return 'retry-if-idempotent'
  if (err.code === 'agent-failed' && 'rpcCode' in err && typeof err.rpcCode === 'number') return 'final'
  return FAILOVER_BY_CODE[err.code]
}

/** The code an attempt ended with, for `_meta` and metric labels. */
export function failureCode (err: unknown): CallErrorCode | 'error' {
  if (err instanceof NotDeliveredError) return failureCode(err.cause)
  if (err instanceof ToolCallError) return err.code
  return 'error'
}

/** Whether the failure says the node itself is in trouble, so it should go last for a while. */
export function coolsDown (err: unknown): boolean {
  const code = failureCode(err)
  // outcome-unknown from the router is a stream or connection lost mid-call: a node dying looks like this.
  return code === 'node-unreachable' || code === 'outcome-unknown' || code === 'busy'
}
