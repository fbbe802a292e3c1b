import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { readFile, rm } from 'node:fs/promises'
import { eventually, tempDir } from './harness.ts'
import { createNetworkDir, type NetworkFiles } from '../../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../../src/local-mesh/node-process.ts'
import { demoAgents } from '../../src/local-mesh/demo-agents.ts'
import { bootstrapNodesFor, loopbackLimits } from '../../src/local-mesh/mesh-wiring.ts'

interface NodeView { peers: number, registry: { digest: string, entries: number } }

const N = 10

/** The local mesh as `./dawn mesh` wires it, at a size a test machine runs: every node reaches every other through the bootstrap nodes and announcements. */
describe(`a ${N}-node local mesh wired as ./dawn mesh wires it`, () => {
  let net: NetworkFiles
  let procs: NodeProcess[] = []
  // Not the harness's startMesh: its 60 s readiness wait is too short for ten nodes starting at once on a busy 2-core machine.
  beforeAll(async () => {
    net = await createNetworkDir({ dir: await tempDir(), nodes: N, agents: demoAgents, bootstrapNodes: bootstrapNodesFor(N), patch: (_i, config) => { loopbackLimits(N, config) } })
    procs = net.nodes.map(n => new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl }))
    for (const p of procs) p.start()
    await Promise.all(procs.map(async p => { await p.waitReady(240_000) }))
  }, 260_000)
  afterAll(async () => {
    await Promise.all(procs.map(async p => { await p.stop() }))
    await rm(net.dir, { recursive: true, force: true })
  })

  const get = async <T>(i: number, path: string): Promise<T> => await (await fetch(`${net.nodes[i]?.httpUrl ?? ''}${path}`, { signal: AbortSignal.timeout(20_000) })).json() as T
  const views = async (): Promise<NodeView[]> => await Promise.all(net.nodes.map(async (_n, i) => await get<NodeView>(i, '/api/v1/node')))

  it('bootstraps from two nodes, with per-address limits as large as the node limits', async () => {
    const config = JSON.parse(await readFile(net.nodes[N - 1]?.configFile ?? '', 'utf8')) as { p2p: { bootstrap: string[], maxInboundPerAddress: number, inboundRatePerAddress: number } }
    expect(config.p2p.bootstrap).toHaveLength(2)
    expect(config.p2p.maxInboundPerAddress).toBe(300)
    expect(config.p2p.inboundRatePerAddress).toBeGreaterThanOrEqual(2 * N)
  })

  it('becomes a full mesh (every node verifies the N-1 others) with equal registry digests holding every agent', async () => {
    await eventually(async () => {
      const v = await views()
      const digests = new Set(v.map(x => x.registry.digest))
      return v.every(x => x.peers === N - 1 && x.registry.entries === N * demoAgents(0).length) && digests.size === 1
    }, {
      what: 'a full mesh with equal digests',
      timeoutMs: 240_000,
      intervalMs: 1000,
      detail: async () => JSON.stringify((await views()).map(x => [x.peers, x.registry.entries, x.registry.digest.slice(0, 8)]))
    })
  }, 250_000)
})
