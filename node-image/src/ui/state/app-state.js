// What the page knows about its node and the mesh: snapshots from /api/v1, kept current
// by the node's event stream (net/events.js). Nothing polls.
import { createStore } from './store.js'
import { api, ApiError, AuthRequiredError } from '../net/api.js'
import { followEvents } from '../net/events.js'

export const store = createStore({
  node: undefined,
  hello: undefined,
  peers: [],
  agents: [],
  /** `<nodeId>:<agentId>` → online | degraded | unreachable, as this node sees it. */
  presence: {},
  conn: 'connecting',
  error: undefined,
  tokenNeeded: false,
  selected: undefined,
  /** agentId → conversation entries (views/conversation.js). */
  conversations: {},
  /** agentId → how the last call travelled: {route, hops, replica}. */
  routes: {}
})

const RANK = { online: 2, degraded: 1, unreachable: 0 }

/** A replica's presence: the node's word when it has sent one, else what the peer list shows. */
export function replicaPresence (state, nodeId, agentId) {
  const said = state.presence[`${nodeId}:${agentId}`]
  if (said !== undefined) return said
  if (nodeId === state.node?.peerId) return 'online'
  const peer = state.peers.find(p => p.peerId === nodeId)
  if (peer === undefined || !peer.verified) return 'unreachable'
  return peer.connections.some(c => !c.limited) ? 'online' : 'degraded'
}

/** A logical agent is as present as its best replica. */
export function agentPresence (state, agent) {
  let best = 'unreachable'
  for (const nodeId of agent.replicas) {
    const p = replicaPresence(state, nodeId, agent.agentId)
    if (RANK[p] > RANK[best]) best = p
  }
  return best
}

let agentsTimer
function reloadAgentsSoon () {
  clearTimeout(agentsTimer)
  agentsTimer = setTimeout(() => { void loadAgents() }, 100)
}

async function loadAgents () {
  const reply = await api('/api/v1/agents')
  store.set({ agents: reply.logical })
}

async function loadPeers () {
  store.set({ peers: await api('/api/v1/peers') })
}

async function loadPresence () {
  try {
    const { entries } = await api('/api/v1/presence')
    store.set({ presence: Object.fromEntries(entries.map(p => [`${p.nodeId}:${p.agentId}`, p.state])) })
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
  }
}

const refreshers = []
/** Other modules (rooms) reload their own snapshots with the page's. */
export function onRefresh (fn) {
  refreshers.push(fn)
}

const RETRY_MAX_MS = 10_000
let retryTimer
let retryMs = 500

/**
 * Loads every snapshot; after a `reset` or a node restart too. A failed load is tried
 * again with backoff: no event may come to repair it (a quiet mesh sends none).
 */
export async function refresh () {
  clearTimeout(retryTimer)
  try {
    const [node] = await Promise.all([api('/api/v1/node'), loadPeers(), loadAgents(), loadPresence(), ...refreshers.map(fn => fn())])
    store.set({ node, error: undefined })
    retryMs = 500
  } catch (err) {
    store.set({ error: err.message })
    // Without the token, the dialog's answer refreshes.
    if (err instanceof AuthRequiredError) return
    retryTimer = setTimeout(() => { void refresh() }, retryMs)
    retryMs = Math.min(RETRY_MAX_MS, retryMs * 2)
  }
}

const handlers = {
  hello (data) {
    const before = store.get().hello
    store.set({ hello: data })
    if (before !== undefined && before.bootId !== data.bootId) void refresh()
  },
  node (data) {
    const node = store.get().node
    if (node !== undefined) store.set({ node: { ...node, ready: data.ready, reason: data.reason } })
  },
  peer () { void loadPeers() },
  registry () { reloadAgentsSoon() },
  presence (data) {
    store.set(s => ({ presence: { ...s.presence, [`${data.nodeId}:${data.agentId}`]: data.state } }))
  },
  reset () { void refresh() }
}

/** Other modules (rooms) take their own event types. */
export function onEvents (types, fn) {
  for (const t of types) handlers[t] = fn
}

export function startLive (signal) {
  void followEvents({
    signal,
    onState: conn => {
      const was = store.get().conn
      store.set({ conn })
      // Back from a gap: what happened while away comes from the snapshots.
      if (conn === 'live' && was === 'down') void refresh()
    },
    onEvent: (type, data) => handlers[type]?.(data, type)
  })
}
