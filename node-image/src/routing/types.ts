/**
 * The contract between the MCP endpoint, the HTTP API, the built-in `mesh` agent
 * and the router: what can be asked of an agent anywhere in the mesh.
 */

/** MCP methods a routed request may carry. */
export const AGENT_OPS = ['tools/call', 'resources/read', 'prompts/get'] as const
export type AgentOp = typeof AGENT_OPS[number]

/** `<nodeId>:<agentId>` split in two. */
export interface AgentTarget {
  nodeId: string
  agentId: string
}

/** How a call reached its node; also a metric label. */
export type Route = 'local' | 'direct' | 'relayed' | 'flood'

export interface CallOptions {
  signal?: AbortSignal
  /** Absolute deadline, unix ms; the router caps it with its own timeout. */
  deadline?: number
  /** Who asked, for the audit log (e.g. `mcp:<session>` or `http:<ip>`). Never the arguments. */
  caller?: string
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
  call: (target: AgentTarget, op: AgentOp, params: Record<string, unknown>, opts?: CallOptions) => Promise<CallResult>
}

export function formatTarget (t: AgentTarget): string {
  return `${t.nodeId}:${t.agentId}`
}
