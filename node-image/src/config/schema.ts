import Type from 'typebox'
import type { Static } from 'typebox'
import { CatalogMode, NamingMode, ToolFilters } from './mcp-views.ts'

/**
 * The node config file: the one contract the operator writes into a ConfigMap.
 * Relative paths are resolved against the config file's directory.
 */
export const DNS_LABEL = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'

const FilePath = Type.String({ minLength: 1, maxLength: 4096 })
const Multiaddr = Type.String({ minLength: 3, maxLength: 1024, pattern: '^/' })

export const StaticTool = Type.Object({
  name: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
  description: Type.Optional(Type.String({ maxLength: 2000 }))
}, { additionalProperties: false })

const AgentId = Type.String({ pattern: DNS_LABEL, description: 'agent id, unique on this node; addressed as <nodeId>:<id>' })
const AgentName = Type.Optional(Type.String({ minLength: 1, maxLength: 128 }))
const AgentDescription = Type.String({ maxLength: 2000, default: '' })

/** A registry entry with a fixed tool list and no runtime behind it. */
export const StaticAgentConfig = Type.Object({
  id: AgentId,
  name: AgentName,
  kind: Type.Literal('static'),
  description: AgentDescription,
  tools: Type.Array(StaticTool, { maxItems: 256, default: [] })
}, { additionalProperties: false })

/** An agent built into dawn-node (echo, notes, mesh, content, ...). */
export const BuiltinAgentConfig = Type.Object({
  id: AgentId,
  name: AgentName,
  kind: Type.Literal('builtin'),
  description: AgentDescription,
  builtin: Type.String({ pattern: DNS_LABEL, description: 'which built-in agent' }),
  settings: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
}, { additionalProperties: false })

/** An MCP server reached over Streamable HTTP. */
export const RemoteAgentConfig = Type.Object({
  id: AgentId,
  name: AgentName,
  kind: Type.Literal('remote'),
  description: AgentDescription,
  url: Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048 }),
  /** A JSON object of HTTP headers (e.g. a mounted Secret); kept out of the config so it can be secret. */
  headersFile: Type.Optional(FilePath),
  /** Header name → environment variable holding its value (e.g. Authorization → MCP_TOKEN). */
  headersFromEnv: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9-]{1,128}$' }), Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' })))
}, { additionalProperties: false })

/** A local command speaking MCP on stdio (outside Kubernetes). */
export const StdioAgentConfig = Type.Object({
  id: AgentId,
  name: AgentName,
  kind: Type.Literal('stdio'),
  description: AgentDescription,
  command: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 64 }),
  env: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }), Type.String({ maxLength: 32768 })))
}, { additionalProperties: false })

export const AgentConfig = Type.Union([StaticAgentConfig, BuiltinAgentConfig, RemoteAgentConfig, StdioAgentConfig])

export const NodeConfigSchema = Type.Object({
  network: Type.Object({
    name: Type.String({ pattern: DNS_LABEL, description: 'network name; DHT and gossip protocols are private to it' }),
    swarmKeyFile: FilePath,
    caPublicKeyFile: FilePath,
    replayWindowSeconds: Type.Integer({ minimum: 5, maximum: 3600, default: 120 }),
    maxMessageBytes: Type.Integer({ minimum: 4096, maximum: 16 * 1024 * 1024, default: 1024 * 1024 })
  }, { additionalProperties: false }),
  node: Type.Object({
    dataDir: FilePath,
    keyFile: Type.Optional(FilePath),
    certificateFile: FilePath,
    relayServer: Type.Boolean({ default: false, description: 'serve circuit relay v2 reservations for other nodes' })
  }, { additionalProperties: false }),
  p2p: Type.Object({
    listen: Type.Array(Multiaddr, { minItems: 1, maxItems: 16, default: ['/ip4/0.0.0.0/tcp/4001'] }),
    announce: Type.Array(Multiaddr, { maxItems: 16, default: [] }),
    bootstrap: Type.Array(Multiaddr, { maxItems: 256, default: [] }),
    mdns: Type.Boolean({ default: false }),
    maxConnections: Type.Integer({ minimum: 8, maximum: 10_000, default: 300 }),
    targetPeers: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'members announced on gossip are dialled while this node has fewer connections; default maxConnections / 2 (a full mesh for fleets of up to that many nodes)' })),
    /** Inbound limits, checked when a socket is accepted, before any byte is read. */
    maxInboundPerAddress: Type.Integer({ minimum: 1, maximum: 10_000, default: 64, description: 'connections open at once from one remote IP' }),
    inboundRatePerAddress: Type.Integer({ minimum: 1, maximum: 10_000, default: 16, description: 'new inbound connections per second from one remote IP' }),
    maxPendingHandshakes: Type.Integer({ minimum: 1, maximum: 10_000, default: 64, description: 'inbound connections still in the PSK, Noise and muxer handshakes' }),
    handshakeTimeoutMs: Type.Integer({ minimum: 100, maximum: 60_000, default: 5_000, description: 'time for the PSK nonce exchange' }),
    upgradeTimeoutMs: Type.Integer({ minimum: 500, maximum: 120_000, default: 10_000, description: 'time for the whole inbound handshake (PSK, Noise, muxer)' }),
    pingIntervalMs: Type.Integer({ minimum: 1_000, maximum: 600_000, default: 10_000, description: 'liveness ping per connection (a stream-muxer ping frame each way); a stalled ping drops the connection' }),
    /** Per verified member, across every Dawn protocol; unverified peers get no stream at all. */
    maxStreamsPerPeer: Type.Integer({ minimum: 1, maximum: 10_000, default: 256, description: 'Dawn protocol streams one member may have open at once' }),
    maxBytesPerPeer: Type.Integer({ minimum: 64 * 1024, maximum: 4 * 1024 * 1024 * 1024, default: 64 * 1024 * 1024, description: 'bytes of request frames one member may have in flight at once' })
  }, { additionalProperties: false, default: {} }),
  http: Type.Object({
    // Loopback unless asked: a node run alone must not offer its API to the network. The operator sets 0.0.0.0 in pods.
    host: Type.String({ minLength: 1, maxLength: 255, default: '127.0.0.1', description: 'HTTP bind address; 0.0.0.0 to serve other hosts' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 })
  }, { additionalProperties: false, default: {} }),
  mcp: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'serve the mesh-wide MCP endpoint at /mcp' }),
    /** Browser origins allowed besides localhost; other Origin headers get 403 (DNS-rebinding defence). */
    allowedOrigins: Type.Array(Type.String({ pattern: '^https?://[^\\s/]+$', maxLength: 512 }), { maxItems: 64, default: [] }),
    /** A file holding the bearer token clients must send; unset means no token. */
    tokenFile: Type.Optional(FilePath),
    maxRequestBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 4 * 1024 * 1024 }),
    maxSessions: Type.Integer({ minimum: 1, maximum: 100_000, default: 1024 }),
    sessionIdleSeconds: Type.Integer({ minimum: 10, maximum: 86_400, default: 900 }),
    /** How /mcp names tools and prompts; the same on every node of a network, or clients see different names per node. */
    naming: NamingMode,
    /** full: every tool plus find_tools and call_tool; search: only those two, for meshes with more tools than a client can hold. */
    catalog: CatalogMode,
    /** Per agent id: allow/deny, renames, descriptions; applied before names are formed. The operator writes every DawnAgent's here. */
    toolFilters: ToolFilters
  }, { additionalProperties: false, default: {} }),
  toolCalls: Type.Object({
    /** required: encrypt and refuse plaintext; preferred: encrypt, accept plaintext; off: send plaintext (benchmarks). */
    encryption: Type.Union([Type.Literal('required'), Type.Literal('preferred'), Type.Literal('off')], { default: 'required' }),
    timeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000, description: 'deadline of a routed call unless the caller sets a shorter one' }),
    maxBytes: Type.Integer({ minimum: 64 * 1024, maximum: 64 * 1024 * 1024, default: 16 * 1024 * 1024, description: 'largest routed request or result frame' }),
    maxConcurrent: Type.Integer({ minimum: 1, maximum: 10_000, default: 512, description: 'calls this node serves at once; more are refused as busy' }),
    channel: Type.Boolean({ default: true, description: 'carry calls to a directly connected node on one warm, authenticated channel per node instead of a signed stream per call' }),
    floodMaxHops: Type.Integer({ minimum: 0, maximum: 16, default: 4, description: 'hops a call may travel through members when no direct or relayed path reaches its node (the flood route); 0 turns the flood route off' })
  }, { additionalProperties: false, default: {} }),
  storage: Type.Object({
    /** embedded: blocks in <dataDir>/content (a node run alone); kubo: the sidecar at kuboApiUrl. */
    backend: Type.Union([Type.Literal('embedded'), Type.Literal('kubo')], { default: 'embedded' }),
    kuboApiUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048, description: 'Kubo RPC API, e.g. http://127.0.0.1:5001; required with backend kubo' })),
    replication: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'nodes holding each pin unless the pin says otherwise' }),
    maxUploadBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 * 1024, default: 1024 * 1024 * 1024 }),
    fetchTimeoutMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 30_000, description: 'deadline of a get unless the caller sets one' }),
    blockTimeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000, description: 'how long one peer may take to send one block' }),
    manifestIntervalSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 30, description: 'how often the node re-gossips its pins and holdings' }),
    repairIntervalSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 10, description: 'how often replication is checked and repaired' })
  }, { additionalProperties: false, default: {} }),
  rooms: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'rooms and direct messages between the people on the nodes of the network' }),
    retention: Type.Object({
      maxMessages: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 50_000, description: 'messages kept per room; the oldest go first' }),
      maxAgeDays: Type.Integer({ minimum: 1, maximum: 3650, default: 90, description: 'messages older than this are dropped' })
    }, { additionalProperties: false, default: {} }),
    pageRate: Type.Object({
      perSecond: Type.Number({ minimum: 0.1, maximum: 100_000, default: 5, description: 'messages per second this node\'s page may post' }),
      burst: Type.Integer({ minimum: 1, maximum: 100_000, default: 20 })
    }, { additionalProperties: false, default: {} })
  }, { additionalProperties: false, default: {} }),
  log: Type.Object({
    level: Type.Union([Type.Literal('debug'), Type.Literal('info'), Type.Literal('warn'), Type.Literal('error')], { default: 'info' })
  }, { additionalProperties: false, default: {} }),
  // As many as the mesh registry holds (MAX_REGISTRY_ENTRIES): the operator writes every
  // DawnAgent placed on a pool here, and nothing caps those per pool.
  agents: Type.Array(AgentConfig, { maxItems: 10_000, default: [] })
}, { additionalProperties: false })

export type NodeConfig = Static<typeof NodeConfigSchema>
export type AgentConfig = Static<typeof AgentConfig>
export const AGENT_KINDS = ['static', 'builtin', 'remote', 'stdio'] as const
