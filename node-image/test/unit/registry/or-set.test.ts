import { describe, it, expect } from 'vitest'
import { emptyOrSetState, joinOrSetStates, OrSet } from '../../../src/registry/or-set.ts'
import type { OrSetState } from '../../../src/registry/or-set.ts'
import { canonicalJson } from '../../../src/registry/canonical-json.ts'
import { registryDigest } from '../../../src/registry/digest.ts'

const digest = (set: OrSet<unknown>): string => registryDigest(set.state())

describe('OrSet basics', () => {
  it('adds, overwrites and removes with deltas', () => {
    const a = new OrSet<string>('a.1')
    const d1 = a.add('k', 'v1')
    expect(d1).toEqual({ entries: { k: { 'a.1@1': 'v1' } }, context: { vv: { 'a.1': 1 }, cloud: [] } })
    const d2 = a.add('k', 'v2')
    // the overwrite carries the superseded dot in its context
    expect(d2).toEqual({ entries: { k: { 'a.1@2': 'v2' } }, context: { vv: { 'a.1': 2 }, cloud: [] } })
    expect(a.get('k')).toBe('v2')
    expect(a.dots('k')).toEqual(['a.1@2'])
    expect(a.remove('missing')).toBeUndefined()
    const d3 = a.remove('k')
    expect(d3).toEqual({ entries: {}, context: { vv: {}, cloud: ['a.1@2'] } })
    expect(a.has('k')).toBe(false)
    expect(a.size).toBe(0)
    expect(a.nextCounter).toBe(3)

    // a replica that only receives the deltas ends in the same state
    const b = new OrSet<string>('b.1')
    expect(b.merge(d1)).toBe(true)
    expect(b.get('k')).toBe('v1')
    expect(b.merge(d2)).toBe(true)
    expect(b.get('k')).toBe('v2')
    expect(b.merge(d3 as OrSetState<string>)).toBe(true)
    expect(b.get('k')).toBeUndefined()
    expect(digest(b)).toBe(digest(a))
    expect(b.merge(d2)).toBe(false)
    expect(b.get('k')).toBeUndefined()
  })

  it('gives state() as a copy and stateView() with the values shared, equal otherwise', () => {
    const a = new OrSet<{ n: number }>('a.1')
    a.add('y', { n: 2 })
    a.add('x', { n: 1 })
    a.remove('y')
    a.add('y', { n: 3 })
    const copy = a.state()
    const view = a.stateView()
    expect(view).toEqual(copy)
    expect(Object.keys(view.entries)).toEqual(['x', 'y'])
    const [dot] = Object.keys(view.entries.x ?? {})
    expect(view.entries.x?.[dot!]).toBe(a.stateView().entries.x?.[dot!])
    expect(copy.entries.x?.[dot!]).not.toBe(a.state().entries.x?.[dot!])
  })

  it('continues counters from the state it was built from', () => {
    const a = new OrSet<number>('a.1')
    a.add('x', 1)
    a.add('y', 2)
    const restored = new OrSet<number>('a.1', a.state())
    expect(restored.nextCounter).toBe(3)
    expect(Object.keys(restored.add('z', 3).entries.z ?? {})).toEqual(['a.1@3'])
    // another replica's dots do not move this replica's counter
    const other = new OrSet<number>('b.1', a.state())
    expect(other.nextCounter).toBe(1)
  })

  it('never reuses a counter it has seen for itself, even out of order', () => {
    const a = new OrSet<number>('a.1')
    a.merge({ entries: { k: { 'a.1@5': 1 } }, context: { vv: {}, cloud: ['a.1@5'] } })
    expect(a.nextCounter).toBe(6)
  })

  it('lets a concurrent add win over a remove', () => {
    const a = new OrSet<string>('a.1')
    const b = new OrSet<string>('b.1')
    b.merge(a.add('k', 'old'))
    const removal = b.remove('k')
    const readd = a.add('k', 'new')
    expect(removal).toBeDefined()
    a.merge(removal as OrSetState<string>)
    b.merge(readd)
    expect(a.get('k')).toBe('new')
    expect(b.get('k')).toBe('new')
    expect(digest(a)).toBe(digest(b))
  })

  it('keeps concurrent adds of one key and picks the same winner everywhere', () => {
    const a = new OrSet<string>('a.1')
    const b = new OrSet<string>('b.1')
    const da = a.add('k', 'from-a')
    b.add('x', 'bump') // b@1
    const db = b.add('k', 'from-b') // b@2 beats a@1 by counter
    a.merge(db)
    b.merge(da)
    expect(a.dots('k')).toEqual(['a.1@1', 'b.1@2'])
    expect(a.get('k')).toBe('from-b')
    expect(b.get('k')).toBe('from-b')
    // an overwrite after seeing both collapses them
    const dc = a.add('k', 'merged')
    b.merge(dc)
    expect(b.dots('k')).toEqual(['a.1@2'])
    expect(b.get('k')).toBe('merged')
  })

  it('does not resurrect a removed entry from a stale replica', () => {
    const a = new OrSet<string>('a.1')
    const stale = new OrSet<string>('s.1')
    const b = new OrSet<string>('b.1')
    const add = a.add('k', 'v')
    stale.merge(add)
    b.merge(add)
    b.merge(a.remove('k') as OrSetState<string>)
    expect(b.merge(stale.state())).toBe(false)
    expect(b.has('k')).toBe(false)
    // and the stale replica learns about the removal instead
    stale.merge(b.state())
    expect(stale.has('k')).toBe(false)
    expect(digest(stale)).toBe(digest(b))
  })

  it('reports the keys whose visible value changed', () => {
    const a = new OrSet<number>('a.1')
    const b = new OrSet<number>('b.1')
    b.merge(a.add('x', 1))
    b.merge(a.add('y', 2))
    a.add('y', 3)
    a.remove('x')
    a.add('z', 4)
    const result = b.mergeWithChanges(a.state())
    expect(result).toEqual({ changed: true, keys: ['x', 'y', 'z'] })
    expect(b.mergeWithChanges(a.state())).toEqual({ changed: false, keys: [] })
  })

  it('returns deep copies', () => {
    const a = new OrSet<{ n: number[] }>('a.1')
    const value = { n: [1] }
    const delta = a.add('k', value)
    value.n.push(2)
    delta.entries.k!['a.1@1']!.n.push(3)
    a.get('k')!.n.push(4)
    a.state().entries.k!['a.1@1']!.n.push(5)
    expect(a.get('k')).toEqual({ n: [1] })
  })

  it('serializes canonically regardless of operation order', () => {
    const a = new OrSet<number>('a.1')
    a.add('b', 1)
    a.add('a', 2)
    const b = new OrSet<number>('b.1')
    b.merge(a.state())
    expect(JSON.stringify(b.state())).toBe(JSON.stringify(a.state()))
    expect(Object.keys(a.state().entries)).toEqual(['a', 'b'])
    expect(a.entries()).toEqual([['a', 2], ['b', 1]])
    expect(a.keys()).toEqual(['a', 'b'])
  })

  it('resolves a forged conflicting value for the same dot independently of order', () => {
    const x: OrSetState<string> = { entries: { k: { 'a.1@1': 'x' } }, context: { vv: { 'a.1': 1 }, cloud: [] } }
    const y: OrSetState<string> = { entries: { k: { 'a.1@1': 'y' } }, context: { vv: { 'a.1': 1 }, cloud: [] } }
    const p = new OrSet<string>('p.1', x)
    p.merge(y)
    const q = new OrSet<string>('q.1', y)
    q.merge(x)
    expect(p.get('k')).toBe(q.get('k'))
    expect(digest(p)).toBe(digest(q))
  })

  it('joins deltas into one', () => {
    const a = new OrSet<number>('a.1')
    a.add('gone', 0)
    const deltas = [a.add('x', 1), a.remove('gone') as OrSetState<number>, a.add('y', 2)]
    const joined = joinOrSetStates(...deltas)
    expect(Object.keys(joined.entries)).toEqual(['x', 'y'])
    expect(joined.context).toEqual({ vv: { 'a.1': 3 }, cloud: [] })
    const b = new OrSet<number>('b.1')
    b.add('unrelated', 9)
    b.merge({ entries: { gone: { 'a.1@1': 0 } }, context: { vv: { 'a.1': 1 }, cloud: [] } })
    b.merge(joined)
    expect(b.entries()).toEqual([['unrelated', 9], ['x', 1], ['y', 2]])
    expect(joinOrSetStates()).toEqual(emptyOrSetState())
  })
})

describe('registryDigest', () => {
  it('is independent of key order and context compaction', () => {
    const compacted: OrSetState<unknown> = { entries: { k: { 'a@2': { b: 1, a: [1, { d: 2, c: 3 }] } } }, context: { vv: { a: 2 }, cloud: [] } }
    const messy: OrSetState<unknown> = { context: { cloud: ['a@1'], vv: { z: 0 } }, entries: { empty: {}, k: { 'a@2': { a: [1, { c: 3, d: 2 }], b: 1 } } } }
    expect(registryDigest(messy)).toBe(registryDigest(compacted))
    expect(registryDigest(compacted)).toMatch(/^[0-9a-f]{64}$/)
  })

  it('differs when any dot, value or context differs', () => {
    const base: OrSetState<unknown> = { entries: { k: { 'a@1': 1 } }, context: { vv: { a: 1 }, cloud: [] } }
    const digests = new Set([
      registryDigest(base),
      registryDigest({ ...base, entries: { k: { 'a@1': 2 } } }),
      registryDigest({ entries: { k: { 'a@2': 1 } }, context: { vv: { a: 2 }, cloud: [] } }),
      registryDigest({ ...base, context: { vv: { a: 1 }, cloud: ['b@3'] } }),
      registryDigest({ entries: {}, context: base.context })
    ])
    expect(digests.size).toBe(5)
  })

  it('canonicalJson sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: [{ y: 1, x: undefined }, null], a: 'é' })).toBe('{"a":"é","b":[{"y":1},null]}')
  })
})
