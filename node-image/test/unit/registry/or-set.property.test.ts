/**
 * Property tests: several replicas doing random adds/removes/re-adds, deltas
 * delivered in random order with duplication and loss, plus partial and final
 * full-state anti-entropy. Each replica is checked against an independent model
 * of add-wins semantics (live = adds seen − adds observed by a remove/overwrite).
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { OrSet } from '../../../src/registry/or-set.ts'
import type { OrSetState } from '../../../src/registry/or-set.ts'
import { registryDigest } from '../../../src/registry/digest.ts'

const REPLICAS = ['peerA.00000001', 'peerB.00000002', 'peerC.00000003', 'peerA.0000000f']
const KEYS = ['k1', 'k2', 'k3']

type Op =
  | { type: 'add', replica: number, key: string, value: number }
  | { type: 'remove', replica: number, key: string }
  | { type: 'deliver', message: number, to: number, times: number }
  | { type: 'sync', from: number, to: number }

const replicaArb = fc.nat({ max: REPLICAS.length - 1 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('add' as const), replica: replicaArb, key: fc.constantFrom(...KEYS), value: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('remove' as const), replica: replicaArb, key: fc.constantFrom(...KEYS) }) },
  { weight: 5, arbitrary: fc.record({ type: fc.constant('deliver' as const), message: fc.nat(), to: replicaArb, times: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('sync' as const), from: replicaArb, to: replicaArb }) }
)

/** What a replica knows, in the naive "causal history" form. */
interface Model {
  adds: Map<string, { key: string, value: number, counter: number, replica: string }>
  killed: Set<string>
}

interface Message {
  delta: OrSetState<number>
  add?: string
  kills: string[]
}

function live (model: Model): Array<[string, number]> {
  const best = new Map<string, { value: number, counter: number, replica: string }>()
  for (const [dot, add] of model.adds) {
    if (model.killed.has(dot)) continue
    const cur = best.get(add.key)
    if (cur === undefined || add.counter > cur.counter || (add.counter === cur.counter && add.replica > cur.replica)) best.set(add.key, add)
  }
  return [...best.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v.value])
}

function liveDots (model: Model, key: string): string[] {
  return [...model.adds].filter(([dot, add]) => add.key === key && !model.killed.has(dot)).map(([dot]) => dot)
}

function absorb (into: Model, from: Model): void {
  for (const [dot, add] of from.adds) into.adds.set(dot, add)
  for (const dot of from.killed) into.killed.add(dot)
}

interface World {
  sets: Array<OrSet<number>>
  models: Model[]
  messages: Message[]
  counters: number[]
}

function run (ops: Op[]): World {
  const world: World = {
    sets: REPLICAS.map((r) => new OrSet<number>(r)),
    models: REPLICAS.map(() => ({ adds: new Map(), killed: new Set() })),
    messages: [],
    counters: REPLICAS.map(() => 0)
  }
  const { sets, models, messages, counters } = world
  for (const op of ops) {
    if (op.type === 'add') {
      const set = sets[op.replica]!
      const model = models[op.replica]!
      const replica = REPLICAS[op.replica]!
      const counter = ++counters[op.replica]!
      const dot = `${replica}@${counter}`
      const kills = liveDots(model, op.key)
      expect(set.nextCounter).toBe(counter)
      const delta = set.add(op.key, op.value)
      expect(Object.keys(delta.entries[op.key] ?? {})).toEqual([dot])
      for (const k of kills) model.killed.add(k)
      model.adds.set(dot, { key: op.key, value: op.value, counter, replica })
      messages.push({ delta, add: dot, kills })
    } else if (op.type === 'remove') {
      const model = models[op.replica]!
      const kills = liveDots(model, op.key)
      const delta = sets[op.replica]!.remove(op.key)
      expect(delta === undefined).toBe(kills.length === 0)
      if (delta === undefined) continue
      for (const k of kills) model.killed.add(k)
      messages.push({ delta, kills })
    } else if (op.type === 'deliver') {
      if (messages.length === 0) continue
      const message = messages[op.message % messages.length]!
      const model = models[op.to]!
      for (let i = 0; i < op.times; i++) sets[op.to]!.merge(message.delta)
      if (message.add !== undefined) {
        const origin = messages.find((m) => m.add === message.add)!
        const [replica, counter] = message.add.split('@') as [string, string]
        const key = Object.keys(origin.delta.entries)[0]!
        model.adds.set(message.add, { key, value: origin.delta.entries[key]![message.add]!, counter: Number(counter), replica })
      }
      for (const k of message.kills) model.killed.add(k)
    } else {
      sets[op.to]!.merge(sets[op.from]!.state())
      absorb(models[op.to]!, models[op.from]!)
    }
    // after every step, every replica shows exactly what its model says is live
    sets.forEach((set, i) => { expect(set.entries()).toEqual(live(models[i]!)) })
  }
  return world
}

/** Full anti-entropy: everyone into replica 0, then replica 0 into everyone. */
function exchangeAll (sets: Array<OrSet<number>>): void {
  const [hub, ...rest] = sets
  for (const set of rest) hub!.merge(set.state())
  for (const set of rest) set.merge(hub!.state())
}

function mergedDigest (...states: Array<OrSetState<number>>): string {
  const set = new OrSet<number>('observer.0')
  for (const state of states) set.merge(state)
  return registryDigest(set.state())
}

const opsArb = fc.array(opArb, { maxLength: 80 })

describe('OrSet properties', () => {
  it('matches the add-wins model under reordering, duplication and loss, and converges after anti-entropy', () => {
    fc.assert(fc.property(opsArb, (ops) => {
      const { sets, models } = run(ops)
      exchangeAll(sets)
      const everything: Model = { adds: new Map(), killed: new Set() }
      for (const model of models) absorb(everything, model)
      const expected = live(everything)
      const digests = new Set(sets.map((s) => registryDigest(s.state())))
      expect(digests.size).toBe(1)
      for (const set of sets) expect(set.entries()).toEqual(expected)
    }), { numRuns: 300 })
  })

  it('merge is commutative, associative and idempotent on states', () => {
    fc.assert(fc.property(opsArb, (ops) => {
      const [a, b, c] = run(ops).sets.map((s) => s.state()) as [OrSetState<number>, OrSetState<number>, OrSetState<number>]
      expect(mergedDigest(a, b)).toBe(mergedDigest(b, a))
      expect(mergedDigest(a, b, c)).toBe(mergedDigest(c, b, a))
      // (a ⊔ b) ⊔ c = a ⊔ (b ⊔ c), with the inner joins materialized as states
      const ab = new OrSet<number>('x.0', a)
      ab.merge(b)
      const bc = new OrSet<number>('y.0', b)
      bc.merge(c)
      expect(mergedDigest(ab.state(), c)).toBe(mergedDigest(a, bc.state()))
      const aa = new OrSet<number>('z.0', a)
      expect(aa.merge(a)).toBe(false)
      expect(registryDigest(aa.state())).toBe(registryDigest(a))
      expect(mergedDigest(a, b, a, b)).toBe(mergedDigest(a, b))
      // state() is a fixed point of construction
      expect(new OrSet<number>('w.0', a).state()).toEqual(a)
    }), { numRuns: 200 })
  })

  it('merging all deltas in any order, with duplicates, equals merging the full states', () => {
    fc.assert(fc.property(opsArb, fc.func(fc.integer()), (ops, rank) => {
      const { sets, messages } = run(ops.filter((op) => op.type === 'add' || op.type === 'remove'))
      const order = messages.map((m, i) => ({ m, r: rank(i) })).sort((x, y) => x.r - y.r).map((x) => x.m.delta)
      const viaDeltas = new OrSet<number>('obs.1')
      for (const delta of [...order, ...order.slice(0, 3)]) viaDeltas.merge(delta)
      const viaStates = new OrSet<number>('obs.2')
      for (const set of sets) viaStates.merge(set.state())
      expect(viaDeltas.entries()).toEqual(viaStates.entries())
      expect(registryDigest(viaDeltas.state())).toBe(registryDigest(viaStates.state()))
    }), { numRuns: 200 })
  })

  it('a removed entry never comes back through a stale replica merged later', () => {
    fc.assert(fc.property(opsArb, fc.constantFrom(...KEYS), fc.integer(), (ops, key, value) => {
      const { sets } = run(ops)
      // start from agreement, so the writer's removal observes every live dot of the key
      exchangeAll(sets)
      const [writer, stale, other] = sets as [OrSet<number>, OrSet<number>, OrSet<number>]
      stale.merge(writer.add(key, value))
      other.merge(stale.state())
      const removal = writer.remove(key)!
      other.merge(removal)
      writer.merge(stale.state())
      other.merge(stale.state())
      expect(writer.has(key)).toBe(false)
      expect(other.has(key)).toBe(false)
      exchangeAll(sets)
      for (const set of sets) expect(set.has(key)).toBe(false)
    }), { numRuns: 100 })
  })

  it('a concurrent add wins over a remove', () => {
    fc.assert(fc.property(opsArb, fc.constantFrom(...KEYS), fc.integer(), (ops, key, value) => {
      const { sets } = run(ops)
      exchangeAll(sets)
      const [adder, remover] = sets as [OrSet<number>, OrSet<number>]
      const removal = remover.remove(key)
      const addition = adder.add(key, value)
      if (removal !== undefined) adder.merge(removal)
      remover.merge(addition)
      exchangeAll(sets)
      for (const set of sets) expect(set.get(key)).toBe(value)
    }), { numRuns: 100 })
  })
})
