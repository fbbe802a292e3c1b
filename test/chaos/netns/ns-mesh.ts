// Real dawn-node processes, one per namespace of a topology, each listening on its own
// address (p2p and HTTP on fixed ports, like pods) and bootstrapping from every other
// node, as a bootstrap-role pool does. The test process reaches each node's HTTP API
// over the host's veth into the bridge.
import type { CreateNetworkOptions } from '../../../node-image/src/local-mesh/network-dir.ts'
import { startMesh, type Mesh } from '../../../node-image/test/mesh/harness.ts'
import { createTopology, HTTP_PORT, P2P_PORT, type Topology } from './topology.ts'

export interface NsMesh extends Mesh {
  topo: Topology
}

export interface NsMeshOptions extends Pick<CreateNetworkOptions, 'agents' | 'patch' | 'network'> {
  /** Built here (and removed by stop) unless given. */
  topo?: Topology
  nodes?: number
  /** Extra environment of node i's process (e.g. libfaketime). */
  env?: (index: number) => NodeJS.ProcessEnv
  dir?: string
}

/** Starts one node per namespace and waits until every one is ready. */
export async function startNsMesh (opts: NsMeshOptions): Promise<NsMesh> {
  const { topo: given, nodes, env, ...rest } = opts
  const owned = given === undefined
  const topo = given ?? createTopology({ nodes: nodes ?? 5 })
  if (nodes !== undefined && nodes !== topo.size) throw new Error(`nodes ${nodes} differs from the topology's ${topo.size}`)
  try {
    const mesh = await startMesh({
      ...rest,
      nodes: topo.size,
      bootstrapNodes: topo.size,
      address: i => ({ host: topo.addr(i), p2pPort: P2P_PORT, httpPort: HTTP_PORT }),
      spawn: i => ({ wrapper: topo.nodes[i]?.exec ?? [], ...(env === undefined ? {} : { env: env(i) }) })
    })
    return {
      ...mesh,
      topo,
      stop: async () => {
        try { await mesh.stop() } finally { if (owned) topo.remove() }
      }
    }
  } catch (err) {
    if (owned) topo.remove()
    throw err
  }
}
