import { describe, expect, it } from 'vitest'
import { RoomLog } from '../../../src/rooms/room-log.ts'
import { RoomMessageRejectedError } from '../../../src/rooms/room-message.ts'
import { makeNode, message, NOW, ROOM } from './fixtures.ts'

const ann = makeNode()
const bob = makeNode()

describe('RoomLog', () => {
  it('orders by the stamp whatever the arrival order, and keeps one copy of each id', () => {
    const a1 = message(ann, { seq: 1, hlc: { ms: NOW, c: 0 } })
    const b1 = message(bob, { seq: 1, hlc: { ms: NOW, c: 0 } })
    const a2 = message(ann, { seq: 2, hlc: { ms: NOW + 5, c: 0 } })
    const one = new RoomLog(ROOM)
    const two = new RoomLog(ROOM)
    for (const m of [a2, b1, a1, a2]) one.add(m, NOW)
    for (const m of [a1, a2, b1, b1]) two.add(m, NOW)
    expect(one.entries().map(e => e.id)).toEqual(two.entries().map(e => e.id))
    expect(one.size).toBe(3)
    expect(one.entries()[2]?.msg).toEqual(a2)
    expect(one.add(a1, NOW).outcome).toBe('duplicate')
    expect(one.root()).toBe(two.root())
    expect(one.rangesOf(`${ann.peerId}.a1b2c3d4`)).toEqual([[1, 2]])
  })

  it('pages newest first with the order key as the cursor', () => {
    const log = new RoomLog(ROOM)
    for (let s = 1; s <= 5; s++) log.add(message(ann, { seq: s, hlc: { ms: NOW + s, c: 0 } }), NOW)
    const first = log.page(2)
    expect(first.map(e => e.msg.seq)).toEqual([5, 4])
    expect(log.page(2, first[1]?.key).map(e => e.msg.seq)).toEqual([3, 2])
    expect(log.page(10, log.page(5)[4]?.key)).toEqual([])
  })

  it('keeps the version whose signature sorts lower, in either arrival order (equivocation)', () => {
    const v1 = message(ann, { seq: 1, text: 'one' })
    const v2 = message(ann, { seq: 1, text: 'two' })
    const [low, high] = v1.sig < v2.sig ? [v1, v2] : [v2, v1]
    const a = new RoomLog(ROOM)
    a.add(high, NOW)
    expect(a.add(low, NOW).outcome).toBe('replaced')
    const b = new RoomLog(ROOM)
    b.add(low, NOW)
    expect(() => b.add(high, NOW)).toThrow(RoomMessageRejectedError)
    expect(a.entries().map(e => e.msg)).toEqual([low])
    expect(b.entries().map(e => e.msg)).toEqual([low])
    expect(a.size).toBe(1)
  })

  it('prunes by age, by count and by an author\'s share, and still holds what it pruned', () => {
    const log = new RoomLog(ROOM)
    for (let s = 1; s <= 6; s++) log.add(message(ann, { seq: s, hlc: { ms: NOW + s, c: 0 } }), NOW)
    for (let s = 1; s <= 4; s++) log.add(message(bob, { seq: s, hlc: { ms: NOW + 10 + s, c: 0 } }), NOW)
    const dropped = log.prune({ maxMessages: 8, maxAgeMs: 1000, authorShare: 0.25 }, NOW + 2 + 1000)
    // age drops ann 1; count drops ann 2; each author's share (2) drops ann 3, 4 and bob 1, 2
    const name = (e: { msg: { author: string, seq: number } }): string => `${e.msg.author === ann.peerId ? 'a' : 'b'}${e.msg.seq}`
    expect(dropped.map(name).sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2'])
    expect(log.entries().map(name)).toEqual(['a5', 'a6', 'b3', 'b4'])
    expect(log.rangesOf(`${ann.peerId}.a1b2c3d4`)).toEqual([[1, 6]])
    expect(log.add(message(ann, { seq: 1, hlc: { ms: NOW + 1, c: 0 } }), NOW).outcome).toBe('duplicate')
    expect(log.size).toBe(4)
  })

  it('serves a replica\'s records within a span, by seq', () => {
    const log = new RoomLog(ROOM)
    for (const s of [9, 3, 5, 1]) log.add(message(ann, { seq: s, hlc: { ms: NOW + s, c: 0 } }), NOW)
    const replica = `${ann.peerId}.a1b2c3d4`
    expect(log.within(replica, 2, 9).map(e => e.msg.seq)).toEqual([3, 5, 9])
    expect(log.within(replica, 1, 1e9).map(e => e.msg.seq)).toEqual([1, 3, 5, 9])
    expect(log.heldWithin(replica, 2, 6)).toEqual([[3, 3], [5, 5]])
  })
})
