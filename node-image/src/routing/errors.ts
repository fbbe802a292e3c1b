/**
 * Why a routed call failed. Each cause is its own class so the MCP endpoint,
 * the HTTP API and the CLI can name it; `code` is stable and goes on the wire.
 */
export const CALL_ERROR_CODES = [
  'unknown-agent',
  'node-unreachable',
  'outcome-unknown',
  'deadline-exceeded',
  'agent-failed',
  'agent-removed',
  'rejected',
  'busy',
  'too-large',
  'bad-request',
  'invalid-request-state'
] as const
export type CallErrorCode = typeof CALL_ERROR_CODES[number]

export class ToolCallError extends Error {
  readonly code: CallErrorCode
  constructor (code: CallErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ToolCallError'
    this.code = code
  }
}

/** No such agent (or tool) in the registry or on the node that was asked. */
export class UnknownAgentError extends ToolCallError {
  constructor (message: string) {
    super('unknown-agent', message)
    this.name = 'UnknownAgentError'
  }
}

/** No direct, DHT, relayed or flood route took the request: it never left this node, so it did not run. */
export class NodeUnreachableError extends ToolCallError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('node-unreachable', message, options)
    this.name = 'NodeUnreachableError'
  }
}

/**
 * The request was sent (its stream write began, or the flood's first copy went out) and no
 * answer came back: the stream broke, the connection was lost, or no member carried the
 * reply. The agent may or may not have run the call.
 */
export class OutcomeUnknownError extends ToolCallError {
  /** The node that may have run it, when the caller knows. */
  readonly nodeId?: string
  constructor (message: string, options?: { cause?: unknown, nodeId?: string }) {
    super('outcome-unknown', message, options)
    this.name = 'OutcomeUnknownError'
    if (options?.nodeId !== undefined) this.nodeId = options.nodeId
  }
}

export class DeadlineExceededError extends ToolCallError {
  constructor (message: string) {
    super('deadline-exceeded', message)
    this.name = 'DeadlineExceededError'
  }
}

/** The agent itself failed: its MCP server errored, crashed or is unreachable from its node. */
export class AgentFailedError extends ToolCallError {
  /** The agent's own JSON-RPC error code, when it answered with one: the client gets that code. */
  readonly rpcCode?: number
  constructor (message: string, options?: { cause?: unknown, rpcCode?: number }) {
    super('agent-failed', message, options)
    this.name = 'AgentFailedError'
    if (options?.rpcCode !== undefined) this.rpcCode = options.rpcCode
  }
}

/** The agent was removed from its node's config while the call ran. */
export class AgentRemovedError extends ToolCallError {
  constructor (message: string) {
    super('agent-removed', message)
    this.name = 'AgentRemovedError'
  }
}

/** An MRTR retry whose requestState is forged, expired, for another call, or whose parked call is gone. */
export class InvalidRequestStateError extends ToolCallError {
  constructor (message: string) {
    super('invalid-request-state', message)
    this.name = 'InvalidRequestStateError'
  }
}

/** Builds the right class from a code received from another node. */
export function callErrorFromCode (code: CallErrorCode, message: string, rpcCode?: number): ToolCallError {
  switch (code) {
    case 'unknown-agent': return new UnknownAgentError(message)
    case 'node-unreachable': return new NodeUnreachableError(message)
    case 'outcome-unknown': return new OutcomeUnknownError(message)
    case 'deadline-exceeded': return new DeadlineExceededError(message)
    case 'agent-failed': return new AgentFailedError(message, rpcCode === undefined ? {} : { rpcCode })
    case 'agent-removed': return new AgentRemovedError(message)
    case 'invalid-request-state': return new InvalidRequestStateError(message)
    default: return new ToolCallError(code, message)
  }
}
