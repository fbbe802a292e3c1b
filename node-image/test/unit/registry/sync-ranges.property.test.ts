/**
 * Property tests for range anti-entropy: the decomposition law it rests on
 * (joining the projections of B onto any partition of the dot space equals
 * joining B), range digests that agree exactly when states agree, and a full
 * pull over the real wire format (schemas included) with small message
 * budgets, checking that no reply ever exceeds its budget.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { OrSet, type OrSetProjection, type OrSetState } from '../../../src/registry/or-set.ts'
import { registryDigest } from '../../../src/registry/digest.ts'
import { DotIndex } from '../../../src/registry/dot-ranges.ts'
import { rangesOfSorted } from '../../../src/registry/ranges.ts'
import { answer } from '../../../src/registry/sync-server.ts'
import { pullFrom } from '../../../src/registry/sync-session.ts'
import { encodeBody, parseRequest } from '../../../src/registry/sync-wire.ts'

// Wire-valid replica ids: <base58 peer id>.<hex incarnation>
const peer = (c: string): string => `12D3KooW${c.repeat(44)}`
const REPLICAS = [`${peer('A')}.00000001`, `${peer('B')}.00000002`, `${peer('C')}.00000003`, `${peer('A')}.0000000f`]
const KEYS = ['k1', 'k2', 'k3', 'k4', 'k5', 'k6']

type Op =
  | { type: 'add', replica: number, key: string, value: number }
  | { type: 'remove', replica: number, key: string }
  | { type: 'gossip', from: number, to: number }

// Replicas 0 and 1 write most, so they pass 64-counter blocks and leave whole blocks of dead dots behind.
const replicaArb = fc.constantFrom(0, 0, 1, 1, 2, 3)
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('add' as const), replica: replicaArb, key: fc.constantFrom(...KEYS), value: fc.integer({ min: 0, max: 99 }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('remove' as const), replica: replicaArb, key: fc.constantFrom(...KEYS) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('gossip' as const), from: replicaArb, to: replicaArb }) }
)
const opsArb = fc.array(opArb, { minLength: 1, maxLength: 700, size: 'max' })

/** Replicas doing random writes; deltas reach other replicas only by occasional full-state gossip. */
function world (ops: Op[]): Array<OrSet<string>> {
  const sets = REPLICAS.map(r => new OrSet<string>(r))
  for (const op of ops) {
    const set = sets[op.type === 'gossip' ? op.to : op.replica] as OrSet<string>
    // Values of up to ~700 bytes, so replies are cut inside spans, not only between them.
    if (op.type === 'add') set.add(op.key, `${op.value}:${'x'.repeat(op.value * 7)}`)
    else if (op.type === 'remove') set.remove(op.key)
    else set.merge((sets[op.from] as OrSet<string>).state())
  }
  return sets
}

function projection (source: OrSet<string>, replica: string, lo: number, hi: number): OrSetProjection<string> {
  const live = [...source.liveDots()].filter(d => d.dot.replica === replica && d.dot.counter >= lo && d.dot.counter <= hi)
  const entries: Record<string, Record<string, string>> = {}
  for (const d of live) entries[d.key] = { ...entries[d.key], [d.text]: d.value }
  return {
    spans: [{ replica, seen: source.seen.seenWithin(replica, lo, hi), live: rangesOfSorted(live.map(d => d.dot.counter).sort((a, b) => a - b)) }],
    entries
  }
}

function joined (a: OrSetState<string>, b: OrSetState<string>): string {
  const set = new OrSet<string>('obs.0', a)
  set.merge(b)
  return registryDigest(set.state())
}

describe('range anti-entropy properties', () => {
  it('joining the projections of B onto any partition of the dot space, in any order, equals joining B', () => {
    fc.assert(fc.property(opsArb, fc.array(fc.integer({ min: 1, max: 500 }), { maxLength: 8 }), fc.func(fc.integer()), (ops, cuts, rank) => {
      const [a, b] = world(ops) as [OrSet<string>, OrSet<string>]
      const expected = joined(a.state(), b.state())
      const pieces: Array<OrSetProjection<string>> = []
      for (const replica of b.seen.replicas()) {
        const bounds = [...new Set([0, ...cuts.filter(c => c < b.seen.maxCounter(replica)), b.seen.maxCounter(replica)])].sort((x, y) => x - y)
        for (let i = 1; i < bounds.length; i++) pieces.push(projection(b, replica, (bounds[i - 1] as number) + 1, bounds[i] as number))
      }
      const target = new OrSet<string>('obs.1', a.state())
      const order = pieces.map((p, i) => ({ p, r: rank(i) })).sort((x, y) => x.r - y.r)
      for (const { p } of order) target.mergeProjection(p)
      expect(registryDigest(target.state())).toBe(expected)
      // Applying them all again changes nothing.
      for (const { p } of order) expect(target.mergeProjection(p).changed).toBe(false)
    }), { numRuns: 200 })
  })

  it('range digests agree exactly when the states agree', () => {
    fc.assert(fc.property(opsArb, (ops) => {
      const sets = world(ops)
      for (const x of sets) {
        for (const y of sets) {
          const sameState = registryDigest(x.state()) === registryDigest(y.state())
          expect(DotIndex.build(x).root === DotIndex.build(y).root).toBe(sameState)
        }
      }
      // and after a join they agree
      const [a, b] = sets as [OrSet<string>, OrSet<string>]
      a.merge(b.state())
      b.merge(a.state())
      expect(DotIndex.build(a).root).toBe(DotIndex.build(b).root)
    }), { numRuns: 150 })
  })

  it('a pull over the wire makes A equal to A joined with B, and no reply exceeds its budget', async () => {
    await fc.assert(fc.asyncProperty(opsArb, fc.integer({ min: 1500, max: 6000 }), async (ops, budget) => {
      const [a, b] = world(ops) as [OrSet<string>, OrSet<string>]
      const expected = joined(a.state(), b.state())
      const equalBefore = DotIndex.build(a).root === DotIndex.build(b).root
      let largest = 0
      const result = await pullFrom(async (req) => {
        const body = encodeBody(req)
        expect(body.length).toBeLessThanOrEqual(budget)
        const reply = encodeBody(answer(DotIndex.build(b), parseRequest(body), budget))
        largest = Math.max(largest, reply.length)
        return reply
      }, { index: () => DotIndex.build(a), merge: p => a.mergeProjection(p as OrSetProjection<string>) }, { budget, signal: AbortSignal.timeout(10_000) })
      expect(registryDigest(a.state())).toBe(expected)
      expect(largest).toBeLessThanOrEqual(budget)
      expect(result.inSync).toBe(equalBefore)
      if (equalBefore) expect(result.requests).toBe(1)
    }), { numRuns: 100 })
  })

  it('cuts a span whose ranges alone would exceed the budget, and still converges', async () => {
    // B: every other counter of 1..2000 live, so ~32 live ranges per block.
    const replica = REPLICAS[1] as string
    const b = new OrSet<string>(replica)
    for (let i = 0; i < 2000; i++) b.add(`k${i}`, 'v')
    for (let i = 0; i < 2000; i += 2) b.add(`k${i}`, 'w')
    // A holds all of B but the second dot of each block (a live one): it needs one value per
    // block, and the spans it asks for carry B's fragmented ranges, far more than 4 KiB hold.
    const a = new OrSet<string>(REPLICAS[0] as string)
    for (let lo = 1; lo <= 3000; lo += 64) {
      a.mergeProjection(projection(b, replica, lo, lo))
      a.mergeProjection(projection(b, replica, lo + 2, Math.min(3000, lo + 63)))
    }
    expect([...b.liveDots()].length - [...a.liveDots()].length).toBe(47)
    const budget = 4096
    let largest = 0
    await pullFrom(async (req) => {
      const reply = encodeBody(answer(DotIndex.build(b), parseRequest(encodeBody(req)), budget))
      largest = Math.max(largest, reply.length)
      return reply
    }, { index: () => DotIndex.build(a), merge: p => a.mergeProjection(p as OrSetProjection<string>) }, { budget, signal: AbortSignal.timeout(10_000) })
    expect(largest).toBeLessThanOrEqual(budget)
    expect(DotIndex.build(a).root).toBe(DotIndex.build(b).root)
  })
})
