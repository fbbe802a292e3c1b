/**
 * How a local mesh (every node on one address, e.g. 127.0.0.1) is wired: how many
 * nodes the others bootstrap from, and inbound limits that fit one shared address.
 * `./dawn mesh` and the convergence bench both use it, so the bench measures what a
 * newcomer runs.
 */

/** Nodes every other node bootstraps from: 2 up to 50 nodes, then one more per 25 (4 at 100, 8 at 200). */
export function bootstrapNodesFor (count: number): number {
  return Math.min(count, Math.max(2, Math.ceil(count / 25)))
}

/**
 * Per-address inbound limits count connections per remote IP; in a local mesh every
 * peer is 127.0.0.1, so the defaults (64 open, 16 new per second) would cap a node at 64
 * inbound peers and turn a burst of joining nodes away for seconds. Here the
 * per-address limits become the node's overall ones. Handshakes get more time too:
 * a hundred nodes on two cores see event-loop stalls of seconds while they start,
 * and a handshake that times out is redone, which only adds load. Kubernetes pods
 * have their own IPs and a core or so each, and keep the defaults.
 */
export function loopbackLimits (count: number, config: Record<string, unknown>): void {
  const p2p = (config.p2p ?? {}) as Record<string, unknown>
  const maxConnections = typeof p2p.maxConnections === 'number' ? p2p.maxConnections : 300
  p2p.maxInboundPerAddress = maxConnections
  p2p.inboundRatePerAddress = Math.max(16, 2 * count)
  p2p.maxPendingHandshakes = Math.max(64, count)
  p2p.handshakeTimeoutMs = 20_000
  p2p.upgradeTimeoutMs = 40_000
  p2p.pingIntervalMs = loopbackPingIntervalMs(count)
  const target = loopbackTargetPeers(count)
  if (target !== undefined && p2p.targetPeers === undefined) p2p.targetPeers = target
  config.p2p = p2p
}

/** Up to this many nodes a local mesh is a full mesh. */
export const FULL_MESH_MAX_NODES = 50
/** Above it, nodes are spawned this many at a time (local-mesh/start-waves.ts). */
export const START_WAVE_NODES = 10
/** Above it, the connections each node dials announced members up to. */
export const PARTIAL_MESH_PEERS = 12

/**
 * A full mesh of N nodes is N(N-1)/2 Noise and membership handshakes, and as many
 * connections pinged and gossiped over; at 100 nodes on two cores starting one kept
 * the load at 60-97 for ten minutes. Above FULL_MESH_MAX_NODES a local mesh is a
 * partial one: each node dials announced members until it has PARTIAL_MESH_PEERS
 * connections, and keeps its bootstrap nodes (so those connect to everyone). Gossip and
 * anti-entropy need only a connected graph; a call to a node without a connection
 * dials it (its address is known from its announcements, else a DHT walk). At 50
 * nodes on two cores the full mesh still does better: a partial one took 428 s to equal
 * digests and a change's p99 was 3.4 s (the full mesh: 247 ms).
 */
export function loopbackTargetPeers (count: number): number | undefined {
  return count > FULL_MESH_MAX_NODES ? PARTIAL_MESH_PEERS : undefined
}

/**
 * libp2p's liveness ping opens a stream on every connection every interval, from both
 * ends: 2(N-1) streams per node per interval in a full mesh, each ~0.7 ms of CPU per end,
 * all on one machine. Scaled by the mesh's size it stays ~2 per second per node. On
 * loopback a dead node's sockets are reset by the kernel at once, so liveness does not
 * wait on the ping here.
 */
export function loopbackPingIntervalMs (count: number): number {
  return Math.min(600_000, Math.max(10_000, count * 1000))
}

/** Nodes spawned at a time: all of a full mesh, START_WAVE_NODES of a larger one. */
export function loopbackStartWave (count: number): number {
  return count > FULL_MESH_MAX_NODES ? START_WAVE_NODES : count
}
