import { describe, expect, it } from 'vitest'
import { PinSet, type PinEntry } from '../../../src/storage/pin-set.ts'
import { ContentDirectory } from '../../../src/storage/content-manifest.ts'

const pin = (cid: string, at: number, removed = false): PinEntry => ({ cid: `bafy${cid}`, replication: 2, at, removed })

describe('PinSet bound', () => {
  it('makes room by forgetting the oldest unpin, never a live pin, and refuses the rest', () => {
    const set = new PinSet(3)
    expect(set.mergeAll([pin('a', 1), pin('b', 2, true), pin('c', 3, true)])).toBe(true)
    expect(set.merge(pin('d', 4))).toBe(true)
    expect(set.latest('bafyb')).toBeUndefined() // the oldest unpin made room
    expect(set.latest('bafyc')?.removed).toBe(true)
    expect(set.merge(pin('e', 5))).toBe(true) // the other unpin goes
    expect(set.merge(pin('f', 6))).toBe(false) // only live pins left: refused
    expect(set.refused).toBe(1)
    expect(set.size).toBe(3)
    expect(set.active().map(p => p.cid)).toEqual(['bafya', 'bafyd', 'bafye'])
    // A change to a CID already held is not a new entry and is never refused.
    expect(set.merge(pin('a', 7, true))).toBe(true)
  })
})

describe('ContentDirectory bound', () => {
  it('remembers at most 4096 members, the least recently heard forgotten first', () => {
    const dir = new ContentDirectory()
    const manifest = { v: 1 as const, backend: 'embedded' as const, pins: [], held: ['bafyx'] }
    for (let i = 0; i < 5000; i++) dir.update(`node-${i}`, manifest, 1)
    expect(dir.nodes()).toHaveLength(4096)
    expect(dir.holds('node-0', 'bafyx')).toBe(false)
    expect(dir.holds('node-4999', 'bafyx')).toBe(true)
  })
})
