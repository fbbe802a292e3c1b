// The invariants checked on every node after the final heal, as a pure function of the
// workload's history and a snapshot of the mesh, so a test can feed it a doctored history
// and watch it catch the fault.
import { expectedAgents, type History } from './history.ts'

/** What one node reports. */
export interface NodeSnapshot {
  peerId: string
  verified: string[]
  digest: string
  /** "<nodeId>:<agentId>" for every registry entry, duplicates kept. */
  entries: string[]
  pins: Array<{ cid: string, pinned: boolean, have: number, deficit: number }>
  /** Workload notes this node executed (key -> value); undefined until collected. */
  notes?: Map<string, string>
  servedOk?: number
}

export interface Snapshot {
  /** Peer id of node i as the target names it. */
  peerIds: string[]
  nodes: NodeSnapshot[]
}

export interface Verdict {
  lost: string[]
  resurrected: string[]
  duplicated: string[]
  membership: string[]
  digests: string[]
  pins: string[]
  calls: string[]
  unknown: number
  /** Unknown-outcome calls that did run on their target. */
  unknownExecuted: number
}

export const violations = (v: Verdict): string[] =>
  [...v.lost, ...v.resurrected, ...v.duplicated, ...v.membership, ...v.digests, ...v.pins, ...v.calls]

/** Every invariant that can only become true with time (anti-entropy, reconnection, repair). */
export function checkConvergence (h: History, s: Snapshot): Omit<Verdict, 'calls' | 'unknown' | 'unknownExecuted'> {
  const { present, absent } = expectedAgents(h)
  const entry = (key: string): string => {
    const [node, agentId] = key.split(':') as [string, string]
    return `${s.peerIds[Number(node)] ?? node}:${agentId}`
  }
  const lost: string[] = []
  for (const key of present) {
    const missing = s.nodes.flatMap((n, i) => (n.entries.includes(entry(key)) ? [] : [i]))
    if (missing.length > 0) lost.push(`registry write lost: agent ${key} (acknowledged) missing on node(s) ${missing.join(', ')}`)
  }
  const resurrected: string[] = []
  for (const key of absent) {
    const back = s.nodes.flatMap((n, i) => (n.entries.includes(entry(key)) ? [i] : []))
    if (back.length > 0) resurrected.push(`removed agent ${key} is back on node(s) ${back.join(', ')}`)
  }
  const duplicated: string[] = []
  const ids = new Set(s.peerIds)
  if (ids.size !== s.peerIds.length) duplicated.push(`two nodes share a peer id: ${s.peerIds.join(', ')}`)
  const reported = s.nodes.map(n => n.peerId)
  reported.forEach((p, i) => {
    const first = reported.indexOf(p)
    if (first !== i) duplicated.push(`nodes ${first} and ${i} both report peer id ${p}`)
  })
  s.nodes.forEach((n, i) => {
    if (n.peerId !== s.peerIds[i]) duplicated.push(`node ${i} reports peer id ${n.peerId}, expected ${s.peerIds[i] ?? '?'}`)
    const seen = new Set<string>()
    for (const e of n.entries) {
      if (seen.has(e)) duplicated.push(`node ${i} lists ${e} twice`)
      seen.add(e)
      const nodeId = e.slice(0, e.indexOf(':'))
      if (!ids.has(nodeId)) duplicated.push(`node ${i} lists an agent of ${nodeId}, which is no member`)
    }
  })
  const membership: string[] = []
  s.nodes.forEach((n, i) => {
    const want = s.peerIds.filter((_, j) => j !== i)
    const missing = want.filter(p => !n.verified.includes(p)).map(p => s.peerIds.indexOf(p))
    const extra = n.verified.filter(p => !want.includes(p))
    if (missing.length > 0) membership.push(`node ${i} has not verified node(s) ${missing.join(', ')}`)
    if (extra.length > 0) membership.push(`node ${i} counts ${extra.join(', ')} as members, which are not live nodes`)
  })
  const digests = new Set(s.nodes.map(n => n.digest)).size === 1
    ? []
    : [`registry digests differ: ${s.nodes.map((n, i) => `${i}=${n.digest.slice(0, 8)}`).join(' ')}`]
  const pins: string[] = []
  for (const p of h.pins) {
    s.nodes.forEach((n, i) => {
      const st = n.pins.find(x => x.cid === p.cid)
      if (st === undefined || !st.pinned) pins.push(`node ${i} does not know pin ${p.cid}`)
      else if (st.have < p.replication || st.deficit > 0) pins.push(`pin ${p.cid} (replication ${p.replication}, added on node ${p.node}): node ${i} sees ${st.have} holder(s), deficit ${st.deficit}`)
    })
  }
  return { lost, resurrected, duplicated, membership, digests, pins }
}

/**
 * Each call executed exactly as its caller was told: ok ran once on its target with its
 * value; error never ran; unknown ran at most once. Nothing ran that nobody asked for.
 */
export function checkCalls (h: History, s: Snapshot): Pick<Verdict, 'lost' | 'duplicated' | 'calls' | 'unknown' | 'unknownExecuted'> {
  const lost: string[] = []
  const duplicated: string[] = []
  const calls: string[] = []
  let unknownExecuted = 0
  const byKey = new Map(h.calls.map(c => [c.key, c]))
  s.nodes.forEach((n, i) => {
    for (const key of n.notes?.keys() ?? []) {
      const c = byKey.get(key)
      if (c === undefined) calls.push(`node ${i} executed ${key}, which no caller sent`)
      else if (c.target !== i) calls.push(`node ${i} executed ${key}, sent to node ${c.target}`)
    }
  })
  for (const c of h.calls) {
    const value = s.nodes[c.target]?.notes?.get(c.key)
    if (c.outcome === 'ok' && value === undefined) lost.push(`call ${c.key} (${c.caller}->${c.target}) was acknowledged but never executed`)
    else if (c.outcome === 'ok' && value !== c.value) calls.push(`call ${c.key} executed with ${value ?? ''}, sent ${c.value}`)
    else if (c.outcome === 'error' && value !== undefined) calls.push(`call ${c.key} was reported failed (${c.detail ?? ''}) but executed`)
    else if (c.outcome === 'unknown' && value !== undefined) unknownExecuted++
  }
  s.nodes.forEach((n, i) => {
    const start = h.servedAtStart[i]
    if (start === undefined || n.servedOk === undefined) return
    const mine = h.calls.filter(c => c.target === i)
    const most = mine.filter(c => c.outcome !== 'error').length + (h.extraServed[i] ?? 0)
    const ran = n.servedOk - start
    if (ran > most) duplicated.push(`node ${i} executed ${ran} calls, but only ${most} could have run: ${ran - most} duplicated`)
  })
  return { lost, duplicated, calls, unknown: h.calls.filter(c => c.outcome === 'unknown').length, unknownExecuted }
}

export function check (h: History, s: Snapshot): Verdict {
  const conv = checkConvergence(h, s)
  const calls = checkCalls(h, s)
  return { ...conv, lost: [...conv.lost, ...calls.lost], duplicated: [...conv.duplicated, ...calls.duplicated], calls: calls.calls, unknown: calls.unknown, unknownExecuted: calls.unknownExecuted }
}
