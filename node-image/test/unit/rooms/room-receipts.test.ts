import { describe, expect, it } from 'vitest'
import { parseReceipt, ReceiptError, RoomReceipts } from '../../../src/rooms/room-receipts.ts'
import { RateLimiter } from '../../../src/rooms/room-limits.ts'
import { RoomLog } from '../../../src/rooms/room-log.ts'
import { makeNode, message, NOW, ROOM } from './fixtures.ts'

describe('RoomReceipts', () => {
  const ann = makeNode()
  const bob = makeNode()
  const carol = makeNode()

  it('says who holds and who has seen a message, newest receipt per node winning', () => {
    const log = new RoomLog(ROOM)
    const m1 = message(ann, { seq: 1, hlc: { ms: NOW, c: 0 } })
    const m2 = message(ann, { seq: 2, hlc: { ms: NOW + 1, c: 0 } })
    log.add(m1, NOW)
    log.add(m2, NOW)
    const k1 = log.entries()[0]!.key
    const k2 = log.entries()[1]!.key
    const mine = new RoomReceipts({ selfId: ann.peerId })
    const bobs = new RoomReceipts({ selfId: bob.peerId, now: () => NOW })
    const bobLog = new RoomLog(ROOM)
    bobLog.add(m1, NOW)
    bobs.markSeen(ROOM, k1)
    const r1 = bobs.own(bobLog)
    expect(mine.apply(bob.peerId, r1)).toBe(true)
    expect(mine.deliveryOf(m1, k1)).toEqual({ deliveredTo: [bob.peerId], seenBy: [bob.peerId] })
    expect(mine.deliveryOf(m2, k2)).toEqual({ deliveredTo: [], seenBy: [] })
    bobLog.add(m2, NOW)
    bobs.markSeen(ROOM, k2)
    const r2 = bobs.own(bobLog)
    expect(mine.apply(bob.peerId, r2)).toBe(true)
    // an older receipt arriving late changes nothing
    expect(mine.apply(bob.peerId, r1)).toBe(false)
    expect(mine.deliveryOf(m2, k2)).toEqual({ deliveredTo: [bob.peerId], seenBy: [bob.peerId] })
    // the author is never listed as a recipient of its own message
    mine.apply(ann.peerId, r2)
    expect(mine.deliveryOf(m2, k2).deliveredTo).toEqual([bob.peerId])
    // seen is by position in the room order; delivered is per author's replica
    expect(mine.deliveryOf(message(carol, { seq: 1 }), k1)).toEqual({ deliveredTo: [], seenBy: [bob.peerId] })
  })

  it('refuses malformed receipts', () => {
    expect(() => parseReceipt({ room: ROOM, hlc: { ms: 1, c: 0 }, delivered: [['not a replica', 1]] })).toThrow(ReceiptError)
    expect(() => parseReceipt({ room: ROOM, hlc: { ms: 1, c: 0 }, delivered: [], extra: 1 })).toThrow(ReceiptError)
    expect(parseReceipt({ room: ROOM, hlc: { ms: 1, c: 0 }, delivered: [[`${ann.peerId}.a1b2c3d4`, 3]] }).delivered).toHaveLength(1)
  })
})

describe('RateLimiter', () => {
  it('allows the burst, then the rate, and says how long to wait', () => {
    let now = 0
    const limiter = new RateLimiter({ perSecond: 5, burst: 3 }, { now: () => now })
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0])
    expect(limiter.take('a')).toBe(200)
    expect(limiter.take('b')).toBe(0)
    now = 200
    expect(limiter.take('a')).toBe(0)
    expect(limiter.take('a')).toBeGreaterThan(0)
  })
})
