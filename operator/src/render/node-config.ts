// The node config file of a pool (one file for every pod; per-pod values come from
// env overrides the StatefulSet sets). Its shape is node-image's NodeConfigSchema,
// imported, never restated.
import { Compile } from 'typebox/compile'
import { Value } from 'typebox/value'
import { NodeConfigSchema, type AgentConfig, type NodeConfig } from '@dawn/node-image/config'
import type { ToolFilters } from '@dawn/node-image/mcp-views'
import { KINDS } from '../api/group.ts'
import { effectiveNetworkName, type DawnNetwork } from '../api/dawn-network.ts'
import { KUBO_API_PORT, type DawnNode } from '../api/dawn-node.ts'
import { effectiveAgentId, type DawnAgent } from '../api/dawn-agent.ts'
import { bootstrapAddresses, compareStrings, type PoolPeers } from './addresses.ts'
import { nodeAgentEntry } from './agent.ts'
import { canonicalJson } from './canonical-json.ts'
import { nameOf } from './labels.ts'
import { usableToolFilter } from './tool-filters.ts'
import { CA_PUBLIC_KEY_FILE, DATA_DIR, NODE_CERT_FILE, NODE_KEY_FILE, SWARM_KEY_FILE } from './paths.ts'

/** The rendered config does not satisfy the node's schema: a bug in the operator, not in the input. */
export class NodeConfigRenderError extends Error {
  readonly issues: string[]
  constructor (pool: string, issues: string[]) {
    super(`rendered node config of pool ${pool} does not match the node's schema:\n  - ${issues.join('\n  - ')}`)
    this.name = 'NodeConfigRenderError'
    this.issues = issues
  }
}

const checkNodeConfig = Compile(NodeConfigSchema)
/** The node accepts at most this many bootstrap addresses. */
export const MAX_BOOTSTRAP_ADDRESSES: number = (NodeConfigSchema.properties.p2p.properties.bootstrap as { maxItems?: number }).maxItems ?? 256

export interface RenderNodeConfigInput {
  network: DawnNetwork
  pool: DawnNode
  /** Pools of the network with their peer ids; those with roles.bootstrap become the bootstrap list. */
  bootstrapPools: readonly PoolPeers[]
  /** DawnAgents placed on this pool (see resolvePlacement). */
  agents: readonly DawnAgent[]
  /**
   * Every DawnAgent of the network, placed here or not (default: `agents`). Their spec.tools
   * go into every pool's config: a node filters what it lists and calls for the whole mesh.
   */
  networkAgents?: readonly DawnAgent[]
}

/** Two DawnAgents claim one agent id on a pool: the oldest wins. */
export interface AgentConflict { agentId: string, kept: string, dropped: string[] }

export interface RenderedNodeConfig {
  config: NodeConfig
  /** config.json as written to the ConfigMap: canonical JSON, byte-equal for equal input. */
  text: string
  conflicts: AgentConflict[]
  warnings: string[]
}

export function renderNodeConfig (input: RenderNodeConfigInput): RenderedNodeConfig {
  const { network, pool } = input
  const poolName = nameOf(pool, KINDS.node)
  const clusterDomain = network.spec.clusterDomain
  const warnings: string[] = []

  const sameNetwork = input.bootstrapPools.filter(p =>
    p.pool.metadata.namespace === pool.metadata.namespace && p.pool.spec.networkRef.name === pool.spec.networkRef.name)
  const bootstrap = bootstrapAddresses(sameNetwork, clusterDomain, MAX_BOOTSTRAP_ADDRESSES)
  if (!sameNetwork.some(p => p.pool.spec.roles.bootstrap)) {
    warnings.push(`no pool of network ${pool.spec.networkRef.name} has roles.bootstrap: true, so nodes have nobody to join; set it on at least one pool`)
  }

  const base = {
    network: { name: effectiveNetworkName(network), swarmKeyFile: SWARM_KEY_FILE, caPublicKeyFile: CA_PUBLIC_KEY_FILE },
    node: { dataDir: DATA_DIR, keyFile: NODE_KEY_FILE, certificateFile: NODE_CERT_FILE, relayServer: pool.spec.roles.relay },
    p2p: { listen: [`/ip4/0.0.0.0/tcp/${pool.spec.ports.p2p}`], announce: [], bootstrap, mdns: false },
    http: { host: '0.0.0.0', port: pool.spec.ports.http },
    log: { level: pool.spec.logLevel },
    toolCalls: { encryption: network.spec.encryption.policy },
    // Every pod has a Kubo sidecar; its RPC API is on the pod's loopback only.
    storage: { backend: 'kubo', kuboApiUrl: `http://127.0.0.1:${KUBO_API_PORT}`, replication: network.spec.ipfs.replicationFactor },
    agents: []
  }
  // The node's own schema supplies the defaults we do not decide (replay window, limits...).
  const config = Value.Default(NodeConfigSchema, base) as NodeConfig
  const { agents, conflicts } = agentEntries(input.agents, clusterDomain)
  config.agents = agents
  // Both reload live on the node (config/watch.ts), and configChecksum leaves them out.
  config.mcp.naming = network.spec.mcp.naming
  config.mcp.toolFilters = toolFilters(input.networkAgents ?? input.agents)

  if (!checkNodeConfig.Check(config)) {
    throw new NodeConfigRenderError(poolName, checkNodeConfig.Errors(config).map(e => `${e.instancePath === '' ? '(root)' : e.instancePath}: ${e.message}`))
  }
  return { config, text: canonicalJson(config), conflicts, warnings }
}

function agentEntries (agents: readonly DawnAgent[], clusterDomain: string): { agents: AgentConfig[], conflicts: AgentConflict[] } {
  const byId = new Map<string, DawnAgent[]>()
  for (const agent of agents) {
    const id = effectiveAgentId(agent)
    byId.set(id, [...byId.get(id) ?? [], agent])
  }
  const entries: AgentConfig[] = []
  const conflicts: AgentConflict[] = []
  for (const id of [...byId.keys()].sort(compareStrings)) {
    const claimants = [...byId.get(id) ?? []].sort(olderFirst)
    const [winner, ...losers] = claimants
    if (winner === undefined) continue
    entries.push(nodeAgentEntry(winner, clusterDomain))
    if (losers.length > 0) conflicts.push({ agentId: id, kept: winner.metadata.name ?? '', dropped: losers.map(a => a.metadata.name ?? '') })
  }
  return { agents: entries, conflicts }
}

/** spec.tools by agent id; where two DawnAgents claim an id, the one configured (the oldest) decides. */
function toolFilters (agents: readonly DawnAgent[]): ToolFilters {
  const winners = new Map<string, DawnAgent>()
  for (const agent of [...agents].sort(olderFirst)) {
    const id = effectiveAgentId(agent)
    if (!winners.has(id)) winners.set(id, agent)
  }
  const filters: ToolFilters = {}
  for (const id of [...winners.keys()].sort(compareStrings)) {
    const tools = winners.get(id)?.spec.tools
    if (tools === undefined) continue
    filters[id] = usableToolFilter(tools)
  }
  return filters
}

function olderFirst (a: DawnAgent, b: DawnAgent): number {
  const ta = createdAt(a)
  const tb = createdAt(b)
  if (ta !== tb) return ta - tb
  return compareStrings(a.metadata.name ?? '', b.metadata.name ?? '')
}

// Typed clients give a Date, the custom-objects client the raw RFC 3339 string.
function createdAt (agent: DawnAgent): number {
  const raw = agent.metadata.creationTimestamp as Date | string | undefined
  if (raw === undefined) return Number.MAX_SAFE_INTEGER
  const t = new Date(raw).getTime()
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t
}
