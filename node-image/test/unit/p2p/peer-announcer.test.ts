import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { PeerAnnouncer } from '../../../src/p2p/peer-announcer.ts'
import type { GossipChannel } from '../../../src/p2p/gossip-channel.ts'

const SELF = '12D3KooWKonv2urB8VQsQzTUZFV7RSQY9o8YYPYeYfsRFPE9Wyc5'

/** An announcer over a fake libp2p with `connections` open and a channel that records what it publishes. */
function setup (connections: { n: number }): { announcer: PeerAnnouncer, published: Uint8Array[] } {
  const published: Uint8Array[] = []
  const channel = { publish: async (body: Uint8Array) => { published.push(body) } } as unknown as GossipChannel
  const libp2p = {
    dial: async () => { throw new Error('not in this test') },
    getConnections: () => Array.from({ length: connections.n }),
    getMultiaddrs: () => [multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${SELF}`)]
  } as never
  const announcer = new PeerAnnouncer({ libp2p, channel: () => channel }, { targetPeers: 150 })
  return { announcer, published }
}

describe('PeerAnnouncer', () => {
  beforeEach(() => { vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance', 'Date'] }) })
  afterEach(() => { vi.useRealTimers() })

  it('announces once when it joins, however many peers verify at once, and once more shortly after', async () => {
    const connections = { n: 0 }
    const { announcer, published } = setup(connections)
    announcer.start()
    connections.n = 3
    for (let i = 0; i < 50; i++) announcer.announceSoon()
    await vi.advanceTimersByTimeAsync(1000)
    expect(published).toHaveLength(1)
    expect(JSON.parse(new TextDecoder().decode(published[0]))).toEqual({ addrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${SELF}`] })
    await vi.advanceTimersByTimeAsync(3000)
    expect(published).toHaveLength(2)
    announcer.stop()
  })

  it('does not re-announce for every newcomer: at most once per interval', async () => {
    const connections = { n: 99 }
    const { announcer, published } = setup(connections)
    announcer.start()
    announcer.announceSoon()
    await vi.advanceTimersByTimeAsync(4000)
    expect(published).toHaveLength(2)
    // 99 newcomers, one per 100 ms, all within the 15 s interval of the last announcement.
    for (let i = 0; i < 99; i++) {
      announcer.announceSoon()
      await vi.advanceTimersByTimeAsync(100)
    }
    expect(published).toHaveLength(2)
    // Long after, a newcomer (or a reconnection after a partition) is announced to again.
    await vi.advanceTimersByTimeAsync(20_000)
    const before = published.length
    announcer.announceSoon()
    await vi.advanceTimersByTimeAsync(1000)
    expect(published.length).toBe(before + 1)
    announcer.stop()
  })

  it('waits longer between periodic announcements the more peers it has', async () => {
    const connections = { n: 100 }
    const { announcer, published } = setup(connections)
    announcer.start()
    // First periodic announcement at intervalMs, the join repeat 3 s later; then the period is ~100 peers x 1 s.
    await vi.advanceTimersByTimeAsync(15_000 + 3000 + 100)
    expect(published).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(70_000)
    expect(published).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(60_000)
    expect(published).toHaveLength(3)
    expect(announcer.periodMs()).toBeGreaterThanOrEqual(75_000)
    connections.n = 4
    expect(announcer.periodMs()).toBeLessThanOrEqual(15_000 * 1.25)
    announcer.stop()
  })

  it('dials an announcing member while below its target, and only stores its addresses at the target', async () => {
    const OTHER = '12D3KooWEsjspHeApNaY1vmzhsHrs3Aroy66HDZmxCb64MEkaHmU'
    const THIRD = '12D3KooWAoxGbCVZvZPNioBeZ1rWU5dGZ8tUscaDquQTdAbM6bf8'
    const dialled: string[][] = []
    const stored: string[][] = []
    const connections = { n: 11 }
    const libp2p = {
      dial: async (addrs: Array<{ toString: () => string }>) => { dialled.push(addrs.map(String)) },
      // None to the announcer itself; `n` in all.
      getConnections: (peer?: unknown) => peer === undefined ? Array.from({ length: connections.n }) : [],
      getMultiaddrs: () => [],
      peerStore: { merge: async (_peer: unknown, data: { multiaddrs: unknown[] }) => { stored.push(data.multiaddrs.map(String)) } }
    } as never
    const announcer = new PeerAnnouncer({ libp2p, channel: () => ({}) as unknown as GossipChannel }, { targetPeers: 12 })
    const own = `/ip4/127.0.0.1/tcp/4002/p2p/${OTHER}`
    const env = (addrs: string[]): never => ({ type: 'peer.announce', from: OTHER, ts: 0, nonce: 'n', body: new TextEncoder().encode(JSON.stringify({ addrs })) }) as never
    // A third party's address in the announcement is never dialled nor stored.
    announcer.handle(env([own, `/ip4/10.0.0.9/tcp/4001/p2p/${THIRD}`]))
    await vi.advanceTimersByTimeAsync(0)
    expect(dialled).toEqual([[own]])
    expect(stored).toEqual([])
    connections.n = 12
    announcer.handle(env([own]))
    await vi.advanceTimersByTimeAsync(0)
    expect(dialled).toHaveLength(1)
    expect(stored).toEqual([[own]])
  })

  it('counts the members it has heard announce as the mesh size, when that is more than its connections', () => {
    const ids = ['12D3KooWEsjspHeApNaY1vmzhsHrs3Aroy66HDZmxCb64MEkaHmU', '12D3KooWAoxGbCVZvZPNioBeZ1rWU5dGZ8tUscaDquQTdAbM6bf8']
    const connections = { n: 1 }
    const libp2p = {
      dial: async () => {},
      getConnections: (peer?: unknown) => peer === undefined ? Array.from({ length: connections.n }) : [],
      getMultiaddrs: () => [],
      peerStore: { merge: async () => {} }
    } as never
    const announcer = new PeerAnnouncer({ libp2p, channel: () => ({}) as unknown as GossipChannel }, { targetPeers: 1 })
    expect(announcer.meshSize()).toBe(1)
    for (const from of [...ids, ids[0]]) {
      announcer.handle({ type: 'peer.announce', from, ts: 0, nonce: 'n', body: new TextEncoder().encode(JSON.stringify({ addrs: [] })) } as never)
    }
    // Two members heard (one twice) and this node.
    expect(announcer.meshSize()).toBe(3)
    connections.n = 7
    expect(announcer.meshSize()).toBe(7)
  })

  it('sends nothing while it has no connection, nor after stop', async () => {
    const connections = { n: 0 }
    const { announcer, published } = setup(connections)
    announcer.start()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(published).toHaveLength(0)
    announcer.stop()
    connections.n = 5
    announcer.announceSoon()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(published).toHaveLength(0)
  })
})
