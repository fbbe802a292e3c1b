// The round trips replica choice reads: libp2p's connection monitor values, this node at 0,
// and a relayed connection a hop farther than a direct one that pings the same.
import { describe, it, expect } from 'vitest'
import type { Connection, Libp2p } from '@libp2p/interface'
import { connectionRtt, RELAYED_EXTRA_MS } from '../../../src/node/mesh-calls.ts'
import { newNodeId } from '../mcp/fixtures.ts'

function libp2pWith (byPeer: Map<string, Array<Pick<Connection, 'rtt' | 'limits'>>>): Pick<Libp2p, 'getConnections'> {
  return { getConnections: ((peer?: { toString: () => string }) => byPeer.get(peer?.toString() ?? '') ?? []) as unknown as Libp2p['getConnections'] }
}

describe('connectionRtt', () => {
  it('reads the lowest measured connection, 0 for this node, a relayed one a hop farther, and nothing when unmeasured', async () => {
    const [self, direct, relayed, both, unmeasured] = await Promise.all(Array.from({ length: 5 }, newNodeId))
    const rtt = connectionRtt(libp2pWith(new Map([
      [direct!, [{ rtt: 0 }]],
      [relayed!, [{ rtt: 0, limits: { bytes: 1n } }]],
      [both!, [{ rtt: 3, limits: {} }, { rtt: 2 }]],
      [unmeasured!, [{}]]
    ])), self!)
    expect(rtt(self!)).toBe(0)
    expect(rtt(direct!)).toBe(0)
    expect(rtt(relayed!)).toBe(RELAYED_EXTRA_MS)
    expect(rtt(both!)).toBe(2)
    expect(rtt(unmeasured!)).toBeUndefined()
    expect(rtt('not a peer id')).toBeUndefined()
  })
})
