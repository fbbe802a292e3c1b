import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startMesh, eventually, type Mesh } from './harness.ts'
import type { RoomMessageView } from '../../src/rooms/room-view.ts'

// Direct messages between two nodes: sealed end to end, pushed live, synced
// only between the two ends, readable on both, never held by a third node.

describe('direct messages', () => {
  let mesh: Mesh
  let dm: string
  beforeAll(async () => { mesh = await startMesh({ nodes: 3 }) })
  afterAll(async () => { await mesh.stop() })

  const url = (i: number): string => mesh.net.nodes[i]?.httpUrl ?? ''
  const peer = (i: number): string => mesh.net.nodes[i]?.peerId ?? ''
  const postJson = async (i: number, path: string, body: unknown): Promise<Response> => await fetch(`${url(i)}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000)
  })
  const say = async (i: number, text: string): Promise<void> => {
    const res = await postJson(i, `/api/v1/rooms/${encodeURIComponent(dm)}/messages`, { nonce: randomBytes(16).toString('base64url'), nick: `n${i + 1}`, text })
    expect(res.status).toBe(201)
  }
  const texts = async (i: number): Promise<string[]> =>
    (await mesh.get<{ messages: RoomMessageView[] }>(i, `/api/v1/rooms/${encodeURIComponent(dm)}/messages`)).messages.map(m => m.text).reverse()
  /** Every file under node i's data dir, as text. */
  const disk = async (i: number): Promise<string> => {
    const dir = join(mesh.net.nodes[i]?.dir ?? '', 'data')
    const names = await readdir(dir, { recursive: true, withFileTypes: true })
    const files = names.filter(d => d.isFile()).map(d => join(d.parentPath, d.name))
    return (await Promise.all(files.map(async f => await readFile(f, 'latin1')))).join('\n')
  }

  it('reaches the other end live, sealed, and both ends read it', async () => {
    const opened = await postJson(0, '/api/v1/dms', { nodeId: peer(1) })
    expect(opened.status).toBe(200)
    dm = (await opened.json() as { room: string }).room
    expect(dm).toBe(`dm:${[peer(0), peer(1)].sort().join(':')}`)
    await say(0, 'secret for two')
    await eventually(async () => (await texts(1)).includes('secret for two'), { what: 'node 2 to read the DM' })
    expect(await mesh.metric(1, 'dawn_room_messages_accepted_total', { source: 'push' })).toBeGreaterThanOrEqual(1)
    await say(1, 'secret reply')
    await eventually(async () => JSON.stringify(await texts(0)) === JSON.stringify(['secret for two', 'secret reply']), { what: 'node 1 to read the reply' })
    const views = async (i: number): Promise<RoomMessageView[]> => (await mesh.get<{ messages: RoomMessageView[] }>(i, `/api/v1/rooms/${encodeURIComponent(dm)}/messages`)).messages
    const [view, mine] = await views(0)
    expect(view).toMatchObject({ sealed: true, readable: true, author: peer(1), nick: 'n2', kind: 'text' })
    // Delivered and seen travel back to the sender on the same two-party channel.
    await eventually(async () => (await views(0))[1]?.delivery.deliveredTo.includes(peer(1)), { what: 'node 1 to learn node 2 holds its DM' })
    expect((await views(0))[1]?.delivery.seenBy).toEqual([])
    expect((await postJson(1, `/api/v1/rooms/${encodeURIComponent(dm)}/seen`, { upTo: mine?.orderKey })).status).toBe(204)
    await eventually(async () => (await views(0))[1]?.delivery.seenBy.includes(peer(1)), { what: 'node 1 to learn node 2 has seen its DM' })
    // Search reads the opened text.
    const found = await mesh.get<{ messages: RoomMessageView[] }>(1, `/api/v1/rooms/${encodeURIComponent(dm)}/search?q=SECRET+reply`)
    expect(found.messages.map(m => m.text)).toEqual(['secret reply'])
    expect((await mesh.get<{ rooms: Array<{ room: string, kind: string, peer?: string }> }>(1, '/api/v1/rooms')).rooms).toContainEqual(expect.objectContaining({ room: dm, kind: 'dm', peer: peer(0) }))
  })

  it('is never held by a third node, and is on disk only as ciphertext', async () => {
    // Node 3 restarts, so it runs anti-entropy with both ends after the DM exists: it has every chance to pull it.
    const network = `room:${mesh.net.network}`
    await mesh.procs[2]?.stop()
    mesh.procs[2]?.start()
    await mesh.procs[2]?.waitReady(60_000)
    const runs = async (): Promise<number> => await mesh.metric(2, 'dawn_room_sync_runs_total', { result: 'merged' }) + await mesh.metric(2, 'dawn_room_sync_runs_total', { result: 'in-sync' })
    await eventually(async () => await runs() >= 2, { what: 'node 3 to run anti-entropy with both peers' })
    expect((await mesh.get<{ rooms: Array<{ room: string }> }>(2, '/api/v1/rooms')).rooms.map(r => r.room)).toEqual([network])
    expect((await fetch(`${url(2)}/api/v1/rooms/${encodeURIComponent(dm)}/messages`)).status).toBe(404)
    const dirName = createHash('sha256').update(dm).digest('hex').slice(0, 16)
    expect(await disk(2)).not.toContain(dirName)
    for (const i of [0, 1, 2]) {
      const all = await disk(i)
      expect(all).not.toContain('secret for two')
      expect(all).not.toContain('secret reply')
    }
    expect(await disk(0)).toContain('"sealed"')
  })

  it('reaches an end that was down once it is back', async () => {
    await mesh.procs[1]?.stop()
    await say(0, 'while you were away')
    mesh.procs[1]?.start()
    await mesh.procs[1]?.waitReady(60_000)
    await eventually(async () => (await texts(1)).includes('while you were away'), { what: 'node 2 to get the DM sent while it was down' })
    expect(await texts(1)).toEqual(await texts(0))
  })
})
