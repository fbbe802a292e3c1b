/**
 * The one entry for routed work on this node's agents (the router's and the call service's
 * LocalAgents): session requests go to the caller sessions, a call naming a session runs on
 * that session's agent session when the agent can have one, and every other call goes through
 * the input rounds, which park an agent's questions for callers that answer in rounds.
 */
import type { AgentCallOptions } from './input-rounds.ts'
import type { SessionChannels } from './session-channels.ts'
import { ToolCallError } from '../routing/errors.ts'
import type { LocalAgents, LocalCallOptions } from '../routing/tool-router.ts'
import { SESSION_OPS, type AgentOp, type SessionOp, type WireOp } from '../routing/types.ts'

type AgentCall = (agentId: string, op: AgentOp, params: Record<string, unknown>, signal: AbortSignal, opts?: AgentCallOptions) => Promise<Record<string, unknown>>

export interface LocalCallsComponents {
  /** Calls with no session: the input rounds. */
  rounds: { call: AgentCall }
  /** Calls on a caller session's agent session: the agent host itself. */
  agents: { call: AgentCall }
  sessions: SessionChannels
}

export class LocalCalls implements LocalAgents {
  private readonly components: LocalCallsComponents

  constructor (components: LocalCallsComponents) {
    this.components = components
  }

  async call (agentId: string, op: WireOp, params: Record<string, unknown>, signal: AbortSignal, opts: LocalCallOptions = {}): Promise<Record<string, unknown>> {
    const { rounds, agents, sessions } = this.components
    const { session, caller } = opts
    if (isSessionOp(op)) {
      if (session === undefined || caller === undefined) throw new ToolCallError('bad-request', `${op} needs a session`)
      if (op === 'session/open') return await sessions.open(caller, session, agentId, opts.context, opts.onEvent, signal)
      return await sessions.request(caller, session, agentId, op, params, signal, opts.context)
    }
    if (session !== undefined && caller !== undefined) {
      const dedicated = await sessions.sessionFor(caller, session, agentId, opts.context)
      if (dedicated !== undefined) return await agents.call(agentId, op, params, signal, { ...opts, dedicated })
    }
    return await rounds.call(agentId, op, params, signal, opts)
  }
}

function isSessionOp (op: WireOp): op is SessionOp {
  return (SESSION_OPS as readonly string[]).includes(op)
}
