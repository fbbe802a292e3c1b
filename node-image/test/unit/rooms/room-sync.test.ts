import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RoomBook } from '../../../src/rooms/room-book.ts'
import { answerRoomSync } from '../../../src/rooms/room-sync-answer.ts'
import { MAX_MISSING_SPANS, pullRooms, type Ask } from '../../../src/rooms/room-sync-pull.ts'
import { RoomSyncError, type RoomSyncRequest } from '../../../src/rooms/room-sync-wire.ts'
import { dmRoom, type RoomRejectReason } from '../../../src/rooms/room-message.ts'
import { caPublicKey, makeNode, message, NETWORK, NOW, ROOM, type TestNode } from './fixtures.ts'

const dirs: string[] = []
const books: RoomBook[] = []
afterEach(async () => {
  for (const b of books.splice(0)) await b.close()
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
})

async function bookFor (node: TestNode): Promise<RoomBook> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dawn-room-sync-'))
  dirs.push(dataDir)
  const book = new RoomBook({ network: NETWORK, selfId: node.peerId, signer: node.signer, cert: node.cert, caPublicKey, dataDir, retention: { maxMessages: 50_000, maxAgeDays: 3650 }, log: () => {}, now: () => NOW })
  await book.open()
  books.push(book)
  return book
}

/** The puller's ask, answered by `server` as the wire would carry it (JSON both ways). */
function askOf (server: RoomBook, asker: string, budget: number, asked: RoomSyncRequest[] = []): Ask {
  return async (req) => {
    asked.push(JSON.parse(JSON.stringify(req)) as RoomSyncRequest)
    return await Promise.resolve(new TextEncoder().encode(JSON.stringify(answerRoomSync(server, req, asker, budget))))
  }
}

const hooks = (rejected: RoomRejectReason[] = []): Parameters<typeof pullRooms>[3] => ({ accepted: () => {}, rejected: r => { rejected.push(r) } })
const text = (i: number): string => `message ${i} ${'x'.repeat(200)}`

describe('room anti-entropy', () => {
  const ann = makeNode()
  const bob = makeNode()

  it('brings a puller level with its peer across many pages, both ways', async () => {
    const a = await bookFor(ann)
    const b = await bookFor(bob)
    for (let i = 0; i < 40; i++) a.write(ROOM, { nonce: `ann-nonce-${String(i).padStart(8, '0')}`, nick: 'ann', kind: 'text', text: text(i) })
    for (let i = 0; i < 5; i++) b.write(ROOM, { nonce: `bob-nonce-${String(i).padStart(8, '0')}`, nick: 'bob', kind: 'text', text: text(i) })
    const asked: RoomSyncRequest[] = []
    const result = await pullRooms(askOf(a, bob.peerId, 3000, asked), b, ann.peerId, hooks(), AbortSignal.timeout(10_000))
    expect(result.accepted).toBe(40)
    // 40 records of ~1.5 KB under a 3 KB budget: many span pages, each making progress
    expect(asked.filter(r => r.op === 'spans').length).toBeGreaterThan(10)
    await pullRooms(askOf(b, ann.peerId, 3000), a, bob.peerId, hooks(), AbortSignal.timeout(10_000))
    expect(a.room(ROOM)?.root()).toBe(b.room(ROOM)?.root())
    expect(a.room(ROOM)?.entries().map(e => e.id)).toEqual(b.room(ROOM)?.entries().map(e => e.id))
    const again = await pullRooms(askOf(a, bob.peerId, 3000), b, ann.peerId, hooks(), AbortSignal.timeout(10_000))
    expect(again.rooms).toBe(0)
  })

  it('shows a DM room only to its other end', async () => {
    const carol = makeNode()
    const a = await bookFor(ann)
    const dm = dmRoom(ann.peerId, bob.peerId)
    a.write(dm, { nonce: 'dm-nonce-000000000001', nick: 'ann', kind: 'text', text: '', seal: () => 'c2VhbGVk' })
    expect(answerRoomSync(a, { op: 'rooms' }, bob.peerId, 100_000)).toMatchObject({ rooms: [{ room: ROOM }, { room: dm }] })
    expect(answerRoomSync(a, { op: 'rooms' }, carol.peerId, 100_000)).toMatchObject({ rooms: [{ room: ROOM }] })
    expect(() => answerRoomSync(a, { op: 'replicas', room: dm, root: '0'.repeat(64) }, carol.peerId, 100_000)).toThrow(RoomSyncError)
    const c = await bookFor(carol)
    // Even a peer that lists it cannot push a DM of others onto a third node.
    const liar: Ask = async (req) => await askOf(a, bob.peerId, 100_000)(req, AbortSignal.timeout(1000))
    const result = await pullRooms(liar, c, ann.peerId, hooks(), AbortSignal.timeout(10_000))
    expect(result.rooms).toBe(0)
    expect(c.room(dm)).toBeUndefined()
  })

  it('refuses replies that answer something else, make no progress, or are not JSON', async () => {
    const b = await bookFor(bob)
    const replica = `${ann.peerId}.a1b2c3d4`
    const reply = (byOp: Record<string, unknown>): Ask => async (req) => await Promise.resolve(new TextEncoder().encode(typeof byOp[req.op] === 'string' ? byOp[req.op] as string : JSON.stringify(byOp[req.op])))
    const rooms = { op: 'rooms', rooms: [{ room: ROOM, root: 'f'.repeat(64) }] }
    const replicas = { op: 'replicas', room: ROOM, replicas: [{ replica, ranges: [[1, 3]] }], more: false }
    const pull = async (ask: Ask): Promise<string> => await pullRooms(ask, b, ann.peerId, hooks(), AbortSignal.timeout(5000)).then(() => 'ok', (err: unknown) => (err as RoomSyncError).reason)
    expect(await pull(reply({ rooms, replicas, spans: { op: 'spans', room: ROOM, spans: [{ replica, lo: 1, hi: 3, records: [message(ann, { seq: 9 })] }] } }))).toBe('out-of-range')
    expect(await pull(reply({ rooms, replicas, spans: { op: 'spans', room: ROOM, spans: [{ replica, lo: 1, hi: 9, records: [] }] } }))).toBe('out-of-range')
    expect(await pull(reply({ rooms, replicas, spans: { op: 'spans', room: ROOM, spans: [] } }))).toBe('no-progress')
    expect(await pull(reply({ rooms, replicas: { ...replicas, more: true, replicas: [] } }))).toBe('no-progress')
    expect(await pull(reply({ rooms, replicas: '{"op":"replicas"' }))).toBe('malformed')
    expect(await pull(reply({ rooms: { op: 'rooms', rooms: [{ room: ROOM, root: 'f'.repeat(64), extra: 1 }] } }))).toBe('malformed')
    // A forged record is skipped with its reason; the honest one in the same reply is kept.
    const rejected: RoomRejectReason[] = []
    const honest = message(ann, { seq: 1 })
    const forged = { ...message(ann, { seq: 2 }), text: 'altered' }
    const result = await pullRooms(reply({ rooms, replicas, spans: { op: 'spans', room: ROOM, spans: [{ replica, lo: 1, hi: 3, records: [honest, forged] }] } }), b, ann.peerId, hooks(rejected), AbortSignal.timeout(5000))
    expect(result).toMatchObject({ accepted: 1, rejected: 1 })
    expect(rejected).toEqual(['bad-signature'])
    expect(b.room(ROOM)?.rangesOf(replica)).toEqual([[1, 1]])
  })
  it('still syncs a replica split into more ranges than a reply may list', async () => {
    const a = await bookFor(ann)
    const b = await bookFor(bob)
    const carol = makeNode()
    // Carol skipped every other seq: 4200 records, 4200 ranges.
    for (let i = 0; i < 4200; i++) a.accept(message(carol, { seq: 2 * i + 1, hlc: { ms: NOW - 10_000 + i, c: 0 }, text: 'x' }))
    const result = await pullRooms(askOf(a, bob.peerId, 200_000), b, ann.peerId, hooks(), AbortSignal.timeout(30_000))
    expect(result.accepted).toBe(4200)
    expect(b.room(ROOM)?.root()).toBe(a.room(ROOM)?.root())
  })
  it('stops collecting at a bound when a peer pages replicas without end', async () => {
    const b = await bookFor(bob)
    let pages = 0
    let spanRequests = 0
    const endless: Ask = async (req) => {
      // A reply takes a turn of the event loop, as one from the network does.
      await new Promise(resolve => setImmediate(resolve))
      let body: unknown
      if (req.op === 'rooms') body = { op: 'rooms', rooms: [{ room: ROOM, root: 'f'.repeat(64) }] }
      else if (req.op === 'replicas') {
        pages++
        const replica = `${ann.peerId}.${String(pages).padStart(8, '0')}`
        body = { op: 'replicas', room: ROOM, replicas: [{ replica, ranges: Array.from({ length: 4000 }, (_, i) => [2 * i + 1, 2 * i + 1]) }], more: true }
      } else {
        spanRequests++
        body = { op: 'spans', room: ROOM, spans: req.spans.map(s => ({ ...s, records: [] })) }
      }
      return new TextEncoder().encode(JSON.stringify(body))
    }
    const result = await pullRooms(endless, b, ann.peerId, hooks(), AbortSignal.timeout(3000))
    expect(pages).toBe(Math.ceil(MAX_MISSING_SPANS / 4000))
    expect(result.spans).toBe(MAX_MISSING_SPANS)
    expect(spanRequests).toBe(Math.ceil(MAX_MISSING_SPANS / 256))
  })
})
