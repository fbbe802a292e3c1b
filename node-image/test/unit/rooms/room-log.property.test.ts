/**
 * Property test: several nodes write messages while deliveries arrive in
 * random order, duplicated, or not at all (partitions), with occasional
 * anti-entropy by held ranges and some equivocating authors. After every
 * message has reached every node, all logs hold one identical order with no
 * duplicate ids; and at every step, two nodes never order the messages they
 * both hold differently.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { RoomLog } from '../../../src/rooms/room-log.ts'
import { HybridClock } from '../../../src/rooms/hlc.ts'
import { RoomMessageRejectedError, type RoomMessage } from '../../../src/rooms/room-message.ts'
import { subtractRanges } from '../../../src/registry/ranges.ts'
import { makeNode, message, NOW, ROOM, type TestNode } from './fixtures.ts'

const NODES = 4
const authors: TestNode[] = Array.from({ length: NODES }, () => makeNode())

type Op =
  | { type: 'write', node: number, skew: number }
  | { type: 'equivocate', message: number }
  | { type: 'deliver', message: number, to: number, times: number }
  | { type: 'sync', from: number, to: number }
  | { type: 'restart', node: number }

const nodeArb = fc.nat({ max: NODES - 1 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('write' as const), node: nodeArb, skew: fc.integer({ min: -50, max: 50 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('equivocate' as const), message: fc.nat() }) },
  { weight: 6, arbitrary: fc.record({ type: fc.constant('deliver' as const), message: fc.nat(), to: nodeArb, times: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('sync' as const), from: nodeArb, to: nodeArb }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('restart' as const), node: nodeArb }) }
)

function tryAdd (log: RoomLog, m: RoomMessage): void {
  try {
    log.add(m, NOW)
  } catch (err) {
    if (!(err instanceof RoomMessageRejectedError) || err.reason !== 'equivocation') throw err
  }
}

/** Anti-entropy as the sync protocol does it: send the records whose seqs `to` does not hold. */
function sync (from: RoomLog, to: RoomLog): void {
  for (const { replica, ranges } of from.replicas()) {
    for (const [lo, hi] of subtractRanges(ranges, to.rangesOf(replica))) {
      for (const e of from.within(replica, lo, hi)) tryAdd(to, e.msg)
    }
  }
}

function sameRelativeOrder (a: RoomLog, b: RoomLog): boolean {
  const inB = new Set(b.entries().map(e => e.key))
  const common = a.entries().map(e => e.key).filter(k => inB.has(k))
  const inA = new Set(common)
  const fromB = b.entries().map(e => e.key).filter(k => inA.has(k))
  return JSON.stringify(common) === JSON.stringify(fromB)
}

describe('room log convergence (property)', () => {
  it('gives one order and no duplicates on every node, whatever the delivery', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.array(fc.nat(), { minLength: 1, maxLength: 20 }), (ops, finalOrder) => {
      let now = NOW
      const logs = authors.map(() => new RoomLog(ROOM))
      const clocks = authors.map(() => new HybridClock({ now: () => now }))
      const incs = authors.map((_, i) => `0000000${i}`)
      const seqs = authors.map(() => 0)
      const sent: RoomMessage[] = []
      for (const op of ops) {
        now += 7
        if (op.type === 'write') {
          const i = op.node
          const clock = new HybridClock({ now: () => now + op.skew, after: clocks[i]!.highWater })
          clocks[i] = clock
          const m = message(authors[i]!, { seq: ++seqs[i]!, inc: incs[i]!, hlc: clock.tick(), text: `m${sent.length}` })
          sent.push(m)
          tryAdd(logs[i]!, m)
        } else if (op.type === 'equivocate' && sent.length > 0) {
          const orig = sent[op.message % sent.length]!
          const author = authors.find(a => a.peerId === orig.author)!
          sent.push(message(author, { seq: orig.seq, inc: orig.inc, hlc: orig.hlc, nonce: orig.nonce, text: `${orig.text}'` }))
        } else if (op.type === 'deliver' && sent.length > 0) {
          for (let t = 0; t < op.times; t++) tryAdd(logs[op.to]!, sent[op.message % sent.length]!)
        } else if (op.type === 'sync') {
          sync(logs[op.from]!, logs[op.to]!)
        } else if (op.type === 'restart') {
          // A fresh incarnation: seqs restart under a new replica id, never reusing the old one.
          incs[op.node] = `${incs[op.node]!.slice(0, 7)}${(Number.parseInt(incs[op.node]!.slice(7), 16) + NODES) % 16}`.padStart(8, '0')
          seqs[op.node] = 0
        }
        for (let a = 0; a < NODES; a++) for (let b = a + 1; b < NODES; b++) if (!sameRelativeOrder(logs[a]!, logs[b]!)) return false
      }
      // Heal: anti-entropy in a random order, then every version reaches everyone (as live gossip would).
      for (const k of finalOrder) sync(logs[k % NODES]!, logs[(k >> 2) % NODES]!)
      for (let a = 0; a < NODES; a++) for (let b = 0; b < NODES; b++) sync(logs[a]!, logs[b]!)
      logs.forEach((log, i) => {
        // Each node hears the versions in its own order.
        const shift = (finalOrder[i % finalOrder.length] ?? 0) % Math.max(1, sent.length)
        const order = [...sent.slice(shift), ...sent.slice(0, shift)]
        for (const m of i % 2 === 0 ? order : order.reverse()) tryAdd(log, m)
      })
      const ids = logs.map(l => l.entries().map(e => `${e.key} ${e.msg.sig}`))
      for (const list of ids) {
        expect(new Set(list).size).toBe(list.length)
        expect(list).toEqual(ids[0])
      }
      expect(new Set(logs.map(l => l.root())).size).toBe(1)
      return true
    }), { numRuns: 200 })
  })
})
