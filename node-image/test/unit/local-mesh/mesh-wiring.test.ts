import { describe, it, expect } from 'vitest'
import { bootstrapNodesFor, loopbackLimits, loopbackPingIntervalMs, loopbackStartWave, loopbackTargetPeers } from '../../../src/local-mesh/mesh-wiring.ts'

describe('mesh wiring', () => {
  it('adds bootstrap nodes as the mesh grows', () => {
    expect([1, 5, 50, 51, 100, 200].map(bootstrapNodesFor)).toEqual([1, 2, 2, 3, 4, 8])
  })

  it('keeps a configured connection limit as the per-address limit', () => {
    const config: Record<string, unknown> = { p2p: { maxConnections: 120 } }
    loopbackLimits(100, config)
    expect(config.p2p).toMatchObject({ maxConnections: 120, maxInboundPerAddress: 120, inboundRatePerAddress: 200, maxPendingHandshakes: 100, pingIntervalMs: 100_000 })
  })

  it('is a full mesh up to 50 nodes, and above that each node dials up to 12 peers (a configured target stays)', () => {
    expect([1, 20, 50, 51, 100, 200].map(loopbackTargetPeers)).toEqual([undefined, undefined, undefined, 12, 12, 12])
    const small: Record<string, unknown> = {}
    loopbackLimits(20, small)
    expect(small.p2p).not.toHaveProperty('targetPeers')
    const large: Record<string, unknown> = {}
    loopbackLimits(100, large)
    expect(large.p2p).toMatchObject({ targetPeers: 12 })
    const set: Record<string, unknown> = { p2p: { targetPeers: 40 } }
    loopbackLimits(100, set)
    expect(set.p2p).toMatchObject({ targetPeers: 40 })
  })

  it('starts a full mesh all at once and a larger one 10 nodes at a time', () => {
    expect([1, 20, 50, 51, 100, 200].map(loopbackStartWave)).toEqual([1, 20, 50, 10, 10, 10])
  })

  it('pings less often as the mesh grows, so each node sends about two pings a second', () => {
    expect([1, 10, 20, 100, 200, 1000].map(loopbackPingIntervalMs)).toEqual([10_000, 10_000, 20_000, 100_000, 200_000, 600_000])
  })
})
