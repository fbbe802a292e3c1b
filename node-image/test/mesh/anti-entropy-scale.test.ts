import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { startMesh, eventually, getJson, type Mesh } from './harness.ts'

// A registry of 10,000 entries and over 20 MiB converges after a partition (issue 13):
// node 3 is killed, nodes 1 and 2 grow to 5,000 agents each (removing and changing some
// it knew), node 3 comes back with its stale registry on disk. Anti-entropy must carry
// everything in messages under the 1 MiB limit, lose nothing and resurrect nothing.

const EARLY = 200
const KEPT = 100
const CHANGED = 50
const PER_NODE = 5000
const LIMIT = 1024 * 1024
const MiB = 1024 * 1024

interface NodeInfo { registry: { digest: string, entries: number } }
interface RegistryView { digest: string, entries: Array<{ nodeId: string, agentId: string, description: string }> }

// ~2.3 KiB per record: a long tool description, the way real tool schemas weigh.
const schemaText = (id: string): string => `${id} ${'lorem ipsum dolor sit amet '.repeat(80)}`.slice(0, 2000)
const agent = (id: string, description = `${id} agent`): Record<string, unknown> =>
  ({ id, kind: 'static', description, tools: [{ name: 'run', description: schemaText(id) }] })
const early = (n: number): Array<Record<string, unknown>> => Array.from({ length: n }, (_, i) => agent(`e-${i}`))
const grown = (): Array<Record<string, unknown>> => [
  ...Array.from({ length: KEPT }, (_, i) => agent(`e-${i}`, i < CHANGED ? `e-${i} changed while node 3 was down` : `e-${i} agent`)),
  ...Array.from({ length: PER_NODE - KEPT }, (_, i) => agent(`n-${i}`))
]

describe('anti-entropy at scale', () => {
  let mesh: Mesh
  beforeAll(async () => {
    mesh = await startMesh({ nodes: 3, agents: i => (i < 2 ? early(EARLY) : []) as never })
  }, 120_000)
  afterAll(async () => { await mesh.stop() })

  const info = async (i: number): Promise<NodeInfo['registry']> => (await mesh.get<NodeInfo>(i, '/api/v1/node')).registry
  const infos = async (nodes: number[]): Promise<Array<NodeInfo['registry']>> => await Promise.all(nodes.map(info))
  const agree = async (nodes: number[], entries: number): Promise<boolean> => {
    const all = await infos(nodes)
    return new Set(all.map(r => r.digest)).size === 1 && all.every(r => r.entries === entries)
  }
  const show = async (nodes: number[]): Promise<string> => (await infos(nodes)).map((r, i) => `node ${nodes[i] ?? -1}: ${r.entries} entries, ${r.digest}`).join('\n')

  it('a registry of 10,000 entries and 20 MiB converges after a partition', async () => {
    await eventually(async () => await agree([0, 1, 2], 2 * EARLY), { what: 'node 3 to learn the early agents', timeoutMs: 60_000, detail: async () => await show([0, 1, 2]) })
    const down = mesh.procs[2]
    if (down === undefined) throw new Error('no node 3')
    down.kill() // a crash: no clean shutdown; its stale registry stays on disk
    await eventually(async () => !down.running, { what: 'node 3 to die' })

    const t0 = Date.now()
    await mesh.editConfig(0, c => { c.agents = grown() })
    await mesh.editConfig(1, c => { c.agents = grown() })
    await eventually(async () => await agree([0, 1], 2 * PER_NODE), { what: 'nodes 1 and 2 to agree on 10,000 entries', timeoutMs: 240_000, intervalMs: 1000, detail: async () => await show([0, 1]) })
    const grownMs = Date.now() - t0

    const restarted = Date.now()
    down.start()
    await down.waitReady(60_000)
    const readyMs = Date.now() - restarted
    await eventually(async () => await agree([0, 1, 2], 2 * PER_NODE), { what: 'all three nodes to agree', timeoutMs: 240_000, intervalMs: 500, detail: async () => await show([0, 1, 2]) })
    const convergedMs = Date.now() - restarted

    // Node 3's view: everything, nothing removed, every change.
    const res = await fetch(`${mesh.net.nodes[2]?.httpUrl ?? ''}/api/v1/registry`, { signal: AbortSignal.timeout(30_000) })
    const text = await res.text()
    const view = JSON.parse(text) as RegistryView
    const peers = [mesh.net.nodes[0]?.peerId, mesh.net.nodes[1]?.peerId]
    const expected = peers.flatMap(p => [...Array.from({ length: KEPT }, (_, i) => `${p}:e-${i}`), ...Array.from({ length: PER_NODE - KEPT }, (_, i) => `${p}:n-${i}`)]).sort()
    expect(view.entries.map(e => `${e.nodeId}:${e.agentId}`).sort()).toEqual(expected)
    const byKey = new Map(view.entries.map(e => [`${e.nodeId}:${e.agentId}`, e]))
    for (const p of peers) {
      for (let i = KEPT; i < EARLY; i++) expect(byKey.has(`${p}:e-${i}`)).toBe(false) // no resurrection
      for (let i = 0; i < CHANGED; i++) expect(byKey.get(`${p}:e-${i}`)?.description).toBe(`e-${i} changed while node 3 was down`)
    }
    const entriesBytes = Buffer.byteLength(JSON.stringify(view.entries))
    expect(entriesBytes).toBeGreaterThan(20 * MiB)

    // Every sync message on every node stayed under the limit; node 3 received the registry once, not once per peer.
    const largest = await Promise.all([0, 1, 2].map(async i => await mesh.metric(i, 'dawn_registry_sync_largest_message_bytes')))
    for (const bytes of largest) expect(bytes).toBeLessThanOrEqual(LIMIT)
    expect(largest[2]).toBeGreaterThan(0)
    const bytesIn = await mesh.metric(2, 'dawn_registry_sync_bytes_total', { direction: 'in' })
    const bytesOut = await mesh.metric(2, 'dawn_registry_sync_bytes_total', { direction: 'out' })
    const messages = await mesh.metric(2, 'dawn_messages_in_total', { type: 'registry.sync' })
    const values = await mesh.metric(2, 'dawn_registry_sync_values_received_total')
    expect(bytesIn).toBeGreaterThan(entriesBytes)
    expect(bytesIn).toBeLessThan(2 * entriesBytes)
    const ready = await getJson<{ ready: boolean, registrySync?: { lastSuccessAt?: string, consecutiveFailures: number } }>(`${mesh.net.nodes[2]?.httpUrl ?? ''}/readyz`)
    expect(ready.ready).toBe(true)
    expect(ready.registrySync?.lastSuccessAt).toBeDefined()

    console.log([
      `anti-entropy scale: ${view.entries.length} entries, ${(entriesBytes / MiB).toFixed(1)} MiB of records`,
      `  nodes 1+2 grew to ${2 * PER_NODE} entries and agreed in ${(grownMs / 1000).toFixed(1)} s`,
      `  node 3 restarted: ready in ${(readyMs / 1000).toFixed(1)} s, converged in ${(convergedMs / 1000).toFixed(1)} s after restart`,
      `  node 3 sync traffic: ${(bytesIn / MiB).toFixed(1)} MiB in, ${(bytesOut / MiB).toFixed(2)} MiB out, ${messages} messages in, ${values} records received`,
      `  largest sync message per node: ${largest.map(b => `${(b / 1024).toFixed(0)} KiB`).join(', ')} (limit ${LIMIT / 1024} KiB)`,
      `  node 3 anti-entropy failures: ${await mesh.metric(2, 'dawn_anti_entropy_runs_total', { result: 'failed' })}`
    ].join('\n'))
  }, 600_000)
})
