// Asks one node of a network what the mesh registry says about one agent
// (GET /api/v1/agents/<agentId>), for a DawnAgent's status. Thin I/O only, as the mesh probe:
// a timeout per node, a size cap, the node's own reply schema. Any node can answer for the
// whole mesh, so the nodes are asked one after another until one answers, at most `maxTries`.
import { Compile } from 'typebox/compile'
import { AGENT_NOT_FOUND, LogicalAgentReply } from '@dawn/node-image/http-schemas'
import { abortReason } from './errors.ts'
import type { ProbeTarget } from './mesh-probe.ts'
import { getNodeJson, httpGet, NodeReplyError, withCause, type NodeGet } from './node-http.ts'

export interface AgentProbeInit {
  /** Per node; default 3 s. */
  timeoutMs?: number
  /** Nodes asked before giving up; default 3. */
  maxTries?: number
  /** Largest reply read, in bytes; default 4 MiB. */
  maxReplyBytes?: number
  /** Default httpGet (node:http); tests pass a fetch-shaped fake. */
  fetch?: NodeGet
}

export type AgentReport =
  /** `agent` is undefined when the node's registry knows no replica of it. */
  | { ok: true, from: string, agent: LogicalAgentReply | undefined }
  /** No node answered; one line per node asked. */
  | { ok: false, errors: string[] }

const agentReply = Compile(LogicalAgentReply)

export class AgentProbe {
  private readonly timeoutMs: number
  private readonly maxTries: number
  private readonly maxReplyBytes: number
  private readonly fetch: NodeGet

  constructor (init: AgentProbeInit = {}) {
    this.timeoutMs = init.timeoutMs ?? 3000
    this.maxTries = Math.max(1, init.maxTries ?? 3)
    this.maxReplyBytes = init.maxReplyBytes ?? 4 * 1024 * 1024
    this.fetch = init.fetch ?? httpGet
  }

  /** What the first node to answer says, trying `targets` in order. Rejects only when `signal` aborts. */
  async observe (agentId: string, targets: readonly ProbeTarget[], signal: AbortSignal): Promise<AgentReport> {
    const errors: string[] = []
    for (const target of targets.slice(0, this.maxTries)) {
      const answer = await this.ask(agentId, target, signal)
      if ('error' in answer) errors.push(`${target.name}: ${answer.error}`)
      else return { ok: true, from: target.name, agent: answer.agent }
    }
    return { ok: false, errors }
  }

  private async ask (agentId: string, target: ProbeTarget, signal: AbortSignal): Promise<{ agent: LogicalAgentReply | undefined } | { error: string }> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)])
    const path = `/api/v1/agents/${encodeURIComponent(agentId)}`
    try {
      const { status, body } = await getNodeJson(this.fetch, `${target.baseUrl}${path}`, path, this.maxReplyBytes, deadline)
      if (status === 404 && typeof body === 'object' && body !== null && (body as { error?: unknown }).error === AGENT_NOT_FOUND) return { agent: undefined }
      if (status !== 200) throw new NodeReplyError(`GET ${path}: HTTP ${status}`)
      if (!agentReply.Check(body)) throw new NodeReplyError(`GET ${path}: the reply does not match the agent schema`)
      if (body.agentId !== agentId) throw new NodeReplyError(`GET ${path}: the reply is about another agent`)
      return { agent: body }
    } catch (e) {
      if (signal.aborted) throw abortReason(signal)
      return { error: deadline.aborted ? `no answer within ${this.timeoutMs} ms` : withCause(e) }
    }
  }
}
