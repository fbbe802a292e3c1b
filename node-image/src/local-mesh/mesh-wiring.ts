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
  // libp2p's ping opens a stream per connection per interval: N x (N-1) in a full mesh on one machine.
  p2p.pingIntervalMs = count > 25 ? 60_000 : 10_000
  config.p2p = p2p
}
