import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Host } from '../../src/p2p/host.ts'
import { loopbackHost } from '../support/loopback-host.ts'
import { generateSwarmKey } from '../../src/identity/swarm-key.ts'
import { kuboFetch, rpc, startKubo, type KuboDaemon } from '../../../test/support/kubo.ts'
import { tempDir } from './harness.ts'

// go-libp2p's pnet is the second implementation of the swarm.key private network, so
// a Dawn libp2p host (host.ts: PskProtector, Noise, yamux) and a real Kubo daemon
// prepared like the pod's sidecar (the operator's init script, LIBP2P_FORCE_PNET)
// completing a connection with the same key proves the PSK stage is wire-compatible:
// with a wrong keystream or nonce handling, Noise's first message is garbage.

const tcpAddr = (addrs: string[]): Multiaddr => {
  const addr = addrs.find(a => /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//.test(a))
  if (addr === undefined) throw new Error(`no loopback TCP address in ${addrs.join(', ')}`)
  return multiaddr(addr)
}

describe('the private network (PSK) against Kubo\'s go-libp2p pnet', () => {
  let dir = ''
  const swarmKey = generateSwarmKey()
  let kubo: KuboDaemon
  const hosts: Host[] = []

  const peersOf = async (k: KuboDaemon): Promise<string[]> =>
    ((await rpc<{ Peers: Array<{ Peer: string }> | null }>(k.apiUrl, 'swarm/peers')).Peers ?? []).map(p => p.Peer)
  /** Kubo's `ipfs ping`: one JSON object per line, the echo replies with Success and Time (ns). */
  const kuboPing = async (peerId: string): Promise<Array<{ Success: boolean, Time: number, Text: string }>> => {
    const res = await kuboFetch(kubo.apiUrl, 'ping', { arg: peerId, count: '3' })
    const text = await res.text()
    expect(res.ok, text).toBe(true)
    return text.split('\n').filter(l => l.trim() !== '').map(l => JSON.parse(l) as { Success: boolean, Time: number, Text: string })
  }

  beforeAll(async () => {
    dir = await tempDir('dawn-kubo-pnet-')
    kubo = await startKubo({ dir: join(dir, 'kubo'), swarmKey })
  })
  afterAll(async () => {
    await Promise.all(hosts.map(async h => { await h.libp2p.stop() }))
    await kubo.stop()
    if (dir !== '') await rm(dir, { recursive: true, force: true })
  })

  it('a Dawn host dials Kubo: PSK, Noise and yamux complete and a ping round-trips', async () => {
    const host = await loopbackHost(swarmKey)
    hosts.push(host)
    const addr = tcpAddr(kubo.swarmAddrs)
    const conn = await host.libp2p.dial(addr, { signal: AbortSignal.timeout(15_000) })
    expect(conn.remotePeer.toString()).toBe(kubo.peerId)
    expect(conn.encryption).toBe('/noise')
    expect(conn.multiplexer).toBe('/yamux/1.0.0')
    expect(host.protector.stats).toMatchObject({ completed: 1, failed: 0 })
    const rtt = await host.libp2p.services.ping.ping(addr, { signal: AbortSignal.timeout(10_000) })
    expect(rtt).toBeGreaterThanOrEqual(0)
    expect(await peersOf(kubo)).toContain(host.libp2p.peerId.toString())
  })

  it('Kubo dials a Dawn host (swarm connect) and pings it', async () => {
    const host = await loopbackHost(swarmKey)
    hosts.push(host)
    const peerId = host.libp2p.peerId.toString()
    const addr = host.libp2p.getMultiaddrs()[0]?.toString() ?? ''
    expect(addr).toMatch(new RegExp(`/p2p/${peerId}$`))
    const res = await kuboFetch(kubo.apiUrl, 'swarm/connect', { arg: addr, timeout: '15s' })
    expect(res.ok, await res.text()).toBe(true)
    expect(host.libp2p.getConnections(peerIdFromString(kubo.peerId))).toHaveLength(1)
    const replies = await kuboPing(peerId)
    const echoes = replies.filter(r => r.Success && r.Time > 0)
    expect(echoes.length, JSON.stringify(replies)).toBeGreaterThanOrEqual(1)
  })

  it('with another key neither side connects, and no connection is left', async () => {
    const stranger = await loopbackHost(generateSwarmKey())
    hosts.push(stranger)
    const strangerId = stranger.libp2p.peerId.toString()
    // Dawn -> Kubo: the nonces cross (each side's protector completes), then every byte
    // decrypts to noise under the other key and the Noise handshake fails.
    await expect(stranger.libp2p.dial(tcpAddr(kubo.swarmAddrs), { signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    // Kubo -> Dawn.
    const res = await kuboFetch(kubo.apiUrl, 'swarm/connect', { arg: stranger.libp2p.getMultiaddrs()[0]?.toString() ?? '', timeout: '5s' })
    expect(res.ok).toBe(false)
    expect((await res.json() as { Message: string }).Message).toMatch(/failed to negotiate security protocol|deadline exceeded|context canceled/)
    expect(stranger.protector.stats.completed).toBeGreaterThanOrEqual(1)
    expect(stranger.libp2p.getConnections()).toHaveLength(0)
    expect(await peersOf(kubo)).not.toContain(strangerId)
    // Hosts with the key that connected earlier are still connected.
    const keyed = hosts.filter(h => h !== stranger && h.libp2p.getConnections(peerIdFromString(kubo.peerId)).length > 0)
    expect(await peersOf(kubo)).toEqual(expect.arrayContaining(keyed.map(h => h.libp2p.peerId.toString())))
  })
})
