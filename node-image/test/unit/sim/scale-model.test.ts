/**
 * The scale model (bench/sim): the same seed gives the same numbers, and each
 * simulator behaves as the protocol it models must (no time is asserted).
 */
import { describe, it, expect, beforeAll } from 'vitest'
import { measureHealCosts, simulateSpread } from '../../../bench/sim/anti-entropy-sim.ts'
import { simulateDht } from '../../../bench/sim/dht-sim.ts'
import { loadRealParams, type RealParams } from '../../../bench/sim/params.ts'
import { Prng } from '../../../bench/sim/prng.ts'
import { WAN, runDht, runGossip, runHeal } from '../../../bench/sim/scenarios.ts'
import { buildConnections } from '../../../bench/sim/topology.ts'
import { measureWireSizes, type WireSizes } from '../../../bench/sim/wire-sizes.ts'
import { summarize } from '../../../bench/util.ts'

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

let params: RealParams
let wire: WireSizes

beforeAll(async () => {
  params = await loadRealParams()
  wire = await measureWireSizes()
})

describe('scale model parameters', () => {
  it('reads gossipsub, kad-dht and config defaults that are coherent', () => {
    const g = params.gossip
    expect(g.Dlo).toBeLessThanOrEqual(g.D)
    expect(g.D).toBeLessThanOrEqual(g.Dhi)
    expect(params.dht.k).toBeGreaterThan(0)
    expect(params.dht.alpha).toBeGreaterThan(0)
    expect(params.mesh.targetPeers).toBe(Math.floor(params.mesh.maxConnections / 2))
    // A delta gossip message is its envelope plus protobuf and stream framing.
    expect(wire.deltaMessage).toBeGreaterThan(wire.deltaEnvelope)
  })
})

describe('determinism', () => {
  it('the same seed gives the same gossip, DHT and anti-entropy numbers; another seed does not', async () => {
    const gossip = (seed: number): unknown => runGossip(params, wire, { n: 300, cost: WAN, loss: 0.05, publishes: 3, seed })
    expect(gossip(11)).toEqual(gossip(11))
    expect(gossip(12)).not.toEqual(gossip(11))
    expect(runDht(params, 500, 20, 5)).toEqual(runDht(params, 500, 20, 5))
    expect(runDht(params, 500, 20, 6)).not.toEqual(runDht(params, 500, 20, 5))
    const heal = async (seed: number): Promise<unknown> => await runHeal(params, wire, { n: 60, changed: 3, recordsPerNode: 1, seed })
    expect(await heal(4)).toEqual(await heal(4))
  })

  it('the PRNG stream depends on the seed alone', () => {
    const a = new Prng(42)
    const b = new Prng(42)
    const xs = Array.from({ length: 5 }, () => a.uint32())
    expect(Array.from({ length: 5 }, () => b.uint32())).toEqual(xs)
    expect(new Prng(43).uint32()).not.toBe(xs[0])
  })
})

describe('gossip', () => {
  it('delivers every publish to every node when nothing is lost, full mesh or not', () => {
    for (const n of [50, 400]) {
      const r = runGossip(params, wire, { n, cost: WAN, loss: 0, publishes: 4, seed: 1 })
      expect(r.deliveryRatio).toBe(1)
      expect(r.hops.length).toBe(4 * (n - 1))
      // Eager forwarding does it: heartbeat gossip is the repair path, not the delivery path.
      expect(r.viaGossip).toBeLessThan(r.hops.length * 0.01)
    }
  })

  it('flood publish reaches a full mesh in one hop; a larger mesh needs more', () => {
    const small = runGossip(params, wire, { n: 50, cost: WAN, loss: 0, publishes: 4, seed: 2 })
    const large = runGossip(params, wire, { n: 2000, cost: WAN, loss: 0, publishes: 4, seed: 2 })
    // Most copies come straight from the publisher; a slow direct link can lose to a two-hop path.
    expect(summarize(small.hops).p50).toBe(1)
    expect(mean(large.hops)).toBeGreaterThan(2)
  })

  it('recovers lost transmissions through IHAVE/IWANT', () => {
    const r = runGossip(params, wire, { n: 400, cost: WAN, loss: 0.6, publishes: 4, seed: 3 })
    // At 60 % loss eager forwarding misses nodes; heartbeat gossip reaches them.
    const clean = runGossip(params, wire, { n: 400, cost: WAN, loss: 0, publishes: 4, seed: 3 })
    expect(r.viaGossip).toBeGreaterThan(clean.viaGossip + 10)
    expect(r.deliveryRatio).toBeGreaterThan(0.99)
  })
})

describe('DHT', () => {
  it('lookup hops grow with log N', () => {
    // Small buckets and no parallelism make the log N growth plain.
    const hops = [64, 512, 4096].map(n => mean(simulateDht({ n, k: 2, alpha: 1, lookups: 100, seed: 7 }).hops))
    expect(hops[1]).toBeGreaterThan(hops[0] as number)
    expect(hops[2]).toBeGreaterThan(hops[1] as number)
    // log2 N doubles from 64 to 4096: hops grow, but far slower than N (64x).
    expect((hops[2] as number) / (hops[0] as number)).toBeGreaterThan(1.5)
    expect((hops[2] as number) / (hops[0] as number)).toBeLessThan(8)
  })

  it('finds the closest node to a key with the real k and alpha', () => {
    const r = runDht(params, 2000, 50, 8)
    expect(r.foundClosest).toBeGreaterThanOrEqual(49)
  })
})

describe('anti-entropy after a partition', () => {
  it('pulls leave both sides equal, and the bytes grow with the records changed, not with the records held', async () => {
    const cost = async (recordsPerNode: number, changed: number): Promise<number> => {
      const c = await measureHealCosts({ n: 200, recordsPerNode, changed, maxMessageBytes: params.mesh.maxMessageBytes, envelopeOverhead: wire.envelopeOverhead, seed: 3 })
      expect(c.digestsEqual).toBe(true)
      return c.cost.A.B.bytes
    }
    const r1 = await cost(1, 1)
    const r10 = await cost(1, 10)
    const r50 = await cost(1, 50)
    expect(r10).toBeGreaterThan(r1)
    expect(r50).toBeGreaterThan(r10)
    // 30x the registry, same changes: about the same bytes.
    expect(await cost(30, 10)).toBeLessThan(r10 * 1.1)
  })

  it('equal states cost one root comparison', async () => {
    const c = await measureHealCosts({ n: 100, recordsPerNode: 1, changed: 5, maxMessageBytes: params.mesh.maxMessageBytes, envelopeOverhead: wire.envelopeOverhead, seed: 9 })
    expect(c.cost.A.A.requests).toBe(1)
    expect(c.cost.AB.A.values).toBe(0)
  })

  it('spreads both sides to every node in a few rounds', async () => {
    const c = await measureHealCosts({ n: 300, recordsPerNode: 1, changed: 5, maxMessageBytes: params.mesh.maxMessageBytes, envelopeOverhead: wire.envelopeOverhead, seed: 10 })
    const spread = simulateSpread({ connections: buildConnections(300, params.mesh.targetPeers, new Prng(1)), costs: c, seed: 2 })
    expect(spread.converged).toBe(true)
    expect(spread.rounds).toBeLessThan(12)
  })
})
