// Whether a network's nodes form one mesh, from what each node says about its own verified
// peers. Pure: the operator's runtime asks the nodes (runtime/mesh-probe.ts), this decides.
// Two nodes are joined when either lists the other as a verified peer; the mesh is whole
// when the nodes seen form one connected graph. A big mesh need not be a full mesh, so a
// missing direct link alone is no partition.
import type { ConditionUpdate } from './conditions.ts'

export interface MeshMember {
  /** Pod name, `<pool>-<ordinal>`. */
  name: string
  /** The peer id the operator derived for it. */
  peerId: string
}

export type MeshObservation =
  | { name: string, ok: true, ready: boolean, startedAtMs: number, verifiedPeers: readonly string[] }
  | { name: string, ok: false, error: string }

export interface MeshHealth {
  /** Groups of members that see each other (directly or through others); largest first. */
  parts: string[][]
  /** Members that did not answer and that no answering member sees (down, or not reachable from the operator). */
  unobserved: Array<{ name: string, error: string }>
  /** Members that answered but are still joining: not ready, no peer yet, started within the grace. */
  joining: string[]
  answered: number
}

export interface AssessMeshOptions {
  now: number
  /** A node started this recently with no peer yet is joining, not cut off. */
  joinGraceMs: number
}

/** Groups the members into the parts of the mesh their observations show. */
export function assessMesh (members: readonly MeshMember[], observations: readonly MeshObservation[], opts: AssessMeshOptions): MeshHealth {
  const index = new Map(members.map((m, i) => [m.name, i]))
  const byPeer = new Map(members.map((m, i) => [m.peerId, i]))
  // Union-find over member indexes.
  const parent = members.map((_, i) => i)
  const find = (i: number): number => {
    let root = i
    while (parent[root] !== root) root = parent[root] ?? root
    return root
  }
  const join = (a: number, b: number): void => { parent[find(a)] = find(b) }

  const seen = new Set<number>()
  const errors = new Map<number, string>()
  const joiningCandidates = new Set<number>()
  let answered = 0
  for (const o of observations) {
    const i = index.get(o.name)
    if (i === undefined) continue
    if (!o.ok) { errors.set(i, o.error); continue }
    answered++
    const peers = o.verifiedPeers.map(p => byPeer.get(p)).filter((j): j is number => j !== undefined && j !== i)
    if (peers.length === 0 && !o.ready && opts.now - o.startedAtMs < opts.joinGraceMs) { joiningCandidates.add(i); continue }
    seen.add(i)
    for (const j of peers) { seen.add(j); join(i, j) }
  }
  const groups = new Map<number, number[]>()
  for (const i of [...seen].sort((a, b) => a - b)) groups.set(find(i), [...(groups.get(find(i)) ?? []), i])
  const nameOf = (i: number): string => members[i]?.name ?? ''
  const parts = [...groups.values()]
    .sort((a, b) => b.length - a.length || (a[0] ?? 0) - (b[0] ?? 0))
    .map(g => g.map(nameOf))
  const unobserved = members
    .map((m, i) => ({ i, name: m.name }))
    .filter(({ i }) => !seen.has(i) && !joiningCandidates.has(i))
    .map(({ i, name }) => ({ name, error: errors.get(i) ?? 'not asked' }))
  const joining = [...joiningCandidates].filter(i => !seen.has(i)).map(nameOf)
  return { parts, unobserved, joining, answered }
}

const MAX_NAMES = 8
const MAX_MESSAGE = 1024

function names (list: readonly string[]): string {
  const shown = list.slice(0, MAX_NAMES).join(', ')
  return list.length > MAX_NAMES ? `${shown} and ${list.length - MAX_NAMES} more` : shown
}

function clip (text: string): string {
  return text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE - 1)}…` : text
}

/**
 * The network's Degraded condition from the mesh alone (type and generation are the caller's):
 * True/MeshPartitioned naming which nodes miss whom, Unknown/MeshNotObserved when no node
 * answered, else False/AsExpected.
 */
export function meshDegradedCondition (health: MeshHealth): Omit<ConditionUpdate, 'type' | 'observedGeneration'> {
  const notes: string[] = []
  if (health.joining.length > 0) notes.push(`joining: ${names(health.joining)}`)
  const [firstUnobserved] = health.unobserved
  if (firstUnobserved !== undefined) notes.push(`not observed: ${names(health.unobserved.map(u => u.name))} (${firstUnobserved.error})`)
  const tail = notes.length > 0 ? `; ${notes.join('; ')}` : ''
  if (health.answered === 0) {
    return { status: 'Unknown', reason: 'MeshNotObserved', message: clip(`no node answered the operator${tail}`) }
  }
  if (health.parts.length > 1) {
    const all = health.parts.flat()
    // Every part but the largest, with the nodes it cannot see.
    const misses = health.parts.slice(1).map(part => `${names(part)} ${part.length === 1 ? 'misses' : 'miss'} ${names(all.filter(n => !part.includes(n)))}`)
    return { status: 'True', reason: 'MeshPartitioned', message: clip(`the mesh is split into ${health.parts.length} parts: ${misses.join('; ')}${tail}`) }
  }
  const size = health.parts[0]?.length ?? 0
  return { status: 'False', reason: 'AsExpected', message: clip(`${size} ${size === 1 ? 'node forms' : 'nodes form'} one mesh${tail}`) }
}
