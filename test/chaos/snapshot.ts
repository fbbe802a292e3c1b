// Reads a Snapshot of the mesh through each node's own API. Notes are read with local
// calls (a node calling its own agent), which never cross the mesh.
import type { History } from './history.ts'
import type { NodeSnapshot, Snapshot } from './invariants.ts'
import { call, contentStatus, metricSum, nodeInfo, peers, registry, resultJson, resultText } from './node-api.ts'
import { RECORDER_AGENT, type ChaosTarget } from './target.ts'
import { SERVED_OK } from './workload.ts'

export async function takeSnapshot (t: ChaosTarget, h: History, opts: { executions: boolean }): Promise<Snapshot> {
  const peerIds = Array.from({ length: t.size }, (_, i) => t.peerId(i))
  const nodes = await Promise.all(peerIds.map(async (_, i) => await nodeSnapshot(t, h, i, opts.executions)))
  return { peerIds, nodes }
}

async function nodeSnapshot (t: ChaosTarget, h: History, i: number, executions: boolean): Promise<NodeSnapshot> {
  const base = t.url(i)
  const [info, ps, entries, pins] = await Promise.all([
    nodeInfo(base),
    peers(base),
    registry(base),
    Promise.all(h.pins.map(async p => {
      const st = await contentStatus(base, p.cid)
      return { cid: p.cid, pinned: st.pinned, have: st.have.length, deficit: st.deficit }
    }))
  ])
  const snap: NodeSnapshot = {
    peerId: info.peerId,
    verified: ps.filter(p => p.verified).map(p => p.peerId),
    digest: info.registry.digest,
    entries: entries.map(e => `${e.nodeId}:${e.agentId}`),
    pins
  }
  if (executions) {
    snap.notes = await readNotes(t, i, h.keyPrefix)
    snap.servedOk = await metricSum(base, SERVED_OK, { result: 'ok' })
  }
  return snap
}

/** The workload notes node i holds, read through its own notes agent. */
export async function readNotes (t: ChaosTarget, i: number, prefix: string): Promise<Map<string, string>> {
  const local = async (tool: string, args: Record<string, unknown>): Promise<NonNullable<Awaited<ReturnType<typeof call>>>> =>
    await call(t.url(i), { target: `${t.peerId(i)}:${RECORDER_AGENT}`, tool, arguments: args, timeoutMs: 10_000 }, 15_000)
  const listed = await local('list', { prefix })
  if (!('route' in listed)) throw new Error(`node ${i} could not list its notes: ${listed.status} ${listed.code} ${listed.message}`)
  const keys = resultJson(listed)?.keys
  if (!Array.isArray(keys)) throw new Error(`node ${i} listed its notes without keys`)
  const notes = new Map<string, string>()
  for (const key of keys as string[]) {
    const got = await local('get', { key })
    if (!('route' in got)) throw new Error(`node ${i} could not read note ${key}: ${got.code}`)
    notes.set(key, resultText(got) ?? '')
  }
  return notes
}
