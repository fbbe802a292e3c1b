import { describe, expect, it } from 'vitest'
import { createCa } from '../../../src/identity/membership.ts'
import { dmRoom, messageId, orderKey, ROOM_REJECT_REASONS, RoomMessageRejectedError, RoomMessageVerifier, signRoomMessage, type RoomRejectReason } from '../../../src/rooms/room-message.ts'
import { ca, caPublicKey, makeNode, message, NETWORK, NOW, unsigned } from './fixtures.ts'

const verifier = (now = NOW): RoomMessageVerifier => new RoomMessageVerifier({ network: NETWORK, caPublicKey, now: () => now })
const CID = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

function reason (value: unknown, v = verifier()): RoomRejectReason | 'accepted' {
  try {
    v.verify(value)
    return 'accepted'
  } catch (err) {
    expect(err).toBeInstanceOf(RoomMessageRejectedError)
    return (err as RoomMessageRejectedError).reason
  }
}

describe('room messages', () => {
  const ann = makeNode()

  it('verifies what the author signed, and computes the id and order key from it', () => {
    const m = message(ann, { seq: 7, hlc: { ms: NOW, c: 3 } })
    expect(verifier().verify(JSON.parse(JSON.stringify(m)))).toEqual(m)
    expect(messageId(m)).toBe(`${ann.peerId}.a1b2c3d4@7`)
    expect(orderKey(m)).toBe(`${String(NOW).padStart(13, '0')}.00003.${ann.peerId}.a1b2c3d4.0000000007`)
  })

  it('accepts file messages with parseable CIDs and refuses a kind that does not match its files', () => {
    const files = [{ cid: CID, name: 'a b.png', size: 3, type: 'image/png' }]
    expect(reason(message(ann, { seq: 1, kind: 'file', text: '', files }))).toBe('accepted')
    expect(reason(message(ann, { seq: 1, kind: 'text', files }))).toBe('malformed')
    expect(reason(message(ann, { seq: 1, kind: 'file', text: '', files: [{ ...files[0]!, cid: 'not-a-cid' }] }))).toBe('malformed')
    expect(reason(message(ann, { seq: 1, kind: 'file', text: '', files: [{ ...files[0]!, name: '../etc/passwd' }] }))).toBe('malformed')
  })

  it('refuses each kind of bad record with its reason', () => {
    const good = message(ann, { seq: 1 })
    expect(reason({ ...good, text: 'x'.repeat(30 * 1024) })).toBe('oversized')
    expect(reason({ ...good, extra: 1 })).toBe('malformed')
    expect(reason('{"v":1}')).toBe('malformed')
    expect(reason(null)).toBe('malformed')
    expect(reason(message(ann, { seq: 1, text: 'é'.repeat(9000) }))).toBe('malformed')
    const other = makeNode({ network: 'other' })
    expect(reason(message(other, { seq: 1, network: 'other', room: 'room:other' }))).toBe('wrong-network')
    expect(reason(message(ann, { seq: 1, room: 'room:other' }))).toBe('unknown-room')
    const stranger = makeNode({ caPem: createCa().privateKeyPem })
    expect(reason(message(stranger, { seq: 1 }))).toBe('not-a-member')
    expect(reason({ ...good, text: 'altered' })).toBe('bad-signature')
    expect(reason({ ...good, author: makeNode().peerId })).toBe('not-a-member')
    expect(reason(message(ann, { seq: 1, hlc: { ms: NOW + 61_000, c: 0 } }))).toBe('future')
    expect(reason(message(ann, { seq: 1, hlc: { ms: NOW + 59_000, c: 0 } }))).toBe('accepted')
  })

  it('checks in the documented order: the earliest failing check names the reason', () => {
    expect(ROOM_REJECT_REASONS).toEqual(['oversized', 'malformed', 'wrong-network', 'unknown-room', 'not-a-member', 'bad-signature', 'future', 'equivocation'])
    const good = message(ann, { seq: 1, hlc: { ms: NOW + 120_000, c: 0 } })
    // future and bad signature: the signature is checked first
    expect(reason({ ...good, text: 'altered' })).toBe('bad-signature')
    // wrong network and malformed: malformed first
    expect(reason({ ...good, network: 'other', seq: 0 })).toBe('malformed')
    // unknown room and a stranger's certificate: the room first
    const stranger = makeNode({ caPem: createCa().privateKeyPem })
    expect(reason(message(stranger, { seq: 1, room: 'room:elsewhere' }))).toBe('unknown-room')
  })

  it('judges the certificate at the message\'s time, so history outlives an expired certificate', () => {
    const old = makeNode({ issuedAt: NOW - 10 * 86_400_000, validForSeconds: 86_400 })
    const written = message(old, { seq: 1, hlc: { ms: NOW - 10 * 86_400_000 + 3_600_000, c: 0 } })
    expect(reason(written)).toBe('accepted')
    const after = message(old, { seq: 2, hlc: { ms: NOW, c: 0 } })
    expect(reason(after)).toBe('not-a-member')
    // the cache of verified certificates must not let the time check slip
    const v = verifier()
    expect(reason(written, v)).toBe('accepted')
    expect(reason(after, v)).toBe('not-a-member')
  })

  it('lets only the two ends write in a DM room, always sealed', () => {
    const bob = makeNode()
    const room = dmRoom(ann.peerId, bob.peerId)
    const sealed = { room, text: '', sealed: 'c2VhbGVk' }
    expect(reason(message(ann, { seq: 1, ...sealed }))).toBe('accepted')
    expect(reason(message(bob, { seq: 1, ...sealed }))).toBe('accepted')
    expect(reason(message(makeNode(), { seq: 1, ...sealed }))).toBe('not-a-member')
    expect(reason(message(ann, { seq: 1, room, text: 'plain' }))).toBe('malformed')
    expect(reason(message(ann, { seq: 1, sealed: 'c2VhbGVk', text: '' }))).toBe('malformed')
    const [lo, hi] = [ann.peerId, bob.peerId].sort()
    expect(reason(message(ann, { seq: 1, ...sealed, room: `dm:${hi}:${lo}` }))).toBe('unknown-room')
  })

  it('signs only as its own node', () => {
    const bob = makeNode()
    expect(() => signRoomMessage(unsigned(bob, { seq: 1 }), ann.signer)).toThrow(/cannot sign/)
    expect(ca.publicKeyPem).toContain('PUBLIC KEY')
  })
})
