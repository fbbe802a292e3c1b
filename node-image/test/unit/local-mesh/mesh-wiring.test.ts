import { describe, it, expect } from 'vitest'
import { bootstrapNodesFor, loopbackLimits, loopbackPingIntervalMs } from '../../../src/local-mesh/mesh-wiring.ts'

describe('mesh wiring', () => {
  it('adds bootstrap nodes as the mesh grows', () => {
    expect([1, 5, 50, 51, 100, 200].map(bootstrapNodesFor)).toEqual([1, 2, 2, 3, 4, 8])
  })

  it('keeps a configured connection limit as the per-address limit', () => {
    const config: Record<string, unknown> = { p2p: { maxConnections: 120 } }
    loopbackLimits(100, config)
    expect(config.p2p).toMatchObject({ maxConnections: 120, maxInboundPerAddress: 120, inboundRatePerAddress: 200, maxPendingHandshakes: 100, pingIntervalMs: 100_000 })
  })

  it('pings less often as the mesh grows, so each node sends about two pings a second', () => {
    expect([1, 10, 20, 100, 200, 1000].map(loopbackPingIntervalMs)).toEqual([10_000, 10_000, 20_000, 100_000, 200_000, 600_000])
  })
})
