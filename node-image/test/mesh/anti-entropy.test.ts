import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { startMesh, eventually, type Mesh } from './harness.ts'

interface RegistryView { digest: string, entries: Array<{ nodeId: string, agentId: string }> }

const agent = (id: string): Record<string, unknown> => ({ id, description: id, tools: [{ name: 'run' }] })

describe('anti-entropy heals a node that missed gossip', () => {
  let mesh: Mesh
  beforeAll(async () => { mesh = await startMesh({ nodes: 4, agents: i => i === 0 ? [{ id: 'doomed', kind: 'static', description: '', tools: [] }] : [] }) })
  afterAll(async () => { await mesh.stop() })

  const keysOn = async (i: number): Promise<string[]> =>
    (await mesh.get<RegistryView>(i, '/api/v1/registry')).entries.map(e => `${e.nodeId === mesh.net.nodes[0]?.peerId ? 'n1' : e.nodeId === mesh.net.nodes[1]?.peerId ? 'n2' : '?'}:${e.agentId}`).sort()
  const digests = async (): Promise<string[]> => await Promise.all([0, 1, 2, 3].map(async i => (await mesh.get<RegistryView>(i, '/api/v1/registry')).digest))

  it('converges after a crash with no lost entry and no resurrected removal', async () => {
    await eventually(async () => (await keysOn(3)).includes('n1:doomed'), { what: 'node 4 to learn n1:doomed' })
    const down = mesh.procs[3]
    if (down === undefined) throw new Error('no node 4')
    down.kill() // a crash: no clean shutdown, and it keeps its stale view of n1:doomed on disk
    await eventually(async () => !down.running, { what: 'node 4 to die' })

    await mesh.editConfig(0, c => { c.agents = [agent('fresh')] }) // removes doomed, adds fresh
    await mesh.editConfig(1, c => { c.agents = [agent('other')] })
    await eventually(async () => JSON.stringify(await keysOn(2)) === JSON.stringify(['n1:fresh', 'n2:other']), { what: 'node 3 to see the changes' })

    down.start()
    await down.waitReady(30_000)
    await eventually(async () => new Set(await digests()).size === 1, { what: 'equal digests', detail: async () => (await digests()).join('\n') })
    for (let i = 0; i < 4; i++) expect(await keysOn(i)).toEqual(['n1:fresh', 'n2:other'])
  })
})
