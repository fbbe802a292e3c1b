import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RoomBook } from '../../../src/rooms/room-book.ts'
import { caPublicKey, makeNode, message, NETWORK, NOW, ROOM, type TestNode } from './fixtures.ts'

const dirs: string[] = []
afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }) })

const ann = makeNode()
const bob = makeNode()

function bookAt (dataDir: string, node: TestNode, maxMessages = 50_000): RoomBook {
  return new RoomBook({ network: NETWORK, selfId: node.peerId, signer: node.signer, cert: node.cert, caPublicKey, dataDir, retention: { maxMessages, maxAgeDays: 3650 }, log: () => {}, now: () => NOW })
}

async function segmentLines (dataDir: string): Promise<string[]> {
  const files = (await readdir(join(dataDir, 'rooms'), { recursive: true })).filter(n => n.endsWith('.jsonl')).sort()
  return (await Promise.all(files.map(async f => await readFile(join(dataDir, 'rooms', f), 'utf8')))).join('').split('\n').filter(l => l !== '')
}

describe('RoomBook', () => {
  it('writes with dense seqs, returns the first message for a repeated nonce, and keeps both across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dawn-room-book-'))
    dirs.push(dataDir)
    const a = bookAt(dataDir, ann)
    await a.open()
    const one = a.write(ROOM, { nonce: 'nonce-aaaaaaaaaaaaaaaa', nick: 'ann', kind: 'text', text: 'one' })
    const two = a.write(ROOM, { nonce: 'nonce-bbbbbbbbbbbbbbbb', nick: 'ann', kind: 'text', text: 'two' })
    expect([one.entry.msg.seq, two.entry.msg.seq]).toEqual([1, 2])
    expect(a.write(ROOM, { nonce: 'nonce-aaaaaaaaaaaaaaaa', nick: 'ann', kind: 'text', text: 'one again' })).toMatchObject({ outcome: 'duplicate', entry: { id: one.entry.id } })
    await a.close()
    const b = bookAt(dataDir, ann)
    await b.open()
    expect(b.write(ROOM, { nonce: 'nonce-aaaaaaaaaaaaaaaa', nick: 'ann', kind: 'text', text: 'x' }).entry.id).toBe(one.entry.id)
    const three = b.write(ROOM, { nonce: 'nonce-cccccccccccccccc', nick: 'ann', kind: 'text', text: 'three' })
    // A clean stop keeps the incarnation, so seqs go on where they were.
    expect(three.entry.msg).toMatchObject({ inc: one.entry.msg.inc, seq: 3 })
    expect(three.entry.key > two.entry.key).toBe(true)
    await b.close()
  })

  it('compacts history that retention pruned, and still holds the pruned ids after a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dawn-room-book-'))
    dirs.push(dataDir)
    const a = bookAt(dataDir, ann, 10)
    await a.open()
    for (let s = 1; s <= 30; s++) a.accept(message(bob, { seq: s, hlc: { ms: NOW - 1000 + s, c: 0 } }))
    a.write(ROOM, { nonce: 'nonce-dddddddddddddddd', nick: 'ann', kind: 'text', text: 'mine' })
    const root = a.room(ROOM)?.root()
    // bob's share is 2 of 10, so most of his are pruned
    expect(a.room(ROOM)?.size).toBe(3)
    await a.close()
    expect((await segmentLines(dataDir)).length).toBe(31)
    const b = bookAt(dataDir, ann, 10)
    await b.open()
    expect((await segmentLines(dataDir)).length).toBe(4)
    expect(b.room(ROOM)?.root()).toBe(root)
    expect(b.accept(message(bob, { seq: 1, hlc: { ms: NOW - 999, c: 0 } })).outcome).toBe('duplicate')
    await b.close()
    const c = bookAt(dataDir, ann, 10)
    await c.open()
    expect(c.room(ROOM)?.root()).toBe(root)
    expect(c.room(ROOM)?.size).toBe(3)
    await c.close()
  })
})
