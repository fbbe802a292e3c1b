import { afterEach, describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { admissionFor, connect, metricValue, newCa, protocols, startGuard, startMember, stopMembers, type Ca, type Member } from './members.ts'
import type { MembershipGuard } from '../../../src/p2p/membership-guard.ts'
import { GossipChannel } from '../../../src/p2p/gossip-channel.ts'
import type { OpenedEnvelope } from '../../../src/p2p/envelope.ts'
import { request } from '../../../src/p2p/lp-rpc.ts'

// Real libp2p hosts with gossipsub and Dawn membership; the direct path of a channel
// (what a newcomer learns from each member alone, e.g. content manifests).

const PROTOCOL = protocols.contentManifest
const poll = { timeout: 15_000 }
afterEach(async () => { await stopMembers() })

interface Node { member: Member, guard: MembershipGuard, channel: GossipChannel, received: OpenedEnvelope[] }

async function node (ca: Ca, onMessage?: (env: OpenedEnvelope) => void): Promise<Node> {
  const member = await startMember({ issuer: ca, pubsub: true })
  const guard = await startGuard(member)
  const received: OpenedEnvelope[] = []
  const pubsub = member.pubsub
  if (pubsub === undefined) throw new Error('no gossipsub')
  const channel = new GossipChannel({ ...member, pubsub, selfId: member.peerId, libp2p: member.host, admission: admissionFor(member, guard) }, {
    topic: protocols.contentTopic,
    type: 'content.manifest',
    onMessage: onMessage ?? (env => { received.push(env) }),
    direct: { protocol: PROTOCOL, service: 'content-manifest' }
  })
  await channel.start()
  return { member, guard, channel, received }
}

async function link (a: Node, b: Node): Promise<void> {
  await connect(a.member, b.member)
  await expect.poll(() => a.guard.isVerifiedBothWays(b.member.peerId) && b.guard.isVerifiedBothWays(a.member.peerId), poll).toBe(true)
}

const rejected = async (n: Node, reason: string): Promise<number> => await metricValue(n.member.metrics.messagesRejected, { reason })

describe('GossipChannel direct path', () => {
  it('hands one member an envelope it opens as its sender\'s', async () => {
    const ca = newCa()
    const [a, b] = [await node(ca), await node(ca)]
    await link(a, b)
    await a.channel.sendTo(b.member.peerId, new TextEncoder().encode('{"v":1}'))
    expect(b.received.map(e => [e.from, new TextDecoder().decode(e.body)])).toEqual([[a.member.peerId, '{"v":1}']])
    expect(a.received).toEqual([])
  })

  it('refuses an envelope signed by another member than the one that sent it', async () => {
    const ca = newCa()
    const [a, b, c] = [await node(ca), await node(ca), await node(ca)]
    await link(a, b)
    // A relays an envelope that C signed: a member pushes only what it signed itself.
    const forwarded = c.member.messenger.seal('content.manifest', new TextEncoder().encode('{"v":1}'))
    await expect(request(a.member.host, peerIdFromString(b.member.peerId), PROTOCOL, forwarded, { maxBytes: 1024, signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(await rejected(b, 'not-a-member')).toBe(1)
    expect(b.received).toEqual([])
    // The same path carries A's own envelope.
    await a.channel.sendTo(b.member.peerId, new TextEncoder().encode('{"v":2}'))
    expect(b.received.map(e => e.from)).toEqual([a.member.peerId])
  })

  it('counts a body its handler refuses, and resets a peer that has not proved membership before reading', async () => {
    const ca = newCa()
    const b = await node(ca, () => { throw new Error('not a manifest') })
    const a = await node(ca)
    await link(a, b)
    await a.channel.sendTo(b.member.peerId, new TextEncoder().encode('nonsense'))
    expect(await rejected(b, 'invalid-body')).toBe(1)

    const outsider = await startMember({ issuer: newCa() })
    await connect(outsider, b.member)
    const sealed = outsider.messenger.seal('content.manifest', new TextEncoder().encode('{"v":1}'))
    await expect(request(outsider.host, peerIdFromString(b.member.peerId), PROTOCOL, sealed, { maxBytes: 1024, signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(await metricValue(b.member.metrics.streamsRefused, { reason: 'unverified', service: 'content-manifest' })).toBe(1)
  })
})
