import { afterEach, describe, expect, it } from 'vitest'
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RoomLogStore } from '../../../src/rooms/room-log-store.ts'
import { makeNode, message, NOW, ROOM } from './fixtures.ts'

const ann = makeNode()
const dirs: string[] = []
afterEach(async () => { for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true }) })

async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'dawn-rooms-'))
  dirs.push(d)
  return d
}

const store = (dataDir: string, logs: string[] = []): RoomLogStore => new RoomLogStore({ dataDir, peerId: ann.peerId, log: (_l, msg) => { logs.push(msg) }, segmentBytes: 2048 })

describe('RoomLogStore', () => {
  it('gives back every appended record in order, across segments, and keeps its incarnation after a clean stop', async () => {
    const dataDir = await tempDir()
    const first = store(dataDir)
    const loaded = await first.load()
    expect(loaded.rooms).toEqual([])
    expect(loaded.recovered).toBe(false)
    const msgs = Array.from({ length: 8 }, (_, i) => message(ann, { seq: i + 1 }))
    for (const [i, m] of msgs.entries()) {
      first.append(ROOM, { r: NOW + i, m })
      if (i % 3 === 2) await first.flushed()
    }
    await first.close({ ms: NOW + 99, c: 4 })
    const segs = (await readdir(join(dataDir, 'rooms'), { recursive: true })).filter(n => n.endsWith('.jsonl'))
    expect(segs.length).toBeGreaterThan(1)

    const again = await store(dataDir).load()
    expect(again.incarnation).toBe(loaded.incarnation)
    expect(again.hlc).toEqual({ ms: NOW + 99, c: 4 })
    expect(again.rooms).toEqual([{ room: ROOM, lines: msgs.map((m, i) => ({ r: NOW + i, m })), held: {} }])
  })

  it('takes a fresh incarnation after an unclean stop, so no seq is reused', async () => {
    const dataDir = await tempDir()
    const first = store(dataDir)
    const { incarnation } = await first.load()
    first.append(ROOM, { r: NOW, m: message(ann, { seq: 1 }) })
    await first.flushed()
    // no close(): the process died
    const again = await store(dataDir).load()
    expect(again.recovered).toBe(true)
    expect(again.incarnation).not.toBe(incarnation)
    expect(again.rooms[0]?.lines.length).toBe(1)
  })

  it('cuts a torn last line and skips an unreadable one in the middle', async () => {
    const dataDir = await tempDir()
    const first = store(dataDir)
    await first.load()
    first.append(ROOM, { r: NOW, m: message(ann, { seq: 1 }) })
    await first.close({ ms: NOW, c: 0 })
    const roomDir = join(dataDir, 'rooms', (await readdir(join(dataDir, 'rooms'))).find(n => n !== 'state.json')!)
    const seg = join(roomDir, 'seg-000001.jsonl')
    await appendFile(seg, 'garbage\n' + JSON.stringify({ r: NOW, m: message(ann, { seq: 2 }) }) + '\n{"r":17,"m":{"v":1,"net')
    const logs: string[] = []
    const loaded = await store(dataDir, logs).load()
    expect(loaded.rooms[0]?.lines.map(l => (l.m as { seq: number }).seq)).toEqual([1, 2])
    expect((await readFile(seg, 'utf8')).endsWith('}\n')).toBe(true)
    expect(logs).toContain('cut a torn last line from room history')
    expect(logs).toContain('skipped unreadable lines in room history')
  })

  it('ignores a room directory whose room.json does not name it', async () => {
    const dataDir = await tempDir()
    const first = store(dataDir)
    await first.load()
    first.append(ROOM, { r: NOW, m: message(ann, { seq: 1 }) })
    await first.close({ ms: NOW, c: 0 })
    const name = (await readdir(join(dataDir, 'rooms'))).find(n => n !== 'state.json')!
    await writeFile(join(dataDir, 'rooms', name, 'room.json'), JSON.stringify({ room: 'room:elsewhere' }))
    expect((await store(dataDir).load()).rooms).toEqual([])
  })
})
