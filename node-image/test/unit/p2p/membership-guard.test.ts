import { afterEach, describe, expect, it, vi } from 'vitest'
import { connect, connectionsBetween, metricValue, newCa, startGuard, startMember, stopMembers } from './members.ts'

// Two (or three) real libp2p hosts on loopback, each with its own guard, messenger and deny list.

const ca = newCa()
afterEach(async () => { await stopMembers() })

const poll = { timeout: 15_000 }

describe('MembershipGuard', () => {
  it('two members with certificates from the network CA verify each other', async () => {
    const [a, b] = [await startMember({ issuer: ca }), await startMember({ issuer: ca })]
    const [guardA, guardB] = [await startGuard(a), await startGuard(b)]
    const verifiedAtA: string[] = []
    guardA.addEventListener('peer:verified', evt => { verifiedAtA.push(evt.detail) })

    await connect(b, a)
    // Accepted (their proof read) comes before verified both ways (ours accepted too): wait for the latter.
    await expect.poll(() => guardA.isVerifiedBothWays(b.peerId) && guardB.isVerifiedBothWays(a.peerId), poll).toBe(true)
    expect(guardA.isVerified(b.peerId) && guardB.isVerified(a.peerId)).toBe(true)
    expect(guardA.verifiedPeers()).toEqual([b.peerId])
    expect(guardB.verifiedPeers()).toEqual([a.peerId])
    expect(verifiedAtA).toEqual([b.peerId])
    expect(await metricValue(a.metrics.peers)).toBe(1)
    expect(await metricValue(a.metrics.membershipRejected)).toBe(0)
    expect(a.denyList.size).toBe(0)

    // Leaving is noticed: the peer is no longer verified.
    const left: string[] = []
    guardA.addEventListener('peer:left', evt => { left.push(evt.detail) })
    await b.host.hangUp(a.host.peerId)
    await expect.poll(() => left, poll).toEqual([b.peerId])
    expect(guardA.isVerified(b.peerId)).toBe(false)
    expect(await metricValue(a.metrics.peers)).toBe(0)
  })

  it('a peer whose certificate comes from another CA is refused, denied and disconnected', async () => {
    const a = await startMember({ issuer: ca, gated: true })
    // The rogue trusts its own CA, so it sends its certificate in good faith.
    const rogue = await startMember({ issuer: newCa() })
    const guardA = await startGuard(a)
    await startGuard(rogue)
    const deny = vi.spyOn(a.denyList, 'deny')

    await connect(rogue, a)
    await expect.poll(async () => await metricValue(a.metrics.membershipRejected, { reason: 'invalid-certificate' }), poll).toBe(1)
    expect(deny).toHaveBeenCalledWith(rogue.peerId)
    expect(a.denyList.isDenied(rogue.peerId)).toBe(true)
    await expect.poll(() => connectionsBetween(a, rogue), poll).toBe(0)
    expect(guardA.isVerified(rogue.peerId)).toBe(false)
    expect(await metricValue(a.metrics.membershipRejected, { reason: 'handshake-timeout' })).toBe(0)
    // The rogue's envelope was refused as not a member, never opened as one.
    expect(await metricValue(a.metrics.messagesRejected, { reason: 'not-a-member' })).toBe(1)
    expect(await metricValue(a.metrics.messagesIn, { type: 'membership.hello' })).toBe(0)

    // While denied, the gater refuses it in both directions, before any stream.
    await expect(connect(a, rogue)).rejects.toThrow()
    await connect(rogue, a).catch(() => {})
    await expect.poll(() => connectionsBetween(rogue, a) + connectionsBetween(a, rogue), poll).toBe(0)
    expect(await metricValue(a.metrics.membershipRejected)).toBe(1)
  })

  it('a peer that never greets is refused after the handshake timeout and denied for timeoutDenyMs', async () => {
    const a = await startMember({ issuer: ca })
    // A certified peer without a guard: it holds a valid certificate but never proves it.
    const silent = await startMember({ issuer: ca })
    const guardA = await startGuard(a, { handshakeTimeoutMs: 500, timeoutDenyMs: 15_000 })
    const deny = vi.spyOn(a.denyList, 'deny')
    const connected: string[] = []
    a.host.addEventListener('peer:connect', evt => { connected.push(evt.detail.toString()) })

    await connect(silent, a)
    await expect.poll(() => connected, poll).toEqual([silent.peerId])
    // Prove the rejection happened before looking at what it left behind.
    await expect.poll(async () => await metricValue(a.metrics.membershipRejected, { reason: 'handshake-timeout' }), poll).toBe(1)
    expect(deny).toHaveBeenCalledWith(silent.peerId, 15_000)
    expect(a.denyList.isDenied(silent.peerId)).toBe(true)
    await expect.poll(() => connectionsBetween(a, silent), poll).toBe(0)
    expect(guardA.isVerified(silent.peerId)).toBe(false)
    expect(await metricValue(a.metrics.membershipRejected, { reason: 'invalid-certificate' })).toBe(0)
  })

  it('a verified peer is not timed out later, and stop() unregisters the handshake protocol', async () => {
    const [a, b] = [await startMember({ issuer: ca }), await startMember({ issuer: ca })]
    const guardA = await startGuard(a, { handshakeTimeoutMs: 2_000 })
    await startGuard(b, { handshakeTimeoutMs: 2_000 })
    await connect(b, a)
    await expect.poll(() => guardA.isVerified(b.peerId), poll).toBe(true)
    // A silent peer connected at the same time proves the timers fire in this window.
    const silent = await startMember({ issuer: ca })
    await connect(silent, a)
    await expect.poll(async () => await metricValue(a.metrics.membershipRejected, { reason: 'handshake-timeout' }), poll).toBe(1)
    expect(guardA.isVerified(b.peerId)).toBe(true)
    expect(connectionsBetween(a, b)).toBeGreaterThan(0)
    // The only refusal is the silent peer's.
    expect(a.denyList.isDenied(silent.peerId)).toBe(true)
    expect(a.denyList.isDenied(b.peerId)).toBe(false)

    await guardA.stop()
    expect(a.host.getProtocols()).not.toContain('/dawn/unit/membership/1.0.0')
  })
})
