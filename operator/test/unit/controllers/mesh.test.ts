// Which nodes the network controller asks about the mesh, and at what address; the probe is
// a recording stand-in (mesh-probe.test.ts runs the real one against an HTTP server, and
// test/e2e/chaos.test.ts the whole loop against real pods).
import { describe, expect, it } from 'vitest'
import { observeMesh, type MeshWatch } from '../../../src/controllers/mesh.ts'
import type { PeerReport, ProbeTarget } from '../../../src/runtime/mesh-probe.ts'
import { network, NOW, pool } from '../render/fixtures.ts'

function withPeers (name: string, replicas: number, ordinals: number[], spec: Record<string, unknown> = {}): ReturnType<typeof pool> {
  const p = pool(name, { replicas, ...spec })
  p.status = { peers: ordinals.map(o => ({ ordinal: o, pod: `${name}-${o}`, peerId: `${name}peer${o}`, address: '/dns4/x/tcp/4001/p2p/x' })) }
  return p
}

function recording (answer: (t: ProbeTarget) => PeerReport): { watch: MeshWatch, asked: ProbeTarget[] } {
  const asked: ProbeTarget[] = []
  const watch: MeshWatch = {
    intervalMs: 10_000,
    joinGraceMs: 20_000,
    probe: { observe: async targets => { asked.push(...targets); return targets.map(answer) } }
  }
  return { watch, asked }
}

describe('observeMesh', () => {
  it('asks every ordinal below replicas that has a peer id, by its headless-Service name and HTTP port', async () => {
    const pools = [withPeers('a', 2, [0, 1, 2]), withPeers('b', 2, [0], { ports: { p2p: 4100, http: 9090 } })]
    const { watch, asked } = recording(t => ({ name: t.name, ok: true, ready: true, startedAtMs: 0, verifiedPeers: ['apeer0', 'apeer1', 'bpeer0'] }))
    const c = await observeMesh(watch, network(), pools, NOW, AbortSignal.timeout(1000))
    expect(asked).toEqual([
      { name: 'a-0', baseUrl: 'http://a-0.a-headless.mesh.svc.cluster.local:8080' },
      { name: 'a-1', baseUrl: 'http://a-1.a-headless.mesh.svc.cluster.local:8080' },
      { name: 'b-0', baseUrl: 'http://b-0.b-headless.mesh.svc.cluster.local:9090' }
    ])
    expect(c).toEqual({ status: 'False', reason: 'AsExpected', message: '3 nodes form one mesh' })
  })

  it('names the parts when the nodes answer from two sides', async () => {
    const { watch } = recording(t => ({ name: t.name, ok: true, ready: true, startedAtMs: 0, verifiedPeers: t.name === 'a-0' ? [] : ['apeer1', 'apeer2'] }))
    const c = await observeMesh(watch, network(), [withPeers('a', 3, [0, 1, 2])], NOW, AbortSignal.timeout(1000))
    expect(c).toEqual({ status: 'True', reason: 'MeshPartitioned', message: 'the mesh is split into 2 parts: a-0 misses a-1, a-2' })
  })

  it('asks nobody and says nothing before any pool has peer ids', async () => {
    const { watch, asked } = recording(t => ({ name: t.name, ok: false, error: 'x' }))
    expect(await observeMesh(watch, network(), [pool('a', { replicas: 3 })], NOW, AbortSignal.timeout(1000))).toBeUndefined()
    expect(asked).toEqual([])
  })
})
