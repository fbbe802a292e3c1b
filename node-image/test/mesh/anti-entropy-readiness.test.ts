import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { startMesh, eventually, getJson, type Mesh } from './harness.ts'
import { startRawMember, type RawMember } from './raw-member.ts'
import { networkProtocols } from '../../src/p2p/protocols.ts'
import { request } from '../../src/p2p/lp-rpc.ts'

// A node whose only peer answers registry sync with nonsense: the failures show in the
// metrics and in /readyz, which turns 503 only after several failed rounds, and never
// because of one.

interface Ready { ready: boolean, reason: string, registrySync?: { consecutiveFailures: number, failingPeers: number, lastError?: { peer: string, reason: string } } }

describe('registry sync failures in /readyz', () => {
  let mesh: Mesh
  let liar: RawMember
  beforeAll(async () => {
    mesh = await startMesh({ nodes: 1 })
    const node = mesh.net.nodes[0]
    if (node === undefined) throw new Error('no node')
    liar = await startRawMember(mesh.net, node, { certified: true })
    const protocol = networkProtocols(mesh.net.network).registrySync
    // A verified member whose sync server answers every request with a well-signed envelope of garbage.
    await liar.host.handle(protocol, async (stream) => {
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(liar.messenger.seal('registry.sync', new TextEncoder().encode('{"op":"replicas","root":"not a digest"}')))
      await stream.close()
    }, { runOnLimitedConnection: true })
  }, 120_000)
  afterAll(async () => {
    await liar.stop()
    await mesh.stop()
  })

  const readyz = async (): Promise<{ status: number, body: Ready }> => {
    const res = await fetch(`${mesh.net.nodes[0]?.httpUrl ?? ''}/readyz`, { signal: AbortSignal.timeout(5000) })
    return { status: res.status, body: await res.json() as Ready }
  }
  const failures = async (): Promise<number> => await mesh.metric(0, 'dawn_anti_entropy_runs_total', { result: 'failed' })

  /** Pulling from the node with a root that differs makes the node pull back (at most once a second). */
  const provoke = async (): Promise<void> => {
    const node = mesh.net.nodes[0]
    if (node === undefined) throw new Error('no node')
    const body = new TextEncoder().encode(JSON.stringify({ op: 'replicas', root: '0'.repeat(64) }))
    await request(liar.host, peerIdFromString(node.peerId), networkProtocols(mesh.net.network).registrySync, liar.messenger.seal('registry.sync', body), { maxBytes: 1024 * 1024, signal: AbortSignal.timeout(10_000) })
  }

  it('stays ready after one failed round, and turns not-ready after several with every peer', async () => {
    // The round the node ran when the liar was verified (before or after its handler was up).
    await eventually(async () => await failures() >= 1, { what: 'the first failed round' })
    const first = await readyz()
    expect(first.status).toBe(200)
    expect(first.body.registrySync?.lastError?.peer).toBe(liar.creds.peerId)

    await eventually(async () => {
      if (await failures() < 3) await provoke()
      return await failures() >= 3
    }, { what: 'three failed rounds', timeoutMs: 30_000, intervalMs: 1200 })
    const after = await readyz()
    expect(after.status).toBe(503)
    expect(after.body.ready).toBe(false)
    expect(after.body.reason).toMatch(/registry sync has failed with every peer/)
    expect(after.body.registrySync).toMatchObject({ failingPeers: 1, lastError: { peer: liar.creds.peerId, reason: 'malformed' } })
    expect(await mesh.metric(0, 'dawn_registry_sync_failures_total', { reason: 'malformed' })).toBeGreaterThanOrEqual(1)
    expect(after.body.registrySync?.consecutiveFailures).toBeGreaterThanOrEqual(3)
    expect(await mesh.metric(0, 'dawn_registry_sync_consecutive_failures')).toBeGreaterThanOrEqual(3)

    // Without that peer the node is the first node of its mesh again, and ready.
    await liar.stop()
    await eventually(async () => (await getJson<{ peers: number }>(`${mesh.net.nodes[0]?.httpUrl ?? ''}/api/v1/node`)).peers === 0, { what: 'the liar to be gone' })
    expect((await readyz()).status).toBe(200)
  })
})
