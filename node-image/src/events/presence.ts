/**
 * Agent presence as this node sees it, and peer routes: pure functions of the registry,
 * the verified peers, their connections and the replica cool-downs.
 *
 * - online: hosted here, or the host is verified and directly connected;
 * - degraded: the host is reachable over a relay only, or its replica is cooling down
 *   after a failed call (routing/replica-choice.ts);
 * - unreachable: no verified connection to the host. A host reachable only over the
 *   flood route counts as unreachable here: nothing shows that route without a call.
 */

import { isRelayed, type RouteOfConnection } from '../p2p/relayed-connection.ts'

export type PeerRoute = 'direct' | 'relayed' | 'none'
export type PresenceState = 'online' | 'degraded' | 'unreachable'

export interface PresenceEntry {
  agentId: string
  nodeId: string
  state: PresenceState
}

/** A connection as libp2p lists it. */
export interface ConnectionLike extends RouteOfConnection {
  status?: string
}

/** direct when any open connection is direct, relayed when all are relayed (p2p/relayed-connection.ts), none without one. */
export function routeOf (connections: readonly ConnectionLike[]): PeerRoute {
  let route: PeerRoute = 'none'
  for (const c of connections) {
    if (c.status !== undefined && c.status !== 'open') continue
    if (!isRelayed(c)) return 'direct'
    route = 'relayed'
  }
  return route
}

export interface PresenceInputs {
  selfId: string
  entries: ReadonlyArray<{ nodeId: string, agentId: string }>
  verified: ReadonlySet<string>
  route: (nodeId: string) => PeerRoute
  coolingDown: (nodeId: string) => boolean
}

export function presenceOf (nodeId: string, inputs: Omit<PresenceInputs, 'entries'>): PresenceState {
  if (nodeId === inputs.selfId) return 'online'
  if (!inputs.verified.has(nodeId)) return 'unreachable'
  const route = inputs.route(nodeId)
  if (route === 'none') return 'unreachable'
  return route === 'relayed' || inputs.coolingDown(nodeId) ? 'degraded' : 'online'
}

/** Presence of every registry entry, keyed `nodeId:agentId`; each host is looked at once. */
export function computePresence (inputs: PresenceInputs): Map<string, PresenceEntry> {
  const byNode = new Map<string, PresenceState>()
  const out = new Map<string, PresenceEntry>()
  for (const { nodeId, agentId } of inputs.entries) {
    let state = byNode.get(nodeId)
    if (state === undefined) {
      state = presenceOf(nodeId, inputs)
      byNode.set(nodeId, state)
    }
    out.set(`${nodeId}:${agentId}`, { agentId, nodeId, state })
  }
  return out
}
