/**
 * What the node gives its MCP endpoint for calls by logical name: one replica chooser for
 * the node, round trips from the liveness pings (p2p/connection-liveness.ts; no traffic of its own) and each
 * node's route (direct or relayed), the
 * choice and failover metrics, and the naming view that a config reload replaces.
 */
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { McpLiveView } from '../config/watch.ts'
import type { MeshCallComponents } from '../mcp/mesh-requests.ts'
import type { ListingView } from '../mcp/mesh-listing.ts'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { AgentRegistry } from '../registry/agent-registry.ts'
import { ReplicaChooser } from '../routing/replica-choice.ts'
import { isRelayed } from '../p2p/relayed-connection.ts'

export interface MeshCallsComponents {
  libp2p: Pick<Libp2p, 'getConnections'>
  metrics: NodeMetrics
  registry: Pick<AgentRegistry, 'entries' | 'addEventListener'>
}

export interface MeshCalls {
  components: Required<Omit<MeshCallComponents, 'selfId'>>
  /** Applies a reloaded view and tells `onViewChange` listeners (sessions then get list_changed). */
  setView: (view: McpLiveView) => void
  /** Returns an unsubscribe function. */
  onViewChange: (listener: () => void) => () => void
}

/** Pruning the chooser at most this often: registry changes come with every gossip delta. */
const RETAIN_EVERY_MS = 5_000

/**
 * Added to a relayed (limited) connection's round trip: the monitor pings with millisecond
 * resolution, so a direct and a relayed path on a LAN both read 0, yet the relay adds a hop.
 */
export const RELAYED_EXTRA_MS = 1

/** The lowest round trip of any open connection to the node, ms; this node is 0 away from itself. */
export function connectionRtt (libp2p: Pick<Libp2p, 'getConnections'>, selfId: string): (nodeId: string) => number | undefined {
  return (nodeId) => {
    if (nodeId === selfId) return 0
    let peer
    try {
      peer = peerIdFromString(nodeId)
    } catch {
      return undefined
    }
    let best: number | undefined
    for (const conn of libp2p.getConnections(peer)) {
      if (conn.rtt === undefined) continue
      const ms = conn.rtt + (isRelayed(conn) ? RELAYED_EXTRA_MS : 0)
      if (best === undefined || ms < best) best = ms
    }
    return best
  }
}

/**
 * Whether this node reaches `nodeId` only through a relay (every connection relayed: limited,
 * or on a circuit address, since a member relay sets no limits); undefined without a connection.
 */
export function connectionRoute (libp2p: Pick<Libp2p, 'getConnections'>, selfId: string): (nodeId: string) => 'direct' | 'relayed' | undefined {
  return (nodeId) => {
    if (nodeId === selfId) return 'direct'
    let peer
    try {
      peer = peerIdFromString(nodeId)
    } catch {
      return undefined
    }
    const conns = libp2p.getConnections(peer)
    if (conns.length === 0) return undefined
    return conns.some(c => !isRelayed(c)) ? 'direct' : 'relayed'
  }
}

export function createMeshCalls (components: MeshCallsComponents, init: { selfId: string, view: McpLiveView }): MeshCalls {
  const { metrics, registry } = components
  const chooser = new ReplicaChooser()
  // A node that left the registry is forgotten, so the chooser's state stays bounded by the mesh.
  let pruning: NodeJS.Timeout | undefined
  registry.addEventListener('change', () => {
    pruning ??= setTimeout(() => {
      pruning = undefined
      chooser.retain(registry.entries().map((e) => e.nodeId))
    }, RETAIN_EVERY_MS).unref()
  })
  let view: ListingView = { naming: init.view.naming, toolFilters: init.view.toolFilters, catalog: init.view.catalog }
  const viewListeners = new Set<() => void>()
  return {
    components: {
      chooser,
      rtt: connectionRtt(components.libp2p, init.selfId),
      route: connectionRoute(components.libp2p, init.selfId),
      onAttempts: (attempts) => {
        const first = attempts[0]
        if (first !== undefined) metrics.replicaChoices.inc({ reason: first.reason })
        for (const a of attempts) metrics.failoverAttempts.inc({ outcome: a.outcome, failover: a.failover ?? 'none' })
      },
      view: () => view
    },
    setView: (next) => {
      view = { naming: next.naming, toolFilters: next.toolFilters, catalog: next.catalog }
      for (const listener of [...viewListeners]) listener()
    },
    onViewChange: (listener) => {
      viewListeners.add(listener)
      return () => { viewListeners.delete(listener) }
    }
  }
}
