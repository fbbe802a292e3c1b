/**
 * The contract between the MCP endpoint, the HTTP API, the built-in `mesh` agent
 * and the router: what can be asked of an agent anywhere in the mesh.
 */

/** MCP methods a routed request may carry. */
export const AGENT_OPS = ['tools/call', 'resources/read', 'prompts/get', 'completion/complete'] as const
export type AgentOp = typeof AGENT_OPS[number]

/**
 * Requests about a caller's session with an agent rather than a call: a 2025-11-25 client's
 * session maps to one agent session per agent, so state the agent keeps per session (log
 * level, subscriptions, anything its tools toggle) behaves as it would directly.
 * `session/open` lives as long as its stream and carries the session's notifications back.
 */
export const SESSION_OPS = ['session/open', 'session/answer', 'resources/subscribe', 'resources/unsubscribe', 'logging/setLevel'] as const
export type SessionOp = typeof SESSION_OPS[number]
/** Everything a routed request may ask of an agent's node. */
export type WireOp = AgentOp | SessionOp

/** `<nodeId>:<agentId>` split in two. */
export interface AgentTarget {
  nodeId: string
  agentId: string
}

/** How a call reached its node; also a metric label. */
export type Route = 'local' | 'direct' | 'relayed' | 'flood'

/** MCP logging levels, lowest first (RFC 5424 order, as MCP defines them). */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/**
 * What the agent may know about the caller driving a call: exactly the caller's MCP client
 * capabilities (so an agent asks only what the caller can answer), the log level it opted
 * in to, and whether it wants progress.
 */
export interface CallContext {
  capabilities: Record<string, unknown>
  logLevel?: LogLevel
  progress?: boolean
}

/** A notification an agent sent about a running call, carried back to the caller. */
export type CallEvent =
  | { method: 'notifications/progress', params: { progress: number, total?: number, message?: string } }
  | { method: 'notifications/message', params: { level: LogLevel, logger?: string, data: unknown } }
  | { method: 'notifications/resources/updated', params: { uri: string } }
  /** The agent's lists changed on this caller's own agent session (e.g. a resource made for the session). */
  | { method: 'notifications/tools/list_changed' | 'notifications/prompts/list_changed' | 'notifications/resources/list_changed', params?: object }
  /** An agent on a session asks the caller something; the answer goes back as `session/answer`. */
  | { method: 'dawn/question', params: { id: string, method: 'elicitation/create' | 'sampling/createMessage' | 'roots/list', params?: Record<string, unknown> } }

export interface CallOptions {
  signal?: AbortSignal
  /** The caller's side of the call; absent means no capabilities, no logs, no progress. */
  context?: CallContext
  /** Receives the agent's progress and log notifications, in order, while the call runs. */
  onEvent?: (event: CallEvent) => void
  /** Runs the call on this caller session's agent session (see SESSION_OPS), when the agent's node has it. */
  session?: string
  /** Absolute deadline, unix ms; the router caps it with its own timeout. */
  deadline?: number
  /** Who asked, for the audit log (e.g. `mcp:<session>` or `http:<ip>`). Never the arguments. */
  caller?: string
  /**
   * A caller with another replica to try: a node no direct or relayed path reaches is
   * `node-unreachable` at once rather than flooded, since a flood that finds nobody still
   * cannot prove the call never ran (it would end `outcome-unknown`).
   */
  noFlood?: boolean
}

export interface CallResult {
  /** The MCP result object exactly as the agent returned it. */
  result: Record<string, unknown>
  route: Route
  /** Flood route only: hops the request travelled through members. */
  hops?: number
}

/** Anything that can run an MCP request on an agent somewhere in the mesh. */
export interface MeshCaller {
  call: (target: AgentTarget, op: WireOp, params: Record<string, unknown>, opts?: CallOptions) => Promise<CallResult>
}

export function formatTarget (t: AgentTarget): string {
  return `${t.nodeId}:${t.agentId}`
}
