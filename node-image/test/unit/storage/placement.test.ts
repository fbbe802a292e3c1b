import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { rendezvousOrder } from '../../../src/storage/rendezvous.ts'
import { PinSet, type PinEntry } from '../../../src/storage/pin-set.ts'
import { placePin, planReplication, type ReplicationView } from '../../../src/storage/replication-plan.ts'

const nodes = ['node-a', 'node-b', 'node-c', 'node-d', 'node-e']
const pin = (cid: string, replication = 2, at = 1, removed = false): PinEntry => ({ cid, replication, at, removed })

describe('rendezvous order', () => {
  it('is the same whatever order the members are listed in', () => {
    fc.assert(fc.property(fc.string(), fc.shuffledSubarray(nodes, { minLength: 1 }), (key, subset) => {
      expect(rendezvousOrder(key, subset)).toEqual(rendezvousOrder(key, [...subset].reverse()))
    }))
  })

  it('moves only the keys of a node that leaves', () => {
    let moved = 0
    for (let k = 0; k < 500; k++) {
      const before = rendezvousOrder(`cid-${k}`, nodes).slice(0, 2)
      const after = rendezvousOrder(`cid-${k}`, nodes.filter(n => n !== 'node-c')).slice(0, 2)
      if (!before.includes('node-c')) expect(after).toEqual(before)
      else {
        moved++
        expect(after).toEqual([...before.filter(n => n !== 'node-c'), after[1]].slice(0, 2))
      }
    }
    // About 2/5 of the keys had node-c among their two holders.
    expect(moved).toBeGreaterThan(120)
    expect(moved).toBeLessThan(280)
  })
})

describe('pin set (last-writer-wins)', () => {
  it('converges whatever order entries arrive in', () => {
    const entry = fc.record({ cid: fc.constantFrom('bafya', 'bafyb', 'bafyc'), replication: fc.integer({ min: 1, max: 5 }), at: fc.integer({ min: 0, max: 20 }), removed: fc.boolean() })
    fc.assert(fc.property(fc.array(entry, { maxLength: 30 }), (entries) => {
      const a = new PinSet()
      const b = new PinSet()
      a.mergeAll(entries)
      b.mergeAll([...entries].reverse())
      b.mergeAll(entries)
      expect(a.entries().sort((x, y) => x.cid < y.cid ? -1 : 1)).toEqual(b.entries().sort((x, y) => x.cid < y.cid ? -1 : 1))
    }))
  })

  it('lets a later unpin win over a pin, and an unpin win a tie', () => {
    const set = new PinSet()
    set.merge(pin('bafya', 2, 10))
    expect(set.merge(pin('bafya', 2, 9, true))).toBe(false)
    expect(set.get('bafya')).toBeDefined()
    expect(set.merge(pin('bafya', 2, 10, true))).toBe(true)
    expect(set.get('bafya')).toBeUndefined()
    expect(set.active()).toEqual([])
    set.merge(pin('bafya', 3, 11))
    expect(set.get('bafya')?.replication).toBe(3)
  })

  it('forgets unpins only after the tombstone window', () => {
    const set = new PinSet()
    set.merge(pin('bafya', 2, 1000, true))
    set.prune(2000)
    expect(set.entries()).toHaveLength(1)
    set.prune(1000 + 8 * 24 * 3600_000)
    expect(set.entries()).toHaveLength(0)
  })
})

describe('replication plan', () => {
  const view = (held: Record<string, string[]>, self = 'node-a', live = nodes, pins = [pin('bafyx')]): ReplicationView => ({
    self,
    live,
    pins,
    holds: (node, cid) => held[node]?.includes(cid) === true
  })

  it('fetches on the chosen holders and counts the deficit', () => {
    const chosen = rendezvousOrder('bafyx', nodes).slice(0, 2)
    for (const self of nodes) {
      const plan = planReplication(view({}, self), [])
      expect(plan.fetch).toEqual(chosen.includes(self) ? ['bafyx'] : [])
      expect(plan.deficit).toBe(2)
    }
  })

  it('drops a surplus copy only once every chosen holder has it', () => {
    const [h1, h2] = rendezvousOrder('bafyx', nodes)
    const other = nodes.find(n => n !== h1 && n !== h2)!
    expect(planReplication(view({ [other]: ['bafyx'], [h1!]: ['bafyx'] }, other), ['bafyx']).release).toEqual([])
    const done = planReplication(view({ [other]: ['bafyx'], [h1!]: ['bafyx'], [h2!]: ['bafyx'] }, other), ['bafyx'])
    expect(done.release).toEqual(['bafyx'])
    expect(done.deficit).toBe(0)
  })

  it('moves a pin to the next node when a holder leaves', () => {
    const [h1, h2, h3] = rendezvousOrder('bafyx', nodes)
    const live = nodes.filter(n => n !== h1)
    const placement = placePin(view({ [h2 ?? '']: ['bafyx'] }, h3 ?? '', live), pin('bafyx'))
    expect(placement.holders).toEqual([h2, h3])
    expect(placement.deficit).toBe(1)
    expect(planReplication(view({ [h2 ?? '']: ['bafyx'] }, h3 ?? '', live), []).fetch).toEqual(['bafyx'])
  })

  it('asks no more holders than there are live nodes, and releases unpinned content', () => {
    const plan = planReplication(view({ 'node-a': ['bafyx'] }, 'node-a', ['node-a'], [pin('bafyx', 3)]), ['bafyx', 'bafyold'])
    expect(plan.deficit).toBe(0)
    expect(plan.release).toEqual(['bafyold'])
  })
})
