/**
 * The runs the sim bench reports, as plain functions of their options, so the
 * unit tests run the very same code at small sizes.
 */
import type { CostModel } from './cost-model.ts'
import { simulateDht, type DhtSimResult } from './dht-sim.ts'
import { simulateGossip, type GossipSimResult } from './gossip-sim.ts'
import { measureHealCosts, simulateSpread, type HealCosts, type SpreadResult } from './anti-entropy-sim.ts'
import type { RealParams } from './params.ts'
import { Prng } from './prng.ts'
import { buildConnections, buildTopology } from './topology.ts'
import type { WireSizes } from './wire-sizes.ts'

/** Between machines: 10 ms median hop with a 4x p99 tail, 100 Mbit/s uplinks, one core per node. */
export const WAN: CostModel = { hopMedianMs: 10, hopP99OverP50: 4, bandwidthBytesPerMs: 12_500, sendMs: 0.1, validateMs: 0.3, duplicateMs: 0.02, cores: 'per-node' }
/**
 * The registry bench: loopback hops, and every node in one process (one core).
 * CPU costs: Ed25519 verify ~89 us plus envelope checks and the registry join
 * per receipt; ~0.1 ms of libp2p framing and Noise per message sent
 * (CPU profiles of this tree made for issue 17).
 */
export const LOOPBACK_ONE_PROCESS: CostModel = { hopMedianMs: 0.1, hopP99OverP50: 3, bandwidthBytesPerMs: 1_000_000, sendMs: 0.1, validateMs: 0.3, duplicateMs: 0.02, cores: 1 }

/** The multi-process convergence bench: loopback hops, each node its own process, all on this machine's 2 cores. */
export const LOOPBACK_PROCESSES: CostModel = { ...LOOPBACK_ONE_PROCESS, cores: 2 }

export interface GossipScenario { n: number, cost: CostModel, loss: number, publishes: number, seed: number }

export function runGossip (params: RealParams, wire: WireSizes, s: GossipScenario): GossipSimResult {
  const rng = new Prng(s.seed)
  const topology = buildTopology(s.n, params.mesh.targetPeers, params.gossip, rng)
  return simulateGossip({ topology, params: params.gossip, cost: s.cost, messageBytes: wire.deltaMessage, controlBytes: wire.control, loss: s.loss, publishes: s.publishes, seed: s.seed + 1 })
}

export function runDht (params: RealParams, n: number, lookups: number, seed: number): DhtSimResult {
  return simulateDht({ n, k: params.dht.k, alpha: params.dht.alpha, lookups, seed })
}

export interface HealScenario { n: number, changed: number, recordsPerNode: number, seed: number }
export interface HealResult { costs: HealCosts, spread: SpreadResult }

export async function runHeal (params: RealParams, wire: WireSizes, s: HealScenario): Promise<HealResult> {
  const costs = await measureHealCosts({ n: s.n, recordsPerNode: s.recordsPerNode, changed: s.changed, maxMessageBytes: params.mesh.maxMessageBytes, envelopeOverhead: wire.envelopeOverhead, seed: s.seed })
  const connections = buildConnections(s.n, params.mesh.targetPeers, new Prng(s.seed + 2))
  return { costs, spread: simulateSpread({ connections, costs, seed: s.seed + 3 }) }
}
