/**
 * Who is connected to whom, and the gossipsub mesh over those connections.
 * Connections: every node dials random peers until it has `targetPeers`
 * (the peer announcer's goal), so below targetPeers + 1 nodes the mesh is full.
 * Mesh: each node grafts D of its connections; grafts are symmetric, then
 * nodes above Dhi prune to D and nodes below Dlo graft more, as a heartbeat does.
 */
import type { Prng } from './prng.ts'
import type { GossipParams } from './params.ts'

export interface Topology {
  n: number
  /** connections[v]: peers v holds a connection to */
  connections: Int32Array[]
  /** mesh[v]: v's gossipsub mesh peers for the topic */
  mesh: Int32Array[]
}

export function buildConnections (n: number, targetPeers: number, rng: Prng): Int32Array[] {
  if (n - 1 <= targetPeers) {
    return Array.from({ length: n }, (_, v) => Int32Array.from({ length: n - 1 }, (_, i) => (i < v ? i : i + 1)))
  }
  const sets = Array.from({ length: n }, () => new Set<number>())
  // The announcer dials while a node has fewer than targetPeers connections (inbound ones count).
  for (let v = 0; v < n; v++) {
    const set = sets[v] as Set<number>
    while (set.size < targetPeers) {
      const w = rng.int(n)
      if (w === v || set.has(w)) continue
      set.add(w)
      sets[w]?.add(v)
    }
  }
  return sets.map(s => Int32Array.from([...s].sort((a, b) => a - b)))
}

export function buildMesh (connections: Int32Array[], p: GossipParams, rng: Prng): Int32Array[] {
  const n = connections.length
  const mesh = Array.from({ length: n }, () => new Set<number>())
  const graft = (v: number, w: number): void => { mesh[v]?.add(w); mesh[w]?.add(v) }
  const prune = (v: number, w: number): void => { mesh[v]?.delete(w); mesh[w]?.delete(v) }
  const pick = (v: number, want: number): void => {
    const conns = connections[v] as Int32Array
    const mine = mesh[v] as Set<number>
    let tries = 0
    while (mine.size < want && tries++ < conns.length * 4) {
      const w = conns[rng.int(conns.length)] as number
      if (!mine.has(w) && (mesh[w] as Set<number>).size < p.Dhi) graft(v, w)
    }
  }
  for (let v = 0; v < n; v++) pick(v, p.D)
  for (let round = 0; round < 2; round++) {
    for (let v = 0; v < n; v++) {
      const mine = mesh[v] as Set<number>
      if (mine.size > p.Dhi) {
        const list = [...mine]
        while (mine.size > p.D) prune(v, list.splice(rng.int(list.length), 1)[0] as number)
      } else if (mine.size < p.Dlo) {
        pick(v, p.D)
      }
    }
  }
  return mesh.map(s => Int32Array.from([...s].sort((a, b) => a - b)))
}

export function buildTopology (n: number, targetPeers: number, p: GossipParams, rng: Prng): Topology {
  const connections = buildConnections(n, targetPeers, rng)
  return { n, connections, mesh: buildMesh(connections, p, rng) }
}
