import { inspect } from 'node:util'
import { beforeEach, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { generateSeed } from '../../../src/identity/key-file.ts'
import { peerIdFromSeed } from '../../../src/identity/peer-id.ts'
import {
  E2E_REJECT_REASONS,
  E2ECipher,
  E2EError,
  gcmOpen,
  gcmSeal,
  hkdf,
  x25519PublicFromPrivate,
  x25519SharedSecret,
  type E2ECipherInit
} from '../../../src/routing/e2e-cipher.ts'

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const dec = (b: Uint8Array): string => new TextDecoder().decode(b)
const cat = (...parts: Uint8Array[]): Uint8Array => new Uint8Array(Buffer.concat(parts))

// The documented wire layout, spelled out here independently of the module.
const REQ = { ts: 1, eph: 9, nonce: 41, body: 53 }
const RESP = { eph: 1, nonce: 33, body: 45 }

const T0 = 1_750_000_000_000
let t = T0
const now = (): number => t
beforeEach(() => { t = T0 })

interface Node { seed: Uint8Array, peerId: string, cipher: E2ECipher }

function makeNode (opts: Partial<E2ECipherInit> = {}): Node {
  const seed = generateSeed()
  const peerId = peerIdFromSeed(seed)
  return { seed, peerId, cipher: new E2ECipher({ peerId, seed, now, ...opts }) }
}

/** The reason of the E2EError `fn` throws; fails the test on success or any other error. */
function reason (fn: () => unknown): string {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(E2EError)
    return (err as E2EError).reason
  }
  throw new Error('expected an E2EError, got success')
}

const AAD = enc('dawn-test\ntools/call')

describe('primitives (known-answer tests through the same code paths)', () => {
  it('HKDF-SHA256 matches RFC 5869 test cases 1 and 3', () => {
    const ikm = new Uint8Array(22).fill(0x0b)
    expect(toHex(hkdf(ikm, hex('000102030405060708090a0b0c'), hex('f0f1f2f3f4f5f6f7f8f9'), 42))).toBe(
      '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865')
    expect(toHex(hkdf(ikm, new Uint8Array(0), new Uint8Array(0), 42))).toBe(
      '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8')
  })

  it('AES-256-GCM matches the GCM spec test cases 14 and 16', () => {
    // Test case 14: all-zero key, IV and one block of plaintext, no AAD.
    const sealed14 = gcmSeal(new Uint8Array(32), new Uint8Array(12), new Uint8Array(0), new Uint8Array(16))
    expect(toHex(sealed14)).toBe('cea7403d4d606b6e074ec5d3baf39d18' + 'd0d1c8a799996bf0265b98b5d48ab919')

    // Test case 16: 60-byte plaintext, 20-byte AAD.
    const key = hex('feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308')
    const iv = hex('cafebabefacedbaddecaf888')
    const plain = hex(`d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72
      1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39`)
    const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2')
    const expected = `522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa
      8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662
      76fc6ece0f4e1768cddf8853bb2d551b`.replace(/\s+/g, '')
    const sealed16 = gcmSeal(key, iv, aad, plain)
    expect(toHex(sealed16)).toBe(expected)
    expect(toHex(gcmOpen(key, iv, aad, sealed16))).toBe(toHex(plain))

    const badTag = sealed16.slice()
    badTag[badTag.length - 1] = (badTag[badTag.length - 1] as number) ^ 1
    expect(reason(() => gcmOpen(key, iv, aad, badTag))).toBe('decrypt')
    expect(reason(() => gcmOpen(key, iv, aad.subarray(1), sealed16))).toBe('decrypt')
  })

  it('X25519 via node:crypto matches RFC 7748 section 6.1', () => {
    const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')
    const alicePub = hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a')
    const bobPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')
    const bobPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f')
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742'
    expect(toHex(x25519PublicFromPrivate(alicePriv))).toBe(toHex(alicePub))
    expect(toHex(x25519PublicFromPrivate(bobPriv))).toBe(toHex(bobPub))
    expect(toHex(x25519SharedSecret(alicePriv, bobPub))).toBe(shared)
    expect(toHex(x25519SharedSecret(bobPriv, alicePub))).toBe(shared)
  })

  it('refuses a small-order X25519 public key instead of returning an all-zero secret', () => {
    expect(() => x25519SharedSecret(new Uint8Array(32).fill(9), new Uint8Array(32))).toThrow()
  })

  it("a node's static X25519 key is the Montgomery form of its Ed25519 key", () => {
    const seed = generateSeed()
    const secret = ed25519.utils.toMontgomerySecret(seed)
    expect(toHex(x25519PublicFromPrivate(secret))).toBe(toHex(ed25519.utils.toMontgomery(ed25519.getPublicKey(seed))))
  })
})

describe('key schedule', () => {
  it('a request frame follows the documented layout and can be opened from the spec alone', () => {
    const a = makeNode()
    const b = makeNode()
    const { frame } = a.cipher.sealRequest(b.peerId, enc('spec check'), AAD)
    expect(frame[0]).toBe(1)
    expect(Buffer.from(frame.subarray(REQ.ts, REQ.eph)).readBigUInt64BE()).toBe(BigInt(T0))
    expect(frame.length).toBe(REQ.body + 'spec check'.length + 16)

    // B's side with noble (independent of the node:crypto path under test).
    const sB = ed25519.utils.toMontgomerySecret(b.seed)
    const pubA = ed25519.utils.toMontgomery(ed25519.getPublicKey(a.seed))
    const pubB = ed25519.utils.toMontgomery(ed25519.getPublicKey(b.seed))
    const eA = frame.subarray(REQ.eph, REQ.nonce)
    const kReq = hkdf(
      cat(x25519.getSharedSecret(sB, eA), x25519.getSharedSecret(sB, pubA)),
      cat(eA, pubB),
      `dawn/e2e/v1/request\n${a.peerId}\n${b.peerId}`,
      32)
    const plain = gcmOpen(kReq, frame.subarray(REQ.nonce, REQ.body), cat(frame.subarray(0, REQ.body), AAD), frame.subarray(REQ.body))
    expect(dec(plain)).toBe('spec check')
  })

  it('prints no key material: the seed, static X25519 secret, static DH and session keys are in no printable form of a cipher', () => {
    const a = makeNode()
    const b = makeNode()
    // A full exchange, so both sides hold peer keys and sessions.
    const sealed = a.cipher.sealRequest(b.peerId, enc('inspect me'), AAD)
    const opened = b.cipher.openRequest(a.peerId, sealed.frame, AAD)
    expect(dec(sealed.openResponse(opened.sealResponse(enc('ok'))))).toBe('ok')

    const sA = ed25519.utils.toMontgomerySecret(a.seed)
    const sB = ed25519.utils.toMontgomerySecret(b.seed)
    const pubA = ed25519.utils.toMontgomery(ed25519.getPublicKey(a.seed))
    const pubB = ed25519.utils.toMontgomery(ed25519.getPublicKey(b.seed))
    const eA = sealed.frame.subarray(REQ.eph, REQ.nonce)
    const kReq = hkdf(cat(x25519.getSharedSecret(sB, eA), x25519.getSharedSecret(sB, pubA)), cat(eA, pubB), `dawn/e2e/v1/request\n${a.peerId}\n${b.peerId}`, 32)
    const secrets = { 'seed A': a.seed, 'seed B': b.seed, 'X25519 secret A': sA, 'X25519 secret B': sB, 'static DH': x25519.getSharedSecret(sA, pubB), kReq }

    for (const [side, c] of [['A', a.cipher], ['B', b.cipher]] as const) {
      // Whitespace out: inspect pads and wraps the elements of a long array.
      const printed = [inspect(c, { showHidden: true, depth: Infinity, maxArrayLength: Infinity }), JSON.stringify(c)].join('\n').replace(/\s+/g, '')
      for (const [what, key] of Object.entries(secrets)) {
        for (const form of printableForms(key)) expect(printed.includes(form), `${what} in cipher ${side} as ${form.slice(0, 20)}…`).toBe(false)
      }
    }
  })
})

/** How bytes show up, whitespace removed, where an object holding them is printed: hex (a Buffer), base64, and the element lists of inspect and JSON. */
function printableForms (key: Uint8Array): string[] {
  const head = [...key.subarray(0, 12)]
  return [
    toHex(key.subarray(0, 16)),
    Buffer.from(key).toString('base64').slice(0, 24),
    Buffer.from(key).toString('base64url').slice(0, 24),
    head.join(','),
    head.map((b, i) => `"${i}":${b}`).join(',')
  ]
}

describe('round trips', () => {
  it('carries a request to B and the response back to A', () => {
    const a = makeNode()
    const b = makeNode()
    const sealed = a.cipher.sealRequest(b.peerId, enc('{"tool":"echo"}'), AAD)
    expect(Buffer.from(sealed.frame).includes(Buffer.from('echo'))).toBe(false)
    const opened = b.cipher.openRequest(a.peerId, sealed.frame, AAD)
    expect(dec(opened.plaintext)).toBe('{"tool":"echo"}')
    const response = opened.sealResponse(enc('{"result":42}'))
    expect(response[0]).toBe(1)
    expect(response.length).toBe(RESP.body + '{"result":42}'.length + 16)
    expect(dec(sealed.openResponse(response))).toBe('{"result":42}')
  })

  it('round-trips a 1 MiB payload both ways', () => {
    const a = makeNode()
    const b = makeNode()
    const big = new Uint8Array(1024 * 1024)
    for (let i = 0; i < big.length; i += 65_536) crypto.getRandomValues(big.subarray(i, i + 65_536))
    const sealed = a.cipher.sealRequest(b.peerId, big, AAD)
    const opened = b.cipher.openRequest(a.peerId, sealed.frame, AAD)
    expect(Buffer.from(opened.plaintext).equals(Buffer.from(big))).toBe(true)
    const back = sealed.openResponse(opened.sealResponse(big))
    expect(Buffer.from(back).equals(Buffer.from(big))).toBe(true)
  })

  it('round-trips empty payloads and empty aad', () => {
    const a = makeNode()
    const b = makeNode()
    const empty = new Uint8Array(0)
    const sealed = a.cipher.sealRequest(b.peerId, empty, empty)
    expect(sealed.frame.length).toBe(REQ.body + 16)
    const opened = b.cipher.openRequest(a.peerId, sealed.frame, empty)
    expect(opened.plaintext.length).toBe(0)
    expect(sealed.openResponse(opened.sealResponse(empty)).length).toBe(0)
  })

  it('reuses the session keys for later calls, with fresh nonces', () => {
    const a = makeNode()
    const b = makeNode()
    const calls = Array.from({ length: 5 }, (_, i) => a.cipher.sealRequest(b.peerId, enc(`call ${i}`), AAD))
    const responses = calls.map((c, i) => b.cipher.openRequest(a.peerId, c.frame, AAD).sealResponse(enc(`answer ${i}`)))
    expect(new Set(calls.map(c => toHex(c.frame.subarray(REQ.eph, REQ.nonce)))).size).toBe(1)
    expect(new Set(calls.map(c => toHex(c.frame.subarray(REQ.nonce, REQ.body)))).size).toBe(5)
    expect(new Set(responses.map(r => toHex(r.subarray(RESP.eph, RESP.nonce)))).size).toBe(1)
    expect(new Set(responses.map(r => toHex(r.subarray(RESP.nonce, RESP.body)))).size).toBe(5)
    // Answered out of order on purpose.
    for (const i of [3, 0, 4, 1, 2]) expect(dec(calls[i]!.openResponse(responses[i]!))).toBe(`answer ${i}`)
  })

  it('keeps separate sessions per target', () => {
    const a = makeNode()
    const b = makeNode()
    const c = makeNode()
    const toB = a.cipher.sealRequest(b.peerId, enc('b'), AAD)
    const toC = a.cipher.sealRequest(c.peerId, enc('c'), AAD)
    expect(toHex(toB.frame.subarray(REQ.eph, REQ.nonce))).not.toBe(toHex(toC.frame.subarray(REQ.eph, REQ.nonce)))
    expect(dec(toB.openResponse(b.cipher.openRequest(a.peerId, toB.frame, AAD).sealResponse(enc('from b'))))).toBe('from b')
    expect(dec(toC.openResponse(c.cipher.openRequest(a.peerId, toC.frame, AAD).sealResponse(enc('from c'))))).toBe('from c')
  })
})

describe('key binding', () => {
  it('a third node cannot open a request meant for B', () => {
    const a = makeNode()
    const b = makeNode()
    const c = makeNode()
    const { frame } = a.cipher.sealRequest(b.peerId, enc('for B only'), AAD)
    expect(reason(() => c.cipher.openRequest(a.peerId, frame, AAD))).toBe('decrypt')
    expect(dec(b.cipher.openRequest(a.peerId, frame, AAD).plaintext)).toBe('for B only')
  })

  it('B cannot open a request under the wrong sender', () => {
    const a = makeNode()
    const b = makeNode()
    const c = makeNode()
    const { frame } = a.cipher.sealRequest(b.peerId, enc('from A'), AAD)
    expect(reason(() => b.cipher.openRequest(c.peerId, frame, AAD))).toBe('decrypt')
    expect(reason(() => b.cipher.openRequest(b.peerId, frame, AAD))).toBe('decrypt')
    expect(dec(b.cipher.openRequest(a.peerId, frame, AAD).plaintext)).toBe('from A')
    // A session B already holds for A is not reachable under C's name either.
    const second = a.cipher.sealRequest(b.peerId, enc('again'), AAD)
    expect(reason(() => b.cipher.openRequest(c.peerId, second.frame, AAD))).toBe('decrypt')
  })

  it('refuses a request whose aad differs', () => {
    const a = makeNode()
    const b = makeNode()
    const { frame } = a.cipher.sealRequest(b.peerId, enc('x'), enc('net-1\ntools/call'))
    expect(reason(() => b.cipher.openRequest(a.peerId, frame, enc('net-2\ntools/call')))).toBe('decrypt')
    expect(reason(() => b.cipher.openRequest(a.peerId, frame, enc('net-1\nresources/read')))).toBe('decrypt')
    expect(reason(() => b.cipher.openRequest(a.peerId, frame, new Uint8Array(0)))).toBe('decrypt')
    expect(dec(b.cipher.openRequest(a.peerId, frame, enc('net-1\ntools/call')).plaintext)).toBe('x')
  })

  it("keeps the request's aad for the response even if the caller reuses the buffer", () => {
    const a = makeNode()
    const b = makeNode()
    const aad = enc('net-1\ntools/call')
    const sealed = a.cipher.sealRequest(b.peerId, enc('x'), aad)
    const opened = b.cipher.openRequest(a.peerId, sealed.frame, aad.slice())
    aad.fill(0)
    expect(dec(sealed.openResponse(opened.sealResponse(enc('y'))))).toBe('y')
  })

  it("refuses peer ids that are not Ed25519 peers, and a seed that is not the peer id's", () => {
    const a = makeNode()
    const b = makeNode()
    expect(reason(() => a.cipher.sealRequest('not-a-peer-id', enc('x'), AAD))).toBe('wrong-peer')
    const { frame } = a.cipher.sealRequest(b.peerId, enc('x'), AAD)
    expect(reason(() => b.cipher.openRequest('not-a-peer-id', frame, AAD))).toBe('wrong-peer')
    expect(reason(() => new E2ECipher({ peerId: a.peerId, seed: b.seed }))).toBe('wrong-peer')
  })

  it('refuses a small-order ephemeral key', () => {
    const a = makeNode()
    const b = makeNode()
    const { frame } = a.cipher.sealRequest(b.peerId, enc('x'), AAD)
    const forged = frame.slice()
    forged.fill(0, REQ.eph, REQ.nonce)
    expect(reason(() => b.cipher.openRequest(a.peerId, forged, AAD))).toBe('malformed')
  })
})

describe('tampering', () => {
  it('rejects every single-bit flip of a request frame', () => {
    const a = makeNode()
    const b = makeNode()
    const { frame } = a.cipher.sealRequest(b.peerId, enc('tamper me'), AAD)
    const reasons = new Set<string>()
    for (let i = 0; i < frame.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = frame.slice()
        bad[i] = (bad[i] as number) ^ (1 << bit)
        reasons.add(reason(() => b.cipher.openRequest(a.peerId, bad, AAD)))
      }
    }
    expect([...reasons].sort()).toEqual(['decrypt', 'stale', 'version'])
    // The failures left no state behind that would refuse the real frame.
    expect(dec(b.cipher.openRequest(a.peerId, frame, AAD).plaintext)).toBe('tamper me')
  })

  it('rejects every single-bit flip of a response frame', () => {
    const a = makeNode()
    const b = makeNode()
    const sealed = a.cipher.sealRequest(b.peerId, enc('q'), AAD)
    const response = b.cipher.openRequest(a.peerId, sealed.frame, AAD).sealResponse(enc('tamper me too'))
    for (let i = 0; i < response.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const bad = response.slice()
        bad[i] = (bad[i] as number) ^ (1 << bit)
        expect(['decrypt', 'version', 'malformed']).toContain(reason(() => sealed.openResponse(bad)))
      }
    }
    expect(dec(sealed.openResponse(response))).toBe('tamper me too')
  })

  it('rejects every truncation and an extension of a request frame', () => {
    const a = makeNode()
    const b = makeNode()
    const { frame } = a.cipher.sealRequest(b.peerId, enc('cut'), AAD)
    for (let n = 0; n < frame.length; n++) {
      const r = reason(() => b.cipher.openRequest(a.peerId, frame.subarray(0, n), AAD))
      expect(r).toBe(n < REQ.body + 16 ? 'malformed' : 'decrypt')
    }
    expect(reason(() => b.cipher.openRequest(a.peerId, cat(frame, new Uint8Array(1)), AAD))).toBe('decrypt')
  })

  it('names an unknown version as such', () => {
    const a = makeNode()
    const b = makeNode()
    const sealed = a.cipher.sealRequest(b.peerId, enc('v'), AAD)
    const v2 = sealed.frame.slice()
    v2[0] = 2
    expect(reason(() => b.cipher.openRequest(a.peerId, v2, AAD))).toBe('version')
    const response = b.cipher.openRequest(a.peerId, sealed.frame, AAD).sealResponse(enc('r'))
    const r0 = response.slice()
    r0[0] = 0
    expect(reason(() => sealed.openResponse(r0))).toBe('version')
  })
})

describe('replay and freshness', () => {
  it('refuses the same request twice, and the same response twice', () => {
    const a = makeNode()
    const b = makeNode()
    const sealed = a.cipher.sealRequest(b.peerId, enc('once'), AAD)
    const opened = b.cipher.openRequest(a.peerId, sealed.frame, AAD)
    t += 1000
    expect(reason(() => b.cipher.openRequest(a.peerId, sealed.frame, AAD))).toBe('replay')
    const response = opened.sealResponse(enc('ok'))
    expect(dec(sealed.openResponse(response))).toBe('ok')
    expect(reason(() => sealed.openResponse(response))).toBe('replay')
  })

  it('refuses timestamps outside the window, in either direction', () => {
    const a = makeNode()
    const b = makeNode({ replayWindowMs: 10_000 })
    const old = a.cipher.sealRequest(b.peerId, enc('old'), AAD)
    t += 10_001
    expect(reason(() => b.cipher.openRequest(a.peerId, old.frame, AAD))).toBe('stale')

    t = T0 + 100_000
    const future = a.cipher.sealRequest(b.peerId, enc('future'), AAD)
    t = T0 + 100_000 - 10_001
    expect(reason(() => b.cipher.openRequest(a.peerId, future.frame, AAD))).toBe('stale')
    // Skew inside the window is fine.
    t = T0 + 100_000 - 9_000
    expect(dec(b.cipher.openRequest(a.peerId, future.frame, AAD).plaintext)).toBe('future')
  })

  it('when the replay memory is full, never forgets-and-accepts an evicted request', () => {
    const a = makeNode()
    const b = makeNode({ maxRemembered: 3 })
    const frames: Uint8Array[] = []
    for (let i = 0; i < 4; i++) {
      t = T0 + i
      const { frame } = a.cipher.sealRequest(b.peerId, enc(`r${i}`), AAD)
      frames.push(frame)
      b.cipher.openRequest(a.peerId, frame, AAD)
    }
    t = T0 + 10
    // frames[0] was evicted (oldest): refused all the same, by the floor.
    expect(reason(() => b.cipher.openRequest(a.peerId, frames[0]!, AAD))).toBe('stale')
    for (const f of frames.slice(1)) expect(reason(() => b.cipher.openRequest(a.peerId, f, AAD))).toBe('replay')
    // Fresh requests still go through, and memory stays bounded while they do.
    for (let i = 0; i < 20; i++) {
      t = T0 + 20 + i
      expect(dec(b.cipher.openRequest(a.peerId, a.cipher.sealRequest(b.peerId, enc('new'), AAD).frame, AAD).plaintext)).toBe('new')
    }
  })

  it('a response to another request cannot be opened by the first call', () => {
    const a = makeNode()
    const b = makeNode()
    const first = a.cipher.sealRequest(b.peerId, enc('first'), AAD)
    const second = a.cipher.sealRequest(b.peerId, enc('second'), AAD)
    const r1 = b.cipher.openRequest(a.peerId, first.frame, AAD).sealResponse(enc('answer 1'))
    const r2 = b.cipher.openRequest(a.peerId, second.frame, AAD).sealResponse(enc('answer 2'))
    // Same session, same eB: only the request nonce in the AAD tells them apart.
    expect(toHex(r1.subarray(RESP.eph, RESP.nonce))).toBe(toHex(r2.subarray(RESP.eph, RESP.nonce)))
    expect(reason(() => first.openResponse(r2))).toBe('decrypt')
    expect(reason(() => second.openResponse(r1))).toBe('decrypt')
    expect(dec(first.openResponse(r1))).toBe('answer 1')
    expect(dec(second.openResponse(r2))).toBe('answer 2')
  })

  it('a response from another peer cannot be opened', () => {
    const a = makeNode()
    const b = makeNode()
    const c = makeNode()
    const toB = a.cipher.sealRequest(b.peerId, enc('b'), AAD)
    const toC = a.cipher.sealRequest(c.peerId, enc('c'), AAD)
    b.cipher.openRequest(a.peerId, toB.frame, AAD)
    const fromC = c.cipher.openRequest(a.peerId, toC.frame, AAD).sealResponse(enc('from c'))
    expect(reason(() => toB.openResponse(fromC))).toBe('decrypt')
  })
})

describe('sessions', () => {
  it('rotates the caller ephemeral after the TTL; calls in flight still complete', () => {
    const a = makeNode({ sessionTtlMs: 1000 })
    const b = makeNode()
    const before = a.cipher.sealRequest(b.peerId, enc('before'), AAD)
    const openedBefore = b.cipher.openRequest(a.peerId, before.frame, AAD)
    t += 999
    const same = a.cipher.sealRequest(b.peerId, enc('same'), AAD)
    t += 1
    const after = a.cipher.sealRequest(b.peerId, enc('after'), AAD)
    const eph = (f: Uint8Array): string => toHex(f.subarray(REQ.eph, REQ.nonce))
    expect(eph(same.frame)).toBe(eph(before.frame))
    expect(eph(after.frame)).not.toBe(eph(before.frame))
    a.cipher.sweep()
    expect(dec(after.openResponse(b.cipher.openRequest(a.peerId, after.frame, AAD).sealResponse(enc('new session'))))).toBe('new session')
    expect(dec(before.openResponse(openedBefore.sealResponse(enc('old session'))))).toBe('old session')
  })

  it('rotates the caller ephemeral after maxSessionUses', () => {
    const a = makeNode({ maxSessionUses: 2 })
    const b = makeNode()
    const frames = [0, 1, 2, 3, 4].map(i => a.cipher.sealRequest(b.peerId, enc(`${i}`), AAD).frame)
    const eph = frames.map(f => toHex(f.subarray(REQ.eph, REQ.nonce)))
    expect(eph[0]).toBe(eph[1])
    expect(eph[2]).toBe(eph[3])
    expect(new Set([eph[0], eph[2], eph[4]]).size).toBe(3)
    for (const [i, f] of frames.entries()) expect(dec(b.cipher.openRequest(a.peerId, f, AAD).plaintext)).toBe(`${i}`)
  })

  it('rotates the responder ephemeral after its own TTL', () => {
    const a = makeNode({ sessionTtlMs: 600_000 })
    const b = makeNode({ sessionTtlMs: 1000 })
    const respond = (): Uint8Array => {
      const s = a.cipher.sealRequest(b.peerId, enc('q'), AAD)
      const r = b.cipher.openRequest(a.peerId, s.frame, AAD).sealResponse(enc('r'))
      expect(dec(s.openResponse(r))).toBe('r')
      return r.subarray(RESP.eph, RESP.nonce)
    }
    const first = toHex(respond())
    t += 500
    expect(toHex(respond())).toBe(first)
    t += 500
    expect(toHex(respond())).not.toBe(first)
  })

  it("drops B's session keys once the window has passed and B sweeps", () => {
    const a = makeNode({ sessionTtlMs: 600_000 })
    const b = makeNode({ replayWindowMs: 1000 })
    const first = a.cipher.sealRequest(b.peerId, enc('1'), AAD)
    const eB1 = b.cipher.openRequest(a.peerId, first.frame, AAD).sealResponse(enc('r1')).subarray(RESP.eph, RESP.nonce)
    t += 1500
    b.cipher.sweep()
    // Same caller session (same eA), but B no longer holds eB1 or kReq: it starts over.
    const second = a.cipher.sealRequest(b.peerId, enc('2'), AAD)
    expect(toHex(second.frame.subarray(REQ.eph, REQ.nonce))).toBe(toHex(first.frame.subarray(REQ.eph, REQ.nonce)))
    const r2 = b.cipher.openRequest(a.peerId, second.frame, AAD).sealResponse(enc('r2'))
    expect(toHex(r2.subarray(RESP.eph, RESP.nonce))).not.toBe(toHex(eB1))
    expect(dec(second.openResponse(r2))).toBe('r2')
    // The old frame's replay entry is gone too, and it is still refused.
    expect(reason(() => b.cipher.openRequest(a.peerId, first.frame, AAD))).toBe('stale')
  })

  it('after rotation and sweep, old-session frames are refused', () => {
    const a = makeNode({ sessionTtlMs: 1000 })
    const b = makeNode({ replayWindowMs: 2000 })
    const old = a.cipher.sealRequest(b.peerId, enc('old'), AAD)
    b.cipher.openRequest(a.peerId, old.frame, AAD)
    t += 2500
    const fresh = a.cipher.sealRequest(b.peerId, enc('fresh'), AAD)
    expect(toHex(fresh.frame.subarray(REQ.eph, REQ.nonce))).not.toBe(toHex(old.frame.subarray(REQ.eph, REQ.nonce)))
    a.cipher.sweep()
    b.cipher.sweep()
    expect(reason(() => b.cipher.openRequest(a.peerId, old.frame, AAD))).toBe('stale')
    expect(dec(b.cipher.openRequest(a.peerId, fresh.frame, AAD).plaintext)).toBe('fresh')
  })

  it('forward secrecy: both static keys and a recorded exchange do not open the response', () => {
    const a = makeNode({ sessionTtlMs: 1000 })
    const b = makeNode({ replayWindowMs: 1000 })
    const call = a.cipher.sealRequest(b.peerId, enc('question'), AAD)
    const response = b.cipher.openRequest(a.peerId, call.frame, AAD).sealResponse(enc('secret answer'))
    expect(dec(call.openResponse(response))).toBe('secret answer')
    t += 1500
    a.cipher.sealRequest(b.peerId, enc('next'), AAD)
    a.cipher.sweep()
    b.cipher.sweep()

    // The attacker has both Ed25519 seeds and the recorded frames, nothing else.
    const sA = ed25519.utils.toMontgomerySecret(a.seed)
    const sB = ed25519.utils.toMontgomerySecret(b.seed)
    const pubA = x25519.getPublicKey(sA)
    const pubB = x25519.getPublicKey(sB)
    const eA = call.frame.subarray(REQ.eph, REQ.nonce)
    const eB = response.subarray(RESP.eph, RESP.nonce)
    const reqNonce = call.frame.subarray(REQ.nonce, REQ.body)

    // Requests are not FS against B's static key (as in Noise IK): this works.
    const kReq = hkdf(cat(x25519.getSharedSecret(sB, eA), x25519.getSharedSecret(sB, pubA)), cat(eA, pubB),
      `dawn/e2e/v1/request\n${a.peerId}\n${b.peerId}`, 32)
    expect(dec(gcmOpen(kReq, reqNonce, cat(call.frame.subarray(0, REQ.body), AAD), call.frame.subarray(REQ.body)))).toBe('question')

    // The response needs DH(eB, eA); no static-key substitute gets there.
    const guesses = [
      x25519.getSharedSecret(sB, eA), x25519.getSharedSecret(sA, eB), x25519.getSharedSecret(sB, eB),
      x25519.getSharedSecret(sA, eA), x25519.getSharedSecret(sA, pubB), new Uint8Array(32), new Uint8Array(0)
    ]
    const respAad = cat(response.subarray(0, RESP.body), reqNonce, AAD)
    for (const guess of guesses) {
      const k = hkdf(cat(guess, kReq), cat(eA, eB), `dawn/e2e/v1/response\n${a.peerId}\n${b.peerId}`, 32)
      expect(reason(() => gcmOpen(k, response.subarray(RESP.nonce, RESP.body), respAad, response.subarray(RESP.body)))).toBe('decrypt')
    }
  })
})

describe('hostile input', () => {
  const a = makeNode()
  const b = makeNode()
  const onlyE2EError = (fn: () => unknown): boolean => {
    try {
      fn()
    } catch (err) {
      return err instanceof E2EError && (E2E_REJECT_REASONS as readonly string[]).includes(err.reason)
    }
    return false
  }

  it('openRequest throws only E2EError on random bytes', () => {
    t = Date.now()
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => onlyE2EError(() => b.cipher.openRequest(a.peerId, bytes, AAD))))
    // Frames with a plausible header reach the key derivation and AEAD.
    const plausible = fc.tuple(fc.integer({ min: -200_000, max: 200_000 }), fc.uint8Array({ minLength: 0, maxLength: 150 }))
      .map(([skew, rest]) => {
        const head = Buffer.alloc(REQ.eph)
        head[0] = 1
        head.writeBigUInt64BE(BigInt(t + skew), 1)
        return cat(head, rest)
      })
    fc.assert(fc.property(plausible, frame => onlyE2EError(() => b.cipher.openRequest(a.peerId, frame, AAD))))
  })

  it('openResponse throws only E2EError on random bytes', () => {
    t = Date.now()
    const call = a.cipher.sealRequest(b.peerId, enc('q'), AAD)
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => onlyE2EError(() => call.openResponse(bytes))))
    const plausible = fc.uint8Array({ minLength: 0, maxLength: 150 }).map(rest => cat(new Uint8Array([1]), rest))
    fc.assert(fc.property(plausible, frame => onlyE2EError(() => call.openResponse(frame))))
    // None of that consumed the call.
    const real = b.cipher.openRequest(a.peerId, call.frame, AAD).sealResponse(enc('real'))
    expect(dec(call.openResponse(real))).toBe('real')
  })
})
