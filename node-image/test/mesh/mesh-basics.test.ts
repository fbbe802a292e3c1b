import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { startMesh, eventually, type Mesh } from './harness.ts'

interface PeerView { peerId: string, verified: boolean }
interface RegistryView { digest: string, size: number, entries: Array<{ nodeId: string, agentId: string, tools: Array<{ name: string }> }> }
interface NodeView { peerId: string }

describe('a five-node mesh of real processes', () => {
  let mesh: Mesh
  beforeAll(async () => { mesh = await startMesh({ nodes: 5 }) })
  afterAll(async () => { await mesh.stop() })

  const digests = async (): Promise<string[]> => await Promise.all(mesh.net.nodes.map(async (_, i) => (await mesh.get<RegistryView>(i, '/api/v1/registry')).digest))

  it('every node sees the four others as verified peers', async () => {
    await eventually(async () => {
      for (let i = 0; i < 5; i++) {
        const peers = (await mesh.get<PeerView[]>(i, '/api/v1/peers')).filter(p => p.verified).map(p => p.peerId).sort()
        const others = mesh.net.nodes.filter((_, j) => j !== i).map(n => n.peerId).sort()
        if (JSON.stringify(peers) !== JSON.stringify(others)) return false
      }
      return true
    }, { what: 'a full mesh', timeoutMs: 45_000, detail: async () => JSON.stringify(await Promise.all([0, 1, 2, 3, 4].map(async i => (await mesh.get<PeerView[]>(i, '/api/v1/peers')).length))) })
    for (let i = 0; i < 5; i++) {
      expect((await mesh.get<NodeView>(i, '/api/v1/node')).peerId).toBe(mesh.net.nodes[i]?.peerId)
      expect(await mesh.metric(i, 'dawn_peers')).toBe(4)
    }
  })

  it('an agent added to node 1 config reaches every registry, and so does its removal', async () => {
    const owner = mesh.net.nodes[0]?.peerId ?? ''
    await mesh.editConfig(0, c => {
      c.agents = [{ id: 'weather', name: 'Weather', description: 'forecasts', tools: [{ name: 'forecast' }, { name: 'alerts' }] }]
    })
    await eventually(async () => {
      for (let i = 0; i < 5; i++) {
        const reg = await mesh.get<RegistryView>(i, '/api/v1/registry')
        const e = reg.entries.find(x => x.nodeId === owner && x.agentId === 'weather')
        if (e?.tools.map(t => t.name).join(',') !== 'forecast,alerts') return false
      }
      return true
    }, { what: 'the weather agent on every node' })
    const withAgent = await digests()
    expect(new Set(withAgent).size).toBe(1)

    await mesh.editConfig(0, c => { c.agents = [] })
    await eventually(async () => {
      for (let i = 0; i < 5; i++) {
        const reg = await mesh.get<RegistryView>(i, '/api/v1/registry')
        if (reg.entries.some(x => x.agentId === 'weather')) return false
      }
      return true
    }, { what: 'the weather agent removed everywhere' })
    await eventually(async () => new Set(await digests()).size === 1, { what: 'equal digests', detail: async () => (await digests()).join('\n') })
    expect((await digests())[0]).not.toBe(withAgent[0])
  })

  it('a restarted node keeps its peer id and registry', async () => {
    const before = await mesh.get<RegistryView>(2, '/api/v1/registry')
    const id = (await mesh.get<NodeView>(2, '/api/v1/node')).peerId
    const proc = mesh.procs[2]
    if (proc === undefined) throw new Error('no node 3')
    await proc.stop()
    proc.start()
    await proc.waitReady(30_000)
    expect((await mesh.get<NodeView>(2, '/api/v1/node')).peerId).toBe(id)
    const after = await mesh.get<RegistryView>(2, '/api/v1/registry')
    expect(after.entries).toEqual(before.entries)
    await eventually(async () => (await mesh.get<PeerView[]>(2, '/api/v1/peers')).filter(p => p.verified).length === 4, { what: 'node 3 back in the mesh' })
    await eventually(async () => new Set(await digests()).size === 1, { what: 'equal digests after restart' })
  })
})
