import { afterEach, describe, expect, it, vi } from 'vitest'
import { streamPair } from '@libp2p/utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { encodeLength } from '../../../src/p2p/length-prefix.ts'
import { PeerAdmission, StreamRefusedError, type AdmittedStream, type PeerAdmissionComponents, type StreamRefusal } from '../../../src/p2p/peer-admission.ts'

// Real in-memory libp2p streams (streamPair from @libp2p/utils: two mock muxers over a
// multiaddr-connection pair). `outbound` is the remote peer's end, `inbound` the one
// a protocol handler would receive.

const SERVICE = 'test-service'
const newPeer = async (): Promise<PeerId> => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
/** admit() reads only `remotePeer` of the connection. */
const connectionOf = (peer: PeerId): Connection => ({ remotePeer: peer }) as Partial<Connection> as Connection

const body = (length: number, fill = 7): Uint8Array => new Uint8Array(length).fill(fill)
const frame = (payload: Uint8Array): Uint8Array => new Uint8Array([...encodeLength(payload.byteLength), ...payload])

const open: Stream[] = []
async function pair (): Promise<{ remote: Stream, local: Stream }> {
  const [remote, local] = await streamPair()
  open.push(remote, local)
  return { remote, local }
}
afterEach(() => {
  for (const s of open.splice(0)) s.abort(new Error('test over'))
})

function admission (init: { verified?: boolean, maxStreamsPerPeer?: number, maxBytesPerPeer?: number } = {}): {
  admission: PeerAdmission
  refused: ReturnType<typeof vi.fn<PeerAdmissionComponents['onRefused']>>
  isVerified: ReturnType<typeof vi.fn<PeerAdmissionComponents['isVerified']>>
} {
  const refused = vi.fn<PeerAdmissionComponents['onRefused']>()
  const isVerified = vi.fn<PeerAdmissionComponents['isVerified']>(() => init.verified ?? true)
  return {
    refused,
    isVerified,
    admission: new PeerAdmission({ isVerified, onRefused: refused }, { maxStreamsPerPeer: init.maxStreamsPerPeer ?? 8, maxBytesPerPeer: init.maxBytesPerPeer ?? 1024 })
  }
}

async function refusal (promise: Promise<unknown>): Promise<StreamRefusal> {
  const err: unknown = await promise.then(() => undefined, (e: unknown) => e)
  if (!(err instanceof StreamRefusedError)) throw new Error(`expected StreamRefusedError, got ${String(err)}`)
  return err.reason
}

const signal = (): AbortSignal => AbortSignal.timeout(10_000)

describe('PeerAdmission', () => {
  it('resets a stream from an unverified peer and counts it before reading a byte', async () => {
    const { admission: door, refused, isVerified } = admission({ verified: false })
    const peer = await newPeer()
    const { remote, local } = await pair()
    const hello = frame(body(40))
    remote.send(hello)
    // The bytes have arrived and wait, unread, in the handler's end.
    await expect.poll(() => local.readBufferLength, { timeout: 10_000 }).toBe(hello.byteLength)
    let atAbort: { buffered: number, readers: number, counted: number } | undefined
    const realAbort = local.abort.bind(local)
    const abort = vi.spyOn(local, 'abort').mockImplementation((err: Error) => {
      atAbort = { buffered: local.readBufferLength, readers: local.listenerCount('message'), counted: refused.mock.calls.length }
      realAbort(err)
    })

    expect(door.admit(local, connectionOf(peer), SERVICE)).toBeUndefined()
    expect(isVerified).toHaveBeenCalledWith(peer.toString())
    // Nothing consumed the bytes or listened for them; the refusal was counted first.
    expect(atAbort).toEqual({ buffered: hello.byteLength, readers: 0, counted: 1 })
    expect(refused.mock.calls).toEqual([['unverified', SERVICE]])
    expect(abort.mock.calls[0]![0]).toMatchObject({ name: 'StreamRefusedError', reason: 'unverified' })
    expect(local.status).toBe('aborted')
    await expect.poll(() => remote.status, { timeout: 10_000 }).toBe('reset')
    expect(door.peersInFlight).toBe(0)
  })

  it('caps the streams one peer has open; a released stream frees its slot', async () => {
    const { admission: door, refused } = admission({ maxStreamsPerPeer: 2 })
    const [peer, other] = [await newPeer(), await newPeer()]
    const admitted: Array<AdmittedStream | undefined> = []
    for (let i = 0; i < 2; i++) admitted.push(door.admit((await pair()).local, connectionOf(peer), SERVICE))
    expect(admitted.every(a => a?.peer === peer.toString())).toBe(true)

    const third = await pair()
    expect(door.admit(third.local, connectionOf(peer), SERVICE)).toBeUndefined()
    expect(refused.mock.calls).toEqual([['peer-streams', SERVICE]])
    expect(third.local.status).toBe('aborted')
    // The cap is per peer: another peer is unaffected.
    expect(door.admit((await pair()).local, connectionOf(other), SERVICE)).toBeDefined()
    expect(door.peersInFlight).toBe(2)

    admitted[0]!.release()
    admitted[0]!.release() // twice is harmless: it must not free a second slot
    expect(door.admit((await pair()).local, connectionOf(peer), SERVICE)).toBeDefined()
    expect(door.admit((await pair()).local, connectionOf(peer), SERVICE)).toBeUndefined()
    expect(refused).toHaveBeenCalledTimes(2)
  })

  it('reserves a frame\'s declared length: a second frame over the budget is refused before its body arrives', async () => {
    const { admission: door, refused } = admission({ maxBytesPerPeer: 100 })
    const peer = await newPeer()
    // An idle stream keeps the peer's budget entry alive across the releases below.
    const idle = door.admit((await pair()).local, connectionOf(peer), SERVICE)!
    const a = await pair()
    const b = await pair()
    const first = door.admit(a.local, connectionOf(peer), SERVICE)!
    const second = door.admit(b.local, connectionOf(peer), SERVICE)!

    a.remote.send(frame(body(60, 1)))
    expect(await first.readFrame(1000, signal())).toEqual(body(60, 1))
    // Only the length prefix of the second frame: refusing it must not wait for its body.
    b.remote.send(encodeLength(60))
    expect(await refusal(second.readFrame(1000, AbortSignal.timeout(5_000)))).toBe('peer-bytes')
    expect(refused.mock.calls).toEqual([['peer-bytes', SERVICE]])

    // Release returns the budget: the next 60-byte frame from the peer is read.
    first.release()
    second.release()
    const c = await pair()
    const third = door.admit(c.local, connectionOf(peer), SERVICE)!
    c.remote.send(frame(body(60, 3)))
    expect(await third.readFrame(1000, signal())).toEqual(body(60, 3))
    // A frame that fits beside one in flight is fine: 60 + 40 = 100.
    const d = await pair()
    const fourth = door.admit(d.local, connectionOf(peer), SERVICE)!
    d.remote.send(frame(body(40, 4)))
    expect(await fourth.readFrame(1000, signal())).toEqual(body(40, 4))
    expect(refused).toHaveBeenCalledTimes(1)
    for (const s of [idle, third, fourth]) s.release()
    expect(door.peersInFlight).toBe(0)
  })

  it('refuses a frame declaring more than maxBytes, from its length prefix alone', async () => {
    const { admission: door, refused } = admission()
    const { remote, local } = await pair()
    const admitted = door.admit(local, connectionOf(await newPeer()), SERVICE)!
    remote.send(encodeLength(11))
    expect(await refusal(admitted.readFrame(10, AbortSignal.timeout(5_000)))).toBe('too-large')
    expect(refused.mock.calls).toEqual([['too-large', SERVICE]])
  })

  it('reads a frame split across many writes, and writes a length-prefixed reply', async () => {
    const { admission: door } = admission()
    const { remote, local } = await pair()
    const admitted = door.admit(local, connectionOf(await newPeer()), SERVICE)!
    const payload = Uint8Array.from({ length: 300 }, (_, i) => i % 251)
    const bytes = frame(payload)
    for (let at = 0; at < bytes.byteLength; at += 7) remote.send(bytes.subarray(at, at + 7))
    expect(await admitted.readFrame(300, signal())).toEqual(payload)

    const replies: Uint8Array[] = []
    remote.addEventListener('message', evt => { replies.push(evt.data.subarray()) })
    await admitted.write(new Uint8Array([9, 8, 7]), signal())
    await expect.poll(() => Buffer.concat(replies), { timeout: 10_000 }).toEqual(Buffer.from([3, 9, 8, 7]))
  })
})
