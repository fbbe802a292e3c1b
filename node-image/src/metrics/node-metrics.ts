import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/**
 * One Prometheus registry per node: benchmarks run many nodes in one process,
 * so nothing here may touch prom-client's global registry.
 */
export interface NodeMetrics {
  registry: Registry
  peers: Gauge
  messagesIn: Counter<'type'>
  messagesOut: Counter<'type'>
  messagesRejected: Counter<'reason'>
  registryEntries: Gauge
  gossipDelay: Histogram
  dhtRoutingTableSize: Gauge
  membershipRejected: Counter<'reason'>
  antiEntropyRuns: Counter<'result'>
  registrySyncFailures: Counter<'reason'>
  registrySyncLastSuccess: Gauge
  registrySyncConsecutiveFailures: Gauge
  registrySyncBytes: Counter<'direction'>
  registrySyncRanges: Counter<'level'>
  registrySyncValues: Counter
  registrySyncLargestMessage: Gauge
  registrySyncSeconds: Histogram<'result'>
  toolCalls: Counter<'result' | 'route'>
  toolCallSeconds: Histogram<'result' | 'route'>
  toolCallsServed: Counter<'result'>
  toolCallsRejected: Counter<'reason'>
  toolCallsInFlight: Gauge
  replicaChoices: Counter<'reason'>
  failoverAttempts: Counter<'outcome' | 'failover'>
  contentBytesStored: Gauge
  contentPins: Gauge
  contentReplicationDeficit: Gauge
  contentFetchSeconds: Histogram<'source'>
  contentVerificationFailures: Counter<'source'>
  contentBlocksServed: Counter<'result'>
  streamsRefused: Counter<'service' | 'reason'>
  floodRelayed: Counter<'result'>
  floodDropped: Counter<'reason'>
  floodInFlight: Gauge
  /** Points the inbound-admission gauges at the running host's counters. */
  watchInbound: (source: InboundSource) => void
}

/** What the admission gauges read at scrape time. */
export interface InboundSource {
  limits: { maxConnections: number, maxInboundPerAddress: number, inboundRatePerAddress: number, maxPendingHandshakes: number, handshakeTimeoutMs: number }
  handshakes: { pending: number, completed: number, failed: number, evicted: number }
  inbound: { refused: Record<'per-address' | 'rate', number> }
  denied: { refused: number, size: number }
}

/** How often the event-loop delay histogram takes a sample. */
export const EVENT_LOOP_SAMPLE_MS = 100

export function createNodeMetrics (opts: { processMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry()
  // prom-client samples event-loop delay every 10 ms by default: 100 wake-ups a second,
  // about 6 ms of CPU per second of an idle node. Every 100 ms still sees any stall.
  if (opts.processMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'dawn_', eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS })
  const registers = [registry]
  let inbound: InboundSource | undefined
  new Gauge({
    name: 'dawn_p2p_inbound_limit',
    help: 'Configured inbound connection limits: total, per_address (open at once), rate_per_address (per second), pending_handshakes, handshake_timeout_ms',
    labelNames: ['limit'],
    registers,
    collect () {
      if (inbound === undefined) return
      const l = inbound.limits
      this.set({ limit: 'total' }, l.maxConnections)
      this.set({ limit: 'per_address' }, l.maxInboundPerAddress)
      this.set({ limit: 'rate_per_address' }, l.inboundRatePerAddress)
      this.set({ limit: 'pending_handshakes' }, l.maxPendingHandshakes)
      this.set({ limit: 'handshake_timeout_ms' }, l.handshakeTimeoutMs)
    }
  })
  new Gauge({
    name: 'dawn_p2p_handshakes_pending',
    help: 'Inbound and outbound connections in the private-network (PSK) nonce exchange now',
    registers,
    collect () { if (inbound !== undefined) this.set(inbound.handshakes.pending) }
  })
  new Counter({
    name: 'dawn_p2p_handshakes_total',
    help: 'Private-network (PSK) nonce exchanges, by result (completed; failed: timed out, closed or reset first; evicted: dropped for a newer inbound handshake when all slots were taken)',
    labelNames: ['result'],
    registers,
    collect () {
      if (inbound === undefined) return
      this.reset()
      this.inc({ result: 'completed' }, inbound.handshakes.completed)
      this.inc({ result: 'failed' }, inbound.handshakes.failed)
      this.inc({ result: 'evicted' }, inbound.handshakes.evicted)
    }
  })
  new Counter({
    name: 'dawn_p2p_inbound_refused_total',
    help: 'Inbound sockets refused before the handshake, by reason (per-address: the address held its limit of open connections; rate: too many new connections from it this second)',
    labelNames: ['reason'],
    registers,
    collect () {
      if (inbound === undefined) return
      this.reset()
      for (const [reason, n] of Object.entries(inbound.inbound.refused)) this.inc({ reason }, n)
    }
  })
  new Gauge({
    name: 'dawn_denied_peers',
    help: 'Peers refused for now (bad certificate or membership handshake timeout); a bounded list',
    registers,
    collect () { if (inbound !== undefined) this.set(inbound.denied.size) }
  })
  new Counter({
    name: 'dawn_denied_connections_total',
    help: 'Connections and dials refused because the peer is on the deny list',
    registers,
    collect () {
      if (inbound === undefined) return
      this.reset()
      this.inc(inbound.denied.refused)
    }
  })
  return {
    watchInbound: (source) => { inbound = source },
    registry,
    peers: new Gauge({ name: 'dawn_peers', help: 'Connected peers that presented a valid membership certificate', registers }),
    messagesIn: new Counter({ name: 'dawn_messages_in_total', help: 'Mesh messages accepted, by type', labelNames: ['type'], registers }),
    messagesOut: new Counter({ name: 'dawn_messages_out_total', help: 'Mesh messages sent, by type', labelNames: ['type'], registers }),
    messagesRejected: new Counter({ name: 'dawn_messages_rejected_total', help: 'Mesh messages dropped, by reason', labelNames: ['reason'], registers }),
    registryEntries: new Gauge({ name: 'dawn_registry_entries', help: 'Agents in the mesh registry', registers }),
    gossipDelay: new Histogram({
      name: 'dawn_gossip_delivery_seconds',
      help: 'Time from a gossip message being sealed to it being accepted here (sender clock)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers
    }),
    dhtRoutingTableSize: new Gauge({ name: 'dawn_dht_routing_table_size', help: 'Peers in the kad-dht routing table', registers }),
    membershipRejected: new Counter({ name: 'dawn_membership_rejected_total', help: 'Peers disconnected for lacking a valid membership certificate, by reason', labelNames: ['reason'], registers }),
    antiEntropyRuns: new Counter({ name: 'dawn_anti_entropy_runs_total', help: 'Registry anti-entropy sessions this node pulled, by result (in-sync, merged, peer-behind, failed)', labelNames: ['result'], registers }),
    registrySyncFailures: new Counter({ name: 'dawn_registry_sync_failures_total', help: 'Registry anti-entropy problems, by reason (unreachable, timeout, rejected, malformed, out-of-range, invalid-state, no-progress, too-large: a record alone over the message limit, trimmed, bad-request: served to a peer)', labelNames: ['reason'], registers }),
    registrySyncLastSuccess: new Gauge({ name: 'dawn_registry_sync_last_success_timestamp_seconds', help: 'When an anti-entropy session last completed (unix seconds)', registers }),
    registrySyncConsecutiveFailures: new Gauge({ name: 'dawn_registry_sync_consecutive_failures', help: 'Anti-entropy sessions failed since the last success', registers }),
    registrySyncBytes: new Counter({ name: 'dawn_registry_sync_bytes_total', help: 'Bytes of anti-entropy messages (sealed envelopes), pulled and served, by direction (in, out)', labelNames: ['direction'], registers }),
    registrySyncRanges: new Counter({ name: 'dawn_registry_sync_ranges_total', help: 'Ranges found different during anti-entropy, by level (replica, block, span fetched)', labelNames: ['level'], registers }),
    registrySyncValues: new Counter({ name: 'dawn_registry_sync_values_received_total', help: 'Registry records received by anti-entropy', registers }),
    registrySyncLargestMessage: new Gauge({ name: 'dawn_registry_sync_largest_message_bytes', help: 'Largest anti-entropy message sent or received since start (sealed bytes)', registers }),
    registrySyncSeconds: new Histogram({
      name: 'dawn_registry_sync_duration_seconds',
      help: 'Duration of anti-entropy sessions this node pulled, by result',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers
    }),
    toolCalls: new Counter({ name: 'dawn_tool_calls_total', help: 'Tool calls (and resource reads, prompt gets) this node made, by result and route', labelNames: ['result', 'route'], registers }),
    toolCallSeconds: new Histogram({
      name: 'dawn_tool_call_duration_seconds',
      help: 'Latency of calls this node made, by result and route (local, direct, relayed, flood)',
      labelNames: ['result', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers
    }),
    toolCallsServed: new Counter({ name: 'dawn_tool_calls_served_total', help: 'Calls from other nodes served by this node\'s agents, by result', labelNames: ['result'], registers }),
    toolCallsRejected: new Counter({ name: 'dawn_tool_calls_rejected_total', help: 'Routed call frames refused before reaching an agent, by reason', labelNames: ['reason'], registers }),
    toolCallsInFlight: new Gauge({ name: 'dawn_tool_calls_in_flight', help: 'Calls from other nodes being served now', registers }),
    replicaChoices: new Counter({ name: 'dawn_replica_choices_total', help: 'Replicas this node chose for calls by a logical name, by why (least-loaded, lowest-rtt, tie-break, ...)', labelNames: ['reason'], registers }),
    failoverAttempts: new Counter({ name: 'dawn_failover_attempts_total', help: 'Attempts of calls by a logical name, by outcome and what a failure meant (next-replica, retry-if-idempotent, final)', labelNames: ['outcome', 'failover'], registers }),
    contentBytesStored: new Gauge({ name: 'dawn_content_bytes_stored', help: 'Bytes of blocks in this node\'s content store', registers }),
    contentPins: new Gauge({ name: 'dawn_content_pins', help: 'Mesh-wide pins this node knows of', registers }),
    contentReplicationDeficit: new Gauge({ name: 'dawn_content_replication_deficit', help: 'Holders missing across all pins, as this node sees the mesh', registers }),
    contentFetchSeconds: new Histogram({
      name: 'dawn_content_fetch_duration_seconds',
      help: 'Time to get one verified block, by where it came from (local, mesh, kubo)',
      labelNames: ['source'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers
    }),
    contentVerificationFailures: new Counter({ name: 'dawn_content_verification_failures_total', help: 'Blocks whose bytes did not hash to their CID, by where they came from; never returned to a caller', labelNames: ['source'], registers }),
    streamsRefused: new Counter({ name: 'dawn_streams_refused_total', help: 'Dawn protocol streams reset before reading, by service and reason (unverified peer, per-peer stream or byte cap, frame too large)', labelNames: ['service', 'reason'], registers }),
    contentBlocksServed: new Counter({ name: 'dawn_content_blocks_served_total', help: 'Block requests from other nodes, by result', labelNames: ['result'], registers }),
    floodRelayed: new Counter({ name: 'dawn_flood_relayed_total', help: 'Flood-routed frames this node forwarded for another node, by result (found: the target answered; hop-limit: every branch ran out of hops; no-route; deadline)', labelNames: ['result'], registers }),
    floodDropped: new Counter({ name: 'dawn_flood_dropped_total', help: 'Flood-routed frames this node neither forwarded nor delivered, by reason (duplicate, hop-limit, busy, oversized, malformed, rejected, deadline, stream, bad-reply)', labelNames: ['reason'], registers }),
    floodInFlight: new Gauge({ name: 'dawn_flood_in_flight', help: 'Flood-routed frames this node is relaying or delivering now', registers })
  }
}
