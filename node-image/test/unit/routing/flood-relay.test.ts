import { afterEach, describe, expect, it, vi } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { request } from '../../../src/p2p/lp-rpc.ts'
import { OutcomeUnknownError } from '../../../src/routing/errors.ts'
import { encodeFloodBody, encodeFound, encodeRequestFrame, parseReply, type FloodReply } from '../../../src/routing/flood-wire.ts'
import { connect, metricValue, protocols, startGuard, startMember, stopMembers, type Member } from '../p2p/members.ts'
import { ca, echo, echoReply, link, MAX_FRAME_BYTES, startChain, startFloodNode, type FloodNode } from './flood-chain.ts'

// What a relay does with frames an honest origin would never send, with
// copies of one flood, and with more floods than it takes at once.

afterEach(async () => {
  vi.restoreAllMocks()
  await stopMembers()
})

const target = (d: FloodNode): { nodeId: string, agentId: string } => ({ nodeId: d.member.peerId, agentId: 'echo' })
const deadline = (): number => Date.now() + 10_000

/** One raw flood frame from `from` to `to`; the parsed reply. */
async function send (from: Member, to: FloodNode, frame: Uint8Array): Promise<FloodReply> {
  const reply = await request(from.host, peerIdFromString(to.member.peerId), protocols.flood, frame, { maxBytes: MAX_FRAME_BYTES, signal: AbortSignal.timeout(10_000) })
  return parseReply(reply)
}

/** A flood envelope the origin really signed, for a call to `d`, with `hops` in front. */
function sealedBy (origin: FloodNode, d: FloodNode, hops: number, maxHops = 4): Uint8Array {
  const body = encodeFloodBody({ kind: 'call', maxHops, deadline: deadline(), target: d.member.peerId, payload: new Uint8Array([1, 2, 3]) })
  return encodeRequestFrame(hops, origin.member.messenger.seal('flood.request', body))
}

const dropped = async (n: FloodNode, reason: string): Promise<number> => await metricValue(n.member.metrics.floodDropped, { reason })

describe('a flood relay', () => {
  it('delivers one flood once when copies arrive on two paths, and answers the copy as a duplicate', async () => {
    const [a, m1, m2, d] = await Promise.all([startFloodNode(), startFloodNode(), startFloodNode(), startFloodNode()])
    for (const [x, y] of [[a, m1], [a, m2], [m1, d], [m2, d]] as const) await link(x, y)
    const out = await a.router.call(target(d), 'tools/call', echo('twice?'), { deadline: deadline() })
    expect(out).toMatchObject({ route: 'flood', hops: 2 })
    await vi.waitFor(async () => { expect(await dropped(d, 'duplicate')).toBe(1) }, { timeout: 10_000 })
    expect(d.local).toHaveBeenCalledTimes(1)
  })

  it('ends a flood that has nowhere left to go in a ring, with each copy answered once', async () => {
    // A - M1 - M2 - A, and the target is nowhere: each member hears the flood from A and from the other.
    const [a, m1, m2] = await Promise.all([startFloodNode(), startFloodNode(), startFloodNode()])
    const d = await startFloodNode()
    for (const [x, y] of [[a, m1], [m1, m2], [m2, a]] as const) await link(x, y)
    // Copies went out, and a member's miss cannot prove the target never got one: outcome-unknown.
    await expect(a.router.call(target(d), 'tools/call', echo('lost'), { deadline: deadline() })).rejects.toBeInstanceOf(OutcomeUnknownError)
    for (const m of [m1, m2]) {
      await vi.waitFor(async () => { expect(await dropped(m, 'duplicate')).toBe(1) }, { timeout: 10_000 })
      expect(await metricValue(m.member.metrics.floodRelayed, { result: 'no-route' })).toBe(1)
    }
  })

  it('refuses frames a member altered, replayed, pushed past the signed hop limit, or made up, and still relays after', async () => {
    const [a, m1, d] = await startChain([{}, {}, {}])
    const evil = await startFloodNode()
    await link(evil, m1!)

    const altered = sealedBy(a!, d!, 1)
    // One base64url character of the signed body, swapped for another valid one.
    const at = Buffer.from(altered).indexOf('"body":"') + 10
    altered[at] = altered[at] === 0x41 ? 0x42 : 0x41
    expect(await send(evil.member, m1!, altered)).toEqual({ found: false, reason: 'rejected' })
    expect(await metricValue(m1!.member.metrics.messagesRejected, { reason: 'bad-signature' })).toBe(1)

    expect(await send(evil.member, m1!, sealedBy(a!, d!, 3, 2))).toEqual({ found: false, reason: 'hop-limit' })
    const once = sealedBy(a!, d!, 1)
    await send(evil.member, m1!, once)
    expect(await send(evil.member, m1!, once)).toEqual({ found: false, reason: 'duplicate' })
    expect(await send(evil.member, m1!, new Uint8Array([1, ...Buffer.from('not an envelope')]))).toEqual({ found: false, reason: 'rejected' })
    expect(await send(evil.member, m1!, new Uint8Array([1]))).toEqual({ found: false, reason: 'rejected' })
    expect({ hopLimit: await dropped(m1!, 'hop-limit'), duplicate: await dropped(m1!, 'duplicate'), rejected: await dropped(m1!, 'rejected'), malformed: await dropped(m1!, 'malformed') })
      .toEqual({ hopLimit: 1, duplicate: 1, rejected: 2, malformed: 1 })

    await expect(send(evil.member, m1!, new Uint8Array(MAX_FRAME_BYTES + 1))).rejects.toThrow()
    await vi.waitFor(async () => { expect(await dropped(m1!, 'oversized')).toBe(1) }, { timeout: 10_000 })

    expect(await a!.router.call(target(d!), 'tools/call', echo('still here'), { deadline: deadline() })).toMatchObject({ route: 'flood', hops: 2 })
  })

  it('resets a flood stream from a peer that has not proved membership, unread', async () => {
    const [a, m1, d] = await startChain([{}, {}, {}])
    const stranger = await startMember({ issuer: ca })
    await connect(stranger, m1!.member)
    await expect(send(stranger, m1!, sealedBy(a!, d!, 1))).rejects.toThrow()
    await vi.waitFor(async () => { expect(await metricValue(m1!.member.metrics.streamsRefused, { reason: 'unverified', service: 'flood' })).toBe(1) }, { timeout: 10_000 })
    expect(await metricValue(m1!.member.metrics.messagesIn, { type: 'flood.request' })).toBe(0)
  })

  it('ignores a forged "found" from a member on one path and takes the target\'s reply from the other', async () => {
    const [a, m1, d] = await Promise.all([startFloodNode(), startFloodNode(), startFloodNode()])
    const forger = await startMember({ issuer: ca })
    const forgerGuard = await startGuard(forger)
    // It answers every flood at once, with an envelope it signed itself.
    await forger.host.handle(protocols.flood, async stream => {
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(encodeFound(1, forger.messenger.seal('toolcall.response', new Uint8Array([0, 1, 2]))))
      await stream.close()
    })
    for (const [x, y] of [[a, m1], [m1, d]] as const) await link(x, y)
    await connect(a.member, forger)
    await vi.waitFor(() => { expect(forgerGuard.verifiedPeers()).toContain(a.member.peerId); expect(a.guard.verifiedPeers()).toContain(forger.peerId) }, { timeout: 15_000 })

    const out = await a.router.call(target(d), 'tools/call', echo('the real one'), { deadline: deadline() })
    expect(out).toEqual({ route: 'flood', hops: 2, result: { content: [{ type: 'text', text: 'reply to the real one' }] } })
    expect(await metricValue(a.member.metrics.messagesRejected, { reason: 'not-a-member' })).toBe(1)
  })

  it('answers busy past its in-flight cap per neighbour, unread, and takes floods again once they end', async () => {
    const [a, m1, d] = await startChain([{}, { relay: { maxInFlightPerPeer: 1 } }, {}])
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    d!.local.mockImplementationOnce(async (...args) => { await gate; return await echoReply(...args) })
    const first = a!.router.call(target(d!), 'tools/call', echo('first'), { deadline: deadline() })
    await vi.waitFor(() => { expect(d!.local).toHaveBeenCalledTimes(1) }, { timeout: 10_000 })

    await expect(a!.router.call(target(d!), 'tools/call', echo('second'), { deadline: deadline() })).rejects.toThrow(/\(1 busy\)/)
    expect(await dropped(m1!, 'busy')).toBe(1)
    release()
    expect(await first).toMatchObject({ route: 'flood' })
    expect(await metricValue(m1!.member.metrics.floodInFlight)).toBe(0)
    expect(await a!.router.call(target(d!), 'tools/call', echo('third'), { deadline: deadline() })).toMatchObject({ route: 'flood' })
  })
})
