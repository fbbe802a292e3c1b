// The round trips replica choice reads: the liveness pings' values, this node at 0,
// and a relayed connection a hop farther than a direct one that pings the same.
import { describe, it, expect } from 'vitest'
import type { Connection, Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { connectionRoute, connectionRtt, createMeshCalls, RELAYED_EXTRA_MS } from '../../../src/node/mesh-calls.ts'
import { createNodeMetrics } from '../../../src/metrics/node-metrics.ts'
import { newNodeId } from '../mcp/fixtures.ts'
import { metricValue } from '../p2p/members.ts'

const tcp = multiaddr('/ip4/127.0.0.1/tcp/4001')
const circuit = multiaddr('/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit')

function libp2pWith (byPeer: Map<string, Array<Pick<Connection, 'rtt' | 'limits' | 'remoteAddr'>>>): Pick<Libp2p, 'getConnections'> {
  return { getConnections: ((peer?: { toString: () => string }) => byPeer.get(peer?.toString() ?? '') ?? []) as unknown as Libp2p['getConnections'] }
}

describe('connectionRtt', () => {
  it('reads the lowest measured connection, 0 for this node, a relayed one (limited or not) a hop farther, and nothing when unmeasured', async () => {
    const [self, direct, relayed, unlimitedRelay, both, unmeasured] = await Promise.all(Array.from({ length: 6 }, newNodeId))
    const rtt = connectionRtt(libp2pWith(new Map([
      [direct!, [{ rtt: 0, remoteAddr: tcp }]],
      [relayed!, [{ rtt: 0, limits: { bytes: 1n }, remoteAddr: circuit }]],
      [unlimitedRelay!, [{ rtt: 0, remoteAddr: circuit }]],
      [both!, [{ rtt: 3, limits: {}, remoteAddr: circuit }, { rtt: 2, remoteAddr: tcp }]],
      [unmeasured!, [{ remoteAddr: tcp }]]
    ])), self!)
    expect(rtt(self!)).toBe(0)
    expect(rtt(direct!)).toBe(0)
    expect(rtt(relayed!)).toBe(RELAYED_EXTRA_MS)
    expect(rtt(unlimitedRelay!)).toBe(RELAYED_EXTRA_MS)
    expect(rtt(both!)).toBe(2)
    expect(rtt(unmeasured!)).toBeUndefined()
    expect(rtt('not a peer id')).toBeUndefined()
  })
})

describe('connectionRoute', () => {
  it('is direct with any direct connection, relayed with only relayed ones (a member relay sets no limits), and unknown without one', async () => {
    const [self, direct, relayed, unlimitedRelay, both, none] = await Promise.all(Array.from({ length: 6 }, newNodeId))
    const route = connectionRoute(libp2pWith(new Map([
      [direct!, [{ remoteAddr: tcp }]],
      [relayed!, [{ limits: { bytes: 1n }, remoteAddr: circuit }]],
      [unlimitedRelay!, [{ remoteAddr: circuit }]],
      [both!, [{ limits: {}, remoteAddr: circuit }, { remoteAddr: tcp }]]
    ])), self!)
    expect([route(self!), route(direct!), route(relayed!), route(unlimitedRelay!), route(both!), route(none!), route('not a peer id')])
      .toEqual(['direct', 'direct', 'relayed', 'relayed', 'direct', undefined, undefined])
  })
})

describe('createMeshCalls', () => {
  it('counts each logical call\'s choice by reason and every attempt by outcome and what its failure meant', async () => {
    const metrics = createNodeMetrics()
    const calls = createMeshCalls({
      libp2p: libp2pWith(new Map()),
      metrics,
      registry: { entries: () => [], addEventListener: () => {} }
    }, { selfId: 'self', view: { naming: 'logical', toolFilters: {}, catalog: 'full' } })
    calls.components.onAttempts([
      { nodeId: 'a', inFlight: 0, reason: 'lowest-rtt', outcome: 'node-unreachable', failover: 'next-replica' },
      { nodeId: 'b', inFlight: 0, reason: 'tie-break', outcome: 'ok' }
    ])
    expect(await metricValue(metrics.replicaChoices, { reason: 'lowest-rtt' })).toBe(1)
    expect(await metricValue(metrics.replicaChoices)).toBe(1)
    expect(await metricValue(metrics.failoverAttempts, { outcome: 'node-unreachable', failover: 'next-replica' })).toBe(1)
    expect(await metricValue(metrics.failoverAttempts, { outcome: 'ok', failover: 'none' })).toBe(1)
    expect((await metrics.registry.metrics())).toContain('dawn_failover_attempts_total{outcome="ok",failover="none"} 1')
  })
})
