import { describe, expect, it } from 'vitest'
import { assessMesh, meshDegradedCondition, type MeshObservation } from '../../../src/render/index.ts'

const NOW = Date.parse('2026-06-01T12:00:00Z')
const members = [0, 1, 2, 3, 4].map(i => ({ name: `p-${i}`, peerId: `peer${i}` }))
const old = NOW - 10 * 60_000
const GRACE = { now: NOW, joinGraceMs: 60_000 }

/** Every node sees exactly the listed others (by ordinal). */
function seeing (links: Record<number, number[]>, extra: Partial<Record<number, Partial<MeshObservation>>> = {}): MeshObservation[] {
  return members.map((m, i) => ({ name: m.name, ok: true, ready: true, startedAtMs: old, verifiedPeers: (links[i] ?? []).map(j => `peer${j}`), ...extra[i] }) as MeshObservation)
}
const full = (nodes: number[]): Record<number, number[]> => Object.fromEntries(nodes.map(i => [i, nodes.filter(j => j !== i)]))

describe('assessMesh and meshDegradedCondition', () => {
  it('a full mesh is one part: Degraded False', () => {
    const h = assessMesh(members, seeing(full([0, 1, 2, 3, 4])), GRACE)
    expect(h.parts).toEqual([['p-0', 'p-1', 'p-2', 'p-3', 'p-4']])
    expect(meshDegradedCondition(h)).toEqual({ status: 'False', reason: 'AsExpected', message: '5 nodes form one mesh' })
  })

  it('a mesh joined through others (not a full mesh) is still one part', () => {
    // A chain 0-1-2-3-4, and each link reported by one side only.
    const h = assessMesh(members, seeing({ 0: [1], 1: [2], 2: [3], 3: [4] }), GRACE)
    expect(h.parts).toHaveLength(1)
    expect(meshDegradedCondition(h).status).toBe('False')
  })

  it('halves: True, MeshPartitioned, the smaller half named with whom it misses', () => {
    const h = assessMesh(members, seeing({ ...full([0, 1]), ...full([2, 3, 4]) }), GRACE)
    expect(h.parts).toEqual([['p-2', 'p-3', 'p-4'], ['p-0', 'p-1']])
    expect(meshDegradedCondition(h)).toEqual({
      status: 'True', reason: 'MeshPartitioned', message: 'the mesh is split into 2 parts: p-0, p-1 miss p-2, p-3, p-4'
    })
  })

  it('one isolated node that still answers: it misses every other node', () => {
    const h = assessMesh(members, seeing(full([1, 2, 3, 4]), { 0: { ready: false } }), GRACE)
    expect(meshDegradedCondition(h)).toMatchObject({ status: 'True', reason: 'MeshPartitioned', message: 'the mesh is split into 2 parts: p-0 misses p-1, p-2, p-3, p-4' })
  })

  it('a node that is down is not a partition: the others still form one mesh, and the message says who was not observed', () => {
    const obs = seeing(full([0, 1, 2, 3]))
    obs[4] = { name: 'p-4', ok: false, error: 'getaddrinfo ENOTFOUND p-4' }
    const h = assessMesh(members, obs, GRACE)
    expect(h.parts).toEqual([['p-0', 'p-1', 'p-2', 'p-3']])
    expect(h.unobserved).toEqual([{ name: 'p-4', error: 'getaddrinfo ENOTFOUND p-4' }])
    expect(meshDegradedCondition(h)).toEqual({ status: 'False', reason: 'AsExpected', message: '4 nodes form one mesh; not observed: p-4 (getaddrinfo ENOTFOUND p-4)' })
  })

  it('a node the operator cannot reach but its peers see counts as seen', () => {
    const obs = seeing({ ...full([0, 1, 2, 3]), 0: [1, 2, 3, 4] })
    obs[4] = { name: 'p-4', ok: false, error: 'timeout' }
    const h = assessMesh(members, obs, GRACE)
    expect(h.parts).toEqual([['p-0', 'p-1', 'p-2', 'p-3', 'p-4']])
    expect(h.unobserved).toEqual([])
  })

  it('a freshly started node without peers is joining, not cut off; after the grace it is cut off', () => {
    const young = { ready: false, startedAtMs: NOW - 5000 }
    const joining = assessMesh(members, seeing(full([1, 2, 3, 4]), { 0: young }), GRACE)
    expect(joining.joining).toEqual(['p-0'])
    expect(meshDegradedCondition(joining)).toMatchObject({ status: 'False', message: '4 nodes form one mesh; joining: p-0' })
    const late = assessMesh(members, seeing(full([1, 2, 3, 4]), { 0: young }), { now: NOW + 120_000, joinGraceMs: 60_000 })
    expect(meshDegradedCondition(late)).toMatchObject({ status: 'True', reason: 'MeshPartitioned' })
  })

  it('no node answered: Unknown, MeshNotObserved, with the first error', () => {
    const h = assessMesh(members, members.map(m => ({ name: m.name, ok: false as const, error: 'connect ECONNREFUSED' })), GRACE)
    expect(meshDegradedCondition(h)).toEqual({
      status: 'Unknown', reason: 'MeshNotObserved', message: 'no node answered the operator; not observed: p-0, p-1, p-2, p-3, p-4 (connect ECONNREFUSED)'
    })
  })

  it('ignores peers that are not members, and a node listing itself', () => {
    const h = assessMesh(members, seeing({ 0: [0], 1: [], 2: [], 3: [], 4: [] }).map(o => o.ok ? { ...o, verifiedPeers: [...o.verifiedPeers, 'stranger'] } : o), GRACE)
    expect(h.parts).toHaveLength(5)
    expect(meshDegradedCondition(h).message).toMatch(/^the mesh is split into 5 parts: p-1 misses p-0, p-2, p-3, p-4; /)
  })

  it('keeps the message short on a big mesh', () => {
    const many = Array.from({ length: 400 }, (_, i) => ({ name: `big-pool-name-${i}`, peerId: `q${i}` }))
    const obs: MeshObservation[] = many.map(m => ({ name: m.name, ok: true, ready: true, startedAtMs: old, verifiedPeers: [] }))
    const c = meshDegradedCondition(assessMesh(many, obs, GRACE))
    expect(c.reason).toBe('MeshPartitioned')
    expect(c.message.length).toBeLessThanOrEqual(1024)
    expect(c.message).toContain('and 391 more')
  })
})
