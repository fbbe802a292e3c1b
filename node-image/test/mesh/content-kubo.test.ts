import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startMesh, eventually, tempDir, type Mesh } from './harness.ts'
import { rpc, startKubo, type KuboDaemon } from '../../../test/support/kubo.ts'
import { EmbeddedStore } from '../../src/storage/embedded-store.ts'
import { CHUNK_SIZE } from '../../src/storage/unixfs-layout.ts'
import type { ContentStatus } from '../../src/storage/content-api.ts'

// Three nodes, each with its own real Kubo sidecar in the network's private swarm.
// The sidecars start knowing no peer: only the nodes' content manifests connect them.
let mesh: Mesh
const kubos: KuboDaemon[] = []
let outsider: KuboDaemon | undefined
let kuboDir = ''
const url = (i: number): string => mesh.net.nodes[i]?.httpUrl ?? ''

async function add (i: number, bytes: Uint8Array, query = ''): Promise<{ cid: string, size: number }> {
  const res = await fetch(`${url(i)}/api/v1/content${query}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes })
  expect(res.status, await res.clone().text()).toBe(201)
  return await res.json() as { cid: string, size: number }
}

async function * once (bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

describe('content layer on Kubo sidecars', () => {
  beforeAll(async () => {
    kuboDir = await tempDir('dawn-kubo-content-')
    mesh = await startMesh({
      nodes: 3,
      beforeStart: async (net) => {
        const swarmKey = await readFile(join(net.dir, 'swarm.key'), 'utf8')
        for (const node of net.nodes) {
          const kubo = await startKubo({ dir: join(kuboDir, node.name), swarmKey })
          kubos.push(kubo)
          const config = JSON.parse(await readFile(node.configFile, 'utf8')) as Record<string, unknown>
          config.storage = { backend: 'kubo', kuboApiUrl: kubo.apiUrl, replication: 2, manifestIntervalSeconds: 1, repairIntervalSeconds: 1, fetchTimeoutMs: 20_000 }
          await writeFile(node.configFile, JSON.stringify(config))
        }
      }
    })
  })
  afterAll(async () => {
    await mesh.stop()
    await Promise.all([...kubos, ...(outsider === undefined ? [] : [outsider])].map(async k => { await k.stop() }))
    if (kuboDir !== '') await rm(kuboDir, { recursive: true, force: true })
  })

  it('gives the same CID as the embedded store for every size class', async () => {
    const dir = await tempDir('dawn-cid-eq-')
    const embedded = new EmbeddedStore({ dir })
    await embedded.start()
    try {
      const corpus = {
        empty: new Uint8Array(0),
        'one byte': Uint8Array.of(0x2a),
        'one chunk': randomBytes(CHUNK_SIZE),
        'one chunk + 1': randomBytes(CHUNK_SIZE + 1),
        '10 MB random': randomBytes(10 * 1000 * 1000)
      }
      for (const [name, bytes] of Object.entries(corpus)) {
        const viaKubo = await add(0, bytes, '?pin=false')
        const viaEmbedded = await embedded.add(once(bytes))
        expect(viaKubo.cid, name).toBe(viaEmbedded.cid.toString())
        expect(viaKubo.size, name).toBe(bytes.length)
      }
    } finally {
      await embedded.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('connects the sidecars through the mesh and reads content added on node 1 intact on node 3', async () => {
    // Peering comes only from the manifests: the sidecars have no bootstrap list.
    await eventually(async () => {
      const peers = await rpc<{ Peers: Array<{ Peer: string }> | null }>(kubos[2]!.apiUrl, 'swarm/peers')
      return (peers.Peers ?? []).some(p => p.Peer === kubos[0]!.peerId)
    }, { what: 'sidecar 3 connected to sidecar 1', timeoutMs: 30_000 })
    const bytes = randomBytes(10 * 1000 * 1000)
    const { cid } = await add(0, bytes)
    const res = await fetch(`${url(2)}/api/v1/content/${cid}`, { signal: AbortSignal.timeout(60_000) })
    expect(res.status).toBe(200)
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true)
    // R = 2: a second sidecar pins it.
    await eventually(async () => {
      const s = await (await fetch(`${url(1)}/api/v1/content/${cid}/status`)).json() as ContentStatus
      return s.have.length === 2 && s.deficit === 0
    }, { what: 'two sidecars hold the pin', timeoutMs: 40_000 })
  })

  it('keeps a Kubo without the network swarm key out', async () => {
    outsider = await startKubo({ dir: join(kuboDir, 'outsider') })
    const target = kubos[0]!.swarmAddrs[0]!
    await expect(rpc(outsider.apiUrl, 'swarm/connect', { arg: target, timeout: '5s' })).rejects.toThrow()
    const peers = await rpc<{ Peers: Array<{ Peer: string }> | null }>(kubos[0]!.apiUrl, 'swarm/peers')
    expect((peers.Peers ?? []).map(p => p.Peer)).not.toContain(outsider.peerId)
  })
})
