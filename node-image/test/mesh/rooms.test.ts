import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { randomBytes } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { startMesh, eventually, type Mesh } from './harness.ts'
import { startRawMember, type RawMember } from './raw-member.ts'
import { networkProtocols } from '../../src/p2p/protocols.ts'
import { request } from '../../src/p2p/lp-rpc.ts'
import { NodeSigner } from '../../src/identity/node-signer.ts'
import { messageId, signRoomMessage, type RoomMessage } from '../../src/rooms/room-message.ts'
import type { RoomMessageView } from '../../src/rooms/room-view.ts'

// Rooms across real nodes: live delivery, a node that was down catching up with
// no loss and no duplicates, history from disk, idempotent posts across a
// restart, and records a member forged or stamped in the future refused.

interface Digest { root: string, messages: number }

describe('rooms', () => {
  let mesh: Mesh
  let room: string
  beforeAll(async () => {
    mesh = await startMesh({ nodes: 3 })
    room = `room:${mesh.net.network}`
  })
  afterAll(async () => { await mesh.stop() })

  const url = (i: number): string => mesh.net.nodes[i]?.httpUrl ?? ''
  const post = async (i: number, text: string, nonce = randomBytes(16).toString('base64url')): Promise<{ status: number, body: { id: string, orderKey: string } }> => {
    const res = await fetch(`${url(i)}/api/v1/rooms/${encodeURIComponent(room)}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nonce, nick: `n${i + 1}`, text }),
      signal: AbortSignal.timeout(5000)
    })
    return { status: res.status, body: await res.json() as { id: string, orderKey: string } }
  }
  /** Oldest first. */
  const list = async (i: number): Promise<RoomMessageView[]> =>
    (await mesh.get<{ messages: RoomMessageView[] }>(i, `/api/v1/rooms/${encodeURIComponent(room)}/messages?limit=200`)).messages.reverse()
  const texts = async (i: number): Promise<string[]> => (await list(i)).map(m => m.text)
  const digest = async (i: number): Promise<Digest> => await mesh.get<Digest>(i, `/api/v1/rooms/${encodeURIComponent(room)}/digest`)

  it('delivers a message posted on one node to the others, with its author, stamp and receipts', async () => {
    const sent = await post(0, 'hello from 1')
    expect(sent.status).toBe(201)
    for (const i of [1, 2]) await eventually(async () => (await texts(i)).includes('hello from 1'), { what: `node ${i + 1} to show the message` })
    const [seen] = await list(2)
    expect(seen).toMatchObject({ id: sent.body.id, orderKey: sent.body.orderKey, room, author: mesh.net.nodes[0]?.peerId, nick: 'n1', kind: 'text', files: [], late: false, sealed: false, readable: true })
    expect(seen?.sentAt).toBeGreaterThan(0)
    // Node 1 learns from the others' receipts that they hold it.
    await eventually(async () => (await list(0))[0]?.delivery.deliveredTo.length === 2, { what: 'receipts from nodes 2 and 3' })
  })

  it('merges both sides after a node was down: one order, no loss, no duplicates, equal digests', async () => {
    const base = (await list(0)).length
    const down = mesh.procs[2]
    if (down === undefined) throw new Error('no node 3')
    await down.stop()
    for (const [i, text] of [[0, 'a1'], [1, 'b1'], [0, 'a2'], [1, 'b2']] as const) expect((await post(i, text)).status).toBe(201)
    // Gossipsub re-offers messages from its cache for about five heartbeats (5 s); past that, only anti-entropy can bring them.
    await new Promise(resolve => setTimeout(resolve, 7000))
    down.start()
    await down.waitReady(60_000)
    for (const text of ['c1', 'c2']) expect((await post(2, text)).status).toBe(201)
    const lists = async (): Promise<string[][]> => await Promise.all([0, 1, 2].map(async i => (await list(i)).map(m => m.id)))
    await eventually(async () => {
      const [a, b, c] = await lists()
      return a?.length === base + 6 && JSON.stringify(a) === JSON.stringify(b) && JSON.stringify(a) === JSON.stringify(c)
    }, { what: 'equal message lists on all three nodes', detail: async () => JSON.stringify(await lists()) })
    const ids = (await lists())[0] ?? []
    expect(new Set(ids).size).toBe(ids.length)
    expect((await texts(2)).filter(t => ['a1', 'a2', 'b1', 'b2', 'c1', 'c2'].includes(t)).sort()).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'c2'])
    const digests = await Promise.all([0, 1, 2].map(digest))
    expect(new Set(digests.map(d => d.root)).size).toBe(1)
    expect(digests[0]?.messages).toBe(base + 6)
    // Node 3 pulled what it missed: it holds messages it never received live.
    expect(await mesh.metric(2, 'dawn_room_messages_accepted_total', { source: 'sync' })).toBeGreaterThanOrEqual(4)
  })

  // Receipts live in memory: a node that restarts learns the others' from each of them as it
  // verifies them, not from any new message (none is posted while it is back).
  it('tells a node that comes back how far each member has got', async () => {
    const back = mesh.procs[2]
    if (back === undefined) throw new Error('no node 3')
    await back.stop()
    const sent = await post(0, 'while 3 was away')
    expect(sent.status).toBe(201)
    await eventually(async () => (await list(0)).find(m => m.id === sent.body.id)?.delivery.deliveredTo.length === 1, { what: 'node 2\'s receipt at node 1' })
    // Past gossipsub's message cache (about five heartbeats), so node 2's receipt cannot reach node 3 from it.
    await new Promise(resolve => setTimeout(resolve, 7000))
    back.start()
    await back.waitReady(60_000)
    // The author (node 1) is not listed: it holds what it wrote.
    await eventually(async () => {
      const view = (await list(2)).find(m => m.id === sent.body.id)
      return view !== undefined && JSON.stringify(view.delivery.deliveredTo) === JSON.stringify([mesh.net.nodes[1]?.peerId]) ? true : undefined
    }, { what: 'node 3 to hold the message and know that node 2 holds it', detail: async () => JSON.stringify((await list(2)).find(m => m.id === sent.body.id)?.delivery) })
  })

  it('keeps history on disk, and a post retried with its nonce after a restart is not written twice', async () => {
    const nonce = randomBytes(16).toString('base64url')
    const first = await post(0, 'once', nonce)
    expect(first.status).toBe(201)
    await eventually(async () => (await list(1)).some(m => m.id === first.body.id), { what: 'node 2 to hold the post' })
    const before = (await list(0)).map(m => m.id)
    // Node 1 comes back alone, so nothing can refill it from a peer (alone, it waits for a bootstrap peer and is not ready; its API answers).
    await Promise.all([1, 2].map(async i => { await mesh.procs[i]?.stop() }))
    await mesh.procs[0]?.stop()
    mesh.procs[0]?.start()
    await eventually(async () => (await fetch(`${url(0)}/api/v1/rooms`, { signal: AbortSignal.timeout(2000) })).ok, { what: 'node 1\'s API after the restart', timeoutMs: 60_000 })
    expect((await mesh.get<{ peers: number }>(0, '/api/v1/node')).peers).toBe(0)
    expect((await list(0)).map(m => m.id)).toEqual(before)
    const again = await post(0, 'once', nonce)
    expect(again).toEqual({ status: 200, body: first.body })
    expect((await list(0)).map(m => m.id)).toEqual(before)
    for (const i of [1, 2]) mesh.procs[i]?.start()
    await Promise.all([0, 1, 2].map(async i => { await mesh.procs[i]?.waitReady(60_000) }))
  })
})

describe('rooms: the page API refuses what it must', () => {
  let mesh: Mesh
  beforeAll(async () => { mesh = await startMesh({ nodes: 1 }) })
  afterAll(async () => { await mesh.stop() })

  const send = async (path: string, body: unknown): Promise<Response> => await fetch(`${mesh.net.nodes[0]?.httpUrl ?? ''}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5000)
  })

  it('answers 429 with retry-after past the rate, 400 for an empty or bad message, 404 for a room it lacks', async () => {
    const room = encodeURIComponent(`room:${mesh.net.network}`)
    const statuses: number[] = []
    let retryAfter: string | null = null
    for (let i = 0; i < 30; i++) {
      const res = await send(`/api/v1/rooms/${room}/messages`, { nonce: randomBytes(16).toString('base64url'), text: `burst ${i}` })
      statuses.push(res.status)
      if (res.status === 429) retryAfter = res.headers.get('retry-after')
    }
    // A burst of 20, then 5 a second: 30 posts in well under two seconds cannot all pass.
    expect(statuses.filter(s => s === 201).length).toBeGreaterThanOrEqual(20)
    expect(statuses).toContain(429)
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1)
    await new Promise(resolve => setTimeout(resolve, 1000 * Number(retryAfter)))
    const empty = await send(`/api/v1/rooms/${room}/messages`, { nonce: randomBytes(16).toString('base64url') })
    expect(empty.status).toBe(400)
    expect(await empty.json()).toMatchObject({ reason: 'malformed' })
    const badCid = await send(`/api/v1/rooms/${room}/messages`, { nonce: randomBytes(16).toString('base64url'), files: [{ cid: 'nope', name: 'a', size: 1, type: 'text/plain' }] })
    expect(badCid.status).toBe(400)
    expect((await send(`/api/v1/rooms/${room}/messages`, { nonce: 'short', text: 'x' })).status).toBe(400)
    expect((await send(`/api/v1/rooms/${encodeURIComponent('room:elsewhere')}/messages`, { nonce: randomBytes(16).toString('base64url'), text: 'x' })).status).toBe(404)
    expect((await fetch(`${mesh.net.nodes[0]?.httpUrl ?? ''}/api/v1/rooms/${encodeURIComponent('room:elsewhere')}/messages`)).status).toBe(404)
    // Typing notices go out at most once per 3 s per room.
    expect(await (await send(`/api/v1/rooms/${room}/typing`, { nick: 'me' })).json()).toEqual({ sent: true })
    expect(await (await send(`/api/v1/rooms/${room}/typing`, { nick: 'me' })).json()).toEqual({ sent: false })
    expect((await send('/api/v1/dms', { nodeId: 'not-a-peer' })).status).toBe(400)
    expect((await send('/api/v1/dms', { nodeId: mesh.net.nodes[0]?.peerId })).status).toBe(400)
  })
})

describe('rooms: records from a hostile member', () => {
  let mesh: Mesh
  let liar: RawMember
  let room: string
  const served: RoomMessage[] = []
  beforeAll(async () => {
    mesh = await startMesh({ nodes: 1 })
    room = `room:${mesh.net.network}`
    const node = mesh.net.nodes[0]
    if (node === undefined) throw new Error('no node')
    liar = await startRawMember(mesh.net, node, { certified: true })
    const signer = new NodeSigner(liar.creds.seed, liar.creds.peerId)
    const record = (seq: number, text: string, ms = Date.now()): RoomMessage => signRoomMessage({
      v: 1, network: mesh.net.network, room, author: liar.creds.peerId, inc: 'deadbeef', seq, hlc: { ms, c: 0 },
      nonce: randomBytes(16).toString('base64url'), nick: 'liar', kind: 'text', text, cert: liar.creds.certificate
    }, signer)
    served.push(record(1, 'honest'), { ...record(2, 'signed'), text: 'altered' }, record(3, 'from the future', Date.now() + 600_000))
    // A member whose room sync serves those three records, whatever is asked.
    const protocol = networkProtocols(mesh.net.network).roomSync
    await liar.host.handle(protocol, async (stream) => {
      const lp = lpStream(stream)
      const env = liar.messenger.open((await lp.read()).subarray(), { type: 'room.sync' })
      const req = JSON.parse(new TextDecoder().decode(env?.body)) as { op: string }
      const replica = `${liar.creds.peerId}.deadbeef`
      const body = req.op === 'rooms'
        ? { op: 'rooms', rooms: [{ room, root: 'f'.repeat(64) }] }
        : req.op === 'replicas'
          ? { op: 'replicas', room, replicas: [{ replica, ranges: [[1, 3]] }], more: false }
          : { op: 'spans', room, spans: [{ replica, lo: 1, hi: 3, records: served }] }
      await lp.write(liar.messenger.seal('room.sync', new TextEncoder().encode(JSON.stringify(body))))
      await stream.close()
    }, { runOnLimitedConnection: true })
  }, 120_000)
  afterAll(async () => {
    await liar.stop()
    await mesh.stop()
  })

  it('takes the authentic record and refuses the altered and the future one, each with its reason', async () => {
    const node = mesh.net.nodes[0]
    if (node === undefined) throw new Error('no node')
    // Pulling with a root that differs makes the node pull back from us (it may have tried before our handler was up).
    const provoke = async (): Promise<void> => {
      const body = new TextEncoder().encode(JSON.stringify({ op: 'replicas', room, root: '0'.repeat(64) }))
      await request(liar.host, peerIdFromString(node.peerId), networkProtocols(mesh.net.network).roomSync, liar.messenger.seal('room.sync', body), { maxBytes: 1024 * 1024, signal: AbortSignal.timeout(10_000) })
    }
    const ids = async (): Promise<string[]> => (await mesh.get<{ messages: RoomMessageView[] }>(0, `/api/v1/rooms/${encodeURIComponent(room)}/messages`)).messages.map(m => m.id)
    await eventually(async () => {
      if (!(await ids()).includes(messageId(served[0] as RoomMessage))) await provoke()
      return (await ids()).includes(messageId(served[0] as RoomMessage))
    }, { what: 'the node to pull the honest record', intervalMs: 1500 })
    expect(await ids()).toEqual([messageId(served[0] as RoomMessage)])
    expect(await mesh.metric(0, 'dawn_room_messages_rejected_total', { reason: 'bad-signature', source: 'sync' })).toBeGreaterThanOrEqual(1)
    expect(await mesh.metric(0, 'dawn_room_messages_rejected_total', { reason: 'future', source: 'sync' })).toBeGreaterThanOrEqual(1)
  })
  it('refuses a forged record on gossip with its reason, and takes an authentic one', async () => {
    const topic = networkProtocols(mesh.net.network).roomsTopic
    const pubsub = liar.host.services.pubsub
    pubsub.subscribe(topic)
    const signer = new NodeSigner(liar.creds.seed, liar.creds.peerId)
    const record = (seq: number, text: string): RoomMessage => signRoomMessage({
      v: 1, network: mesh.net.network, room, author: liar.creds.peerId, inc: 'cafebabe', seq, hlc: { ms: Date.now(), c: 0 },
      nonce: randomBytes(16).toString('base64url'), nick: 'liar', kind: 'text', text, cert: liar.creds.certificate
    }, signer)
    const publish = async (m: unknown): Promise<void> => {
      await pubsub.publish(topic, liar.messenger.seal('room.message', new TextEncoder().encode(JSON.stringify(m)))).catch(() => {})
    }
    const forged = { ...record(1, 'signed'), text: 'altered on the way' }
    const honest = record(2, 'live and honest')
    const rejected = async (): Promise<number> => await mesh.metric(0, 'dawn_room_messages_rejected_total', { reason: 'bad-signature', source: 'gossip' })
    await eventually(async () => {
      if (await rejected() === 0) await publish(forged)
      return await rejected() >= 1
    }, { what: 'the node to refuse the forged record', intervalMs: 1000 })
    await eventually(async () => {
      const texts = (await mesh.get<{ messages: RoomMessageView[] }>(0, `/api/v1/rooms/${encodeURIComponent(room)}/messages`)).messages.map(m => m.text)
      if (!texts.includes('live and honest')) await publish(honest)
      return texts.includes('live and honest')
    }, { what: 'the node to take the honest record from gossip', intervalMs: 1000 })
    const texts = (await mesh.get<{ messages: RoomMessageView[] }>(0, `/api/v1/rooms/${encodeURIComponent(room)}/messages`)).messages.map(m => m.text)
    expect(texts).not.toContain('altered on the way')
    expect(texts).not.toContain('signed')
  })
})
