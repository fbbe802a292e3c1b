import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { CausalContext, compareDots, dotToString, InvalidDotError, parseDot } from '../../../src/registry/dots.ts'
import type { Dot } from '../../../src/registry/dots.ts'

describe('dot strings', () => {
  it('round-trip replica ids that contain dots and @', () => {
    const replica = '12D3KooWabc.0badf00d'
    expect(dotToString({ replica, counter: 42 })).toBe('12D3KooWabc.0badf00d@42')
    expect(parseDot('12D3KooWabc.0badf00d@42')).toEqual({ replica, counter: 42 })
    expect(parseDot('we@ird.1@7')).toEqual({ replica: 'we@ird.1', counter: 7 })
  })

  it('reject malformed dots', () => {
    for (const bad of ['r', 'r@', '@1', 'r@0', 'r@01', 'r@-1', 'r@1.5', 'r@99999999999999999']) {
      expect(() => parseDot(bad), bad).toThrow(InvalidDotError)
    }
  })

  it('round-trip arbitrary dots', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (replica, counter) => {
      expect(parseDot(dotToString({ replica, counter }))).toEqual({ replica, counter })
    }))
  })
})

describe('CausalContext', () => {
  it('folds contiguous cloud dots into the version vector', () => {
    const ctx = new CausalContext()
    ctx.add({ replica: 'a', counter: 3 })
    ctx.add({ replica: 'a', counter: 2 })
    expect(ctx.toJSON()).toEqual({ vv: {}, cloud: ['a@2', 'a@3'] })
    ctx.add({ replica: 'a', counter: 1 })
    expect(ctx.toJSON()).toEqual({ vv: { a: 3 }, cloud: [] })
    expect(ctx.has({ replica: 'a', counter: 2 })).toBe(true)
    expect(ctx.has({ replica: 'a', counter: 4 })).toBe(false)
    expect(ctx.maxCounter('a')).toBe(3)
  })

  it('normalizes non-compacted input and drops zero vv entries', () => {
    const ctx = CausalContext.from({ vv: { a: 2, b: 0 }, cloud: ['a@1', 'a@3', 'b@5', 'a@5'] })
    expect(ctx.toJSON()).toEqual({ vv: { a: 3 }, cloud: ['a@5', 'b@5'] })
    expect(ctx.maxCounter('b')).toBe(5)
    expect(ctx.replicas()).toEqual(['a', 'b'])
  })

  it('has the same representation for the same dots added in any order', () => {
    const dotArb: fc.Arbitrary<Dot> = fc.record({ replica: fc.constantFrom('a', 'b.1', 'c@x'), counter: fc.integer({ min: 1, max: 12 }) })
    fc.assert(fc.property(fc.array(dotArb, { maxLength: 40 }), fc.infiniteStream(fc.nat()), (dots, seeds) => {
      const shuffled: Dot[] = [...dots]
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = (seeds.next().value as number) % (i + 1)
        const tmp = shuffled[i] as Dot
        shuffled[i] = shuffled[j] as Dot
        shuffled[j] = tmp
      }
      const a = new CausalContext()
      for (const dot of dots) a.add(dot)
      const b = new CausalContext()
      // split b's dots over two contexts and merge, to exercise merge() too
      const half = new CausalContext()
      shuffled.forEach((dot, i) => (i % 2 === 0 ? b : half).add(dot))
      b.merge(half)
      expect(b.toJSON()).toEqual(a.toJSON())
      expect(b.equals(a)).toBe(true)
      for (const dot of dots) expect(a.has(dot)).toBe(true)
      // the cloud never holds a dot the vv already covers, and is sorted
      const { vv, cloud } = a.toJSON()
      const parsed = cloud.map(parseDot)
      for (const dot of parsed) expect(dot.counter).toBeGreaterThan((vv[dot.replica] ?? 0) + 1)
      expect([...parsed].sort(compareDots)).toEqual(parsed)
    }))
  })

  it('merge reports whether anything was new', () => {
    const a = CausalContext.from({ vv: { a: 3 }, cloud: [] })
    expect(a.merge(CausalContext.from({ vv: { a: 2 }, cloud: ['a@3'] }))).toBe(false)
    expect(a.merge(CausalContext.from({ vv: {}, cloud: ['b@2'] }))).toBe(true)
    expect(a.toJSON()).toEqual({ vv: { a: 3 }, cloud: ['b@2'] })
  })
})
