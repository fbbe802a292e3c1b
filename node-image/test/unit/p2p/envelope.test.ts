import { beforeEach, describe, expect, it, vi } from 'vitest'
import fc from 'fast-check'
import { ed25519 } from '@noble/curves/ed25519.js'
import { decodePublicKeyPem, generateSeed } from '../../../src/identity/key-file.ts'
import { peerIdFromSeed } from '../../../src/identity/peer-id.ts'
import { createCa, issueCertificate, verifyCertificate, type MembershipCertificate } from '../../../src/identity/membership.ts'
import {
  ENVELOPE_REJECT_REASONS,
  EnvelopeOpener,
  EnvelopeRejectedError,
  EnvelopeSealError,
  sealEnvelope,
  type EnvelopeOpenerInit,
  type EnvelopeRejectReason,
  type SealOptions
} from '../../../src/p2p/envelope.ts'

// Counts full certificate verifications, to prove the opener's cache works.
vi.mock('../../../src/identity/membership.ts', async (importOriginal) => {
  const mod = await importOriginal<typeof import('../../../src/identity/membership.ts')>()
  return { ...mod, verifyCertificate: vi.fn(mod.verifyCertificate) }
})

const NOW = Date.UTC(2030, 5, 1, 12)
const WINDOW = 60_000
const NETWORK = 'prod'

const ca = createCa()
const caPublicKey = decodePublicKeyPem(ca.publicKeyPem)

interface Node { seed: Uint8Array, peerId: string, cert: MembershipCertificate }
function makeNode (opts: { caPem?: string, network?: string, validForSeconds?: number, now?: number } = {}): Node {
  const seed = generateSeed()
  const peerId = peerIdFromSeed(seed)
  const cert = issueCertificate({
    caPrivateKeyPem: opts.caPem ?? ca.privateKeyPem,
    network: opts.network ?? NETWORK,
    peerId,
    validForSeconds: opts.validForSeconds ?? 86_400,
    now: opts.now ?? NOW - 3_600_000
  })
  return { seed, peerId, cert }
}

const alice = makeNode()
const bob = makeNode()

function seal (node: Node, overrides: Partial<SealOptions> = {}): Uint8Array {
  return sealEnvelope({
    type: 'test.ping',
    network: NETWORK,
    body: new TextEncoder().encode('hello'),
    privateKey: node.seed,
    peerId: node.peerId,
    cert: node.cert,
    now: NOW,
    ...overrides
  })
}

let clock = NOW
function opener (init: Partial<EnvelopeOpenerInit> = {}): EnvelopeOpener {
  return new EnvelopeOpener({ network: NETWORK, caPublicKey, maxBytes: 64 * 1024, replayWindowMs: WINDOW, now: () => clock, ...init })
}

function rejection (fn: () => unknown): EnvelopeRejectedError {
  try {
    fn()
  } catch (err) {
    if (err instanceof EnvelopeRejectedError) return err
    throw new Error(`expected EnvelopeRejectedError, got ${String(err)}`, { cause: err })
  }
  throw new Error('expected the envelope to be rejected')
}

const reasonOf = (fn: () => unknown): EnvelopeRejectReason => rejection(fn).reason

type Wire = Record<string, unknown> & { cert: Record<string, unknown> }
const parseWire = (bytes: Uint8Array): Wire => JSON.parse(new TextDecoder().decode(bytes)) as Wire
const encodeWire = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

beforeEach(() => {
  clock = NOW
  vi.mocked(verifyCertificate).mockClear()
})

describe('sealing and opening', () => {
  it('round-trips type, sender, body, timestamp and trace context', () => {
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=value' }
    const body = new Uint8Array([0, 1, 2, 250, 255])
    const opened = opener().open(seal(alice, { body, trace }), { type: 'test.ping', from: alice.peerId })
    expect(opened).toEqual({
      type: 'test.ping',
      from: alice.peerId,
      ts: NOW,
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      trace,
      body,
      cert: alice.cert
    })
  })

  it('omits trace when none was sent, and handles an empty body', () => {
    const opened = opener().open(seal(alice, { body: new Uint8Array(0) }))
    expect(opened.body).toEqual(new Uint8Array(0))
    expect('trace' in opened).toBe(false)
  })

  it('accepts any of several expected types', () => {
    expect(opener().open(seal(alice), { type: ['a', 'test.ping'] }).type).toBe('test.ping')
  })

  it('puts the documented fields on the wire, signed over the documented bytes', () => {
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }
    const wire = parseWire(seal(alice, { trace }))
    expect(Object.keys(wire)).toEqual(['v', 'type', 'network', 'from', 'nonce', 'ts', 'trace', 'cert', 'body', 'sig'])
    expect(wire).toMatchObject({ v: 1, type: 'test.ping', network: NETWORK, from: alice.peerId, ts: NOW, trace, cert: alice.cert, body: 'aGVsbG8' })
    expect(Buffer.from(wire.nonce as string, 'base64url')).toHaveLength(16)
    const message = new TextEncoder().encode('dawn/envelope/v1\n' + JSON.stringify(
      [wire.v, wire.type, wire.network, wire.from, wire.nonce, wire.ts, wire.trace, wire.body, alice.cert.signature]))
    const alicePublic = ed25519.getPublicKey(alice.seed)
    expect(ed25519.verify(Buffer.from(wire.sig as string, 'base64url'), message, alicePublic)).toBe(true)
  })

  it('uses a fresh nonce for every envelope', () => {
    const nonces = new Set(Array.from({ length: 50 }, () => parseWire(seal(alice)).nonce))
    expect(nonces.size).toBe(50)
  })

  it('refuses to seal with a key that is not the peer id\'s, or a certificate for someone else', () => {
    expect(() => seal(alice, { privateKey: bob.seed })).toThrow(EnvelopeSealError)
    expect(() => seal(alice, { cert: bob.cert })).toThrow(EnvelopeSealError)
    expect(() => seal(alice, { network: 'staging' })).toThrow(EnvelopeSealError)
    expect(() => seal(alice, { type: '' })).toThrow(EnvelopeSealError)
  })

  it('lists the reject reasons in check order', () => {
    expect(ENVELOPE_REJECT_REASONS).toEqual(['oversized', 'malformed', 'wrong-network', 'stale', 'not-a-member', 'bad-signature', 'replay'])
  })
})

describe('rejections', () => {
  it('oversized: checked before anything is parsed', () => {
    const small = opener({ maxBytes: 100 })
    expect(reasonOf(() => small.open(new Uint8Array(101).fill(0xff)))).toBe('oversized')
    expect(reasonOf(() => small.open(seal(alice)))).toBe('oversized')
    const exact = seal(alice)
    expect(opener({ maxBytes: exact.length }).open(exact).from).toBe(alice.peerId)
  })

  it.each([
    ['not JSON', new TextEncoder().encode('{"v":1,')],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0x7d])],
    ['a JSON array', encodeWire([1, 2])],
    ['JSON null', encodeWire(null)],
    ['a byte-order mark', new Uint8Array([0xef, 0xbb, 0xbf, ...seal(alice)])]
  ])('malformed: %s', (_name, bytes) => {
    expect(reasonOf(() => opener().open(bytes))).toBe('malformed')
  })

  it.each([
    ['version 2', (w: Wire) => { w.v = 2 }],
    ['missing body', (w: Wire) => { delete w.body }],
    ['extra field', (w: Wire) => { w.admin = true }],
    ['string timestamp', (w: Wire) => { w.ts = String(w.ts) }],
    ['fractional timestamp', (w: Wire) => { w.ts = (w.ts as number) + 0.5 }],
    ['short nonce', (w: Wire) => { w.nonce = (w.nonce as string).slice(1) }],
    ['non-canonical nonce spelling', (w: Wire) => { w.nonce = respell(w.nonce as string) }],
    ['body with padding', (w: Wire) => { w.body = `${w.body as string}=` }],
    ['non-canonical body spelling', (w: Wire) => { w.body = respell(w.body as string) }],
    ['non-canonical sig spelling', (w: Wire) => { w.sig = respell(w.sig as string) }],
    ['trace without traceparent', (w: Wire) => { w.trace = { tracestate: 'x' } }],
    ['certificate with extra field', (w: Wire) => { w.cert.extra = 1 }]
  ])('malformed: %s', (_name, mutate) => {
    const wire = parseWire(seal(alice))
    mutate(wire)
    expect(reasonOf(() => opener().open(encodeWire(wire)))).toBe('malformed')
  })

  it('malformed: an unexpected type', () => {
    const err = rejection(() => opener().open(seal(alice), { type: 'test.pong' }))
    expect(err.reason).toBe('malformed')
    expect(err.message).toContain('test.ping')
  })

  it('wrong-network: an envelope for another network, even if also stale', () => {
    const staging = makeNode({ network: 'staging' })
    expect(reasonOf(() => opener().open(seal(staging, { network: 'staging' })))).toBe('wrong-network')
    expect(reasonOf(() => opener().open(seal(staging, { network: 'staging', now: NOW - 10 * WINDOW })))).toBe('wrong-network')
  })

  it('stale: outside the replay window in either direction', () => {
    expect(opener().open(seal(alice, { now: NOW - WINDOW })).from).toBe(alice.peerId)
    expect(opener().open(seal(alice, { now: NOW + WINDOW })).from).toBe(alice.peerId)
    expect(reasonOf(() => opener().open(seal(alice, { now: NOW - WINDOW - 1 })))).toBe('stale')
    expect(reasonOf(() => opener().open(seal(alice, { now: NOW + WINDOW + 1 })))).toBe('stale')
  })

  it('not-a-member: a certificate from another CA', () => {
    const rogueCa = createCa()
    const rogue = makeNode({ caPem: rogueCa.privateKeyPem })
    const err = rejection(() => opener().open(seal(rogue)))
    expect(err.reason).toBe('not-a-member')
    expect(err.message).toContain('wrong-ca')
  })

  it('not-a-member: someone else\'s certificate', () => {
    const wire = parseWire(seal(bob))
    wire.cert = { ...alice.cert }
    expect(reasonOf(() => opener().open(encodeWire(wire)))).toBe('not-a-member')
    // Also once Alice's certificate is cached as valid.
    const o = opener()
    o.open(seal(alice))
    expect(reasonOf(() => o.open(encodeWire(wire)))).toBe('not-a-member')
  })

  it('not-a-member: an expired or not-yet-valid certificate', () => {
    const expired = makeNode({ validForSeconds: 60, now: NOW - 3_600_000 })
    expect(rejection(() => opener().open(seal(expired))).message).toContain('expired')
    const future = makeNode({ now: NOW + 3_600_000 })
    expect(rejection(() => opener().open(seal(future))).message).toContain('not-yet-valid')
  })

  it('not-a-member: a certificate that expires after it was cached', () => {
    const shortLived = makeNode({ validForSeconds: 7200, now: NOW - 3_600_000 })
    const o = opener()
    expect(o.open(seal(shortLived)).from).toBe(shortLived.peerId)
    clock = NOW + 3 * 3_600_000
    const err = rejection(() => o.open(seal(shortLived, { now: clock })))
    expect(err.reason).toBe('not-a-member')
    expect(err.message).toContain('expired')
  })

  it('not-a-member: a sender other than the expected one', () => {
    expect(reasonOf(() => opener().open(seal(alice), { from: bob.peerId }))).toBe('not-a-member')
  })

  it('not-a-member: a cached certificate cannot be reused with edited fields', () => {
    const o = opener()
    o.open(seal(alice))
    const wire = parseWire(seal(alice))
    wire.cert.expiresAt = (wire.cert.expiresAt as number) + 86_400 * 365
    const err = rejection(() => o.open(encodeWire(wire)))
    expect(err.reason).toBe('not-a-member')
    expect(err.message).toContain('bad-signature')
  })

  it('bad-signature: edited body, type, timestamp or trace', () => {
    const edits: Array<(w: Wire) => void> = [
      w => { w.body = 'aGVsbG9v' },
      w => { w.type = 'test.pong' },
      w => { w.ts = (w.ts as number) + 1 },
      w => { w.trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } }
    ]
    for (const edit of edits) {
      const wire = parseWire(seal(alice))
      edit(wire)
      expect(reasonOf(() => opener().open(encodeWire(wire)))).toBe('bad-signature')
    }
  })

  it('bad-signature: a message signed by a different member under a stolen sender id', () => {
    const wire = parseWire(seal(alice))
    wire.sig = parseWire(seal(bob)).sig
    expect(reasonOf(() => opener().open(encodeWire(wire)))).toBe('bad-signature')
  })

  it('replay: the same envelope twice, even re-spelled', () => {
    const o = opener()
    const bytes = seal(alice)
    o.open(bytes)
    expect(reasonOf(() => o.open(bytes))).toBe('replay')
    // Same content, different bytes (whitespace and key order) is still the same envelope.
    const wire = parseWire(bytes)
    const { sig, ...rest } = wire
    const respelled = new TextEncoder().encode(JSON.stringify({ sig, ...rest }, null, 1))
    expect(reasonOf(() => o.open(respelled))).toBe('replay')
  })

  it('replay: nonces are only remembered once the signature verified', () => {
    const o = opener()
    const bytes = seal(alice)
    const forged = parseWire(bytes)
    forged.body = 'ZXZpbA'
    expect(reasonOf(() => o.open(encodeWire(forged)))).toBe('bad-signature')
    expect(o.open(bytes).from).toBe(alice.peerId)
  })

  it('replay: the same nonce from two senders is not a replay', () => {
    const o = opener()
    const a = seal(alice)
    o.open(a)
    // Bob cannot pick Alice's nonce through sealEnvelope, so sign one by hand.
    const wire = parseWire(seal(bob))
    wire.nonce = parseWire(a).nonce
    const message = new TextEncoder().encode('dawn/envelope/v1\n' + JSON.stringify(
      [wire.v, wire.type, wire.network, wire.from, wire.nonce, wire.ts, null, wire.body, bob.cert.signature]))
    wire.sig = Buffer.from(ed25519.sign(message, bob.seed)).toString('base64url')
    expect(o.open(encodeWire(wire)).from).toBe(bob.peerId)
  })

  it('forgets nonces once their window has passed', () => {
    const o = opener()
    for (let i = 0; i < 10; i++) o.open(seal(alice))
    expect(seenSize(o)).toBe(10)
    clock = NOW + 2 * WINDOW + 1
    o.open(seal(alice, { now: clock }))
    expect(seenSize(o)).toBe(1)
  })

  it('bounds memory without opening a replay hole', () => {
    const o = opener({ maxRemembered: 3 })
    const sent = Array.from({ length: 6 }, (_, i) => seal(alice, { now: NOW + i }))
    clock = NOW + 10
    for (const bytes of sent) o.open(bytes)
    expect(seenSize(o)).toBe(3)
    // The forgotten ones are still refused...
    for (const bytes of sent) expect(reasonOf(() => o.open(bytes))).toBe('replay')
    // ...as is anything no newer than what was forgotten, while newer traffic flows.
    expect(reasonOf(() => o.open(seal(bob, { now: NOW + 1 })))).toBe('replay')
    expect(o.open(seal(bob, { now: NOW + 5 })).from).toBe(bob.peerId)
  })
})

describe('certificate cache', () => {
  it('verifies a sender\'s certificate once, then only the message signature', () => {
    const o = opener()
    for (let i = 0; i < 5; i++) o.open(seal(alice))
    expect(vi.mocked(verifyCertificate)).toHaveBeenCalledTimes(1)
    o.open(seal(bob))
    expect(vi.mocked(verifyCertificate)).toHaveBeenCalledTimes(2)
  })
})

describe('properties', () => {
  it('arbitrary bytes are only ever rejected with EnvelopeRejectedError', () => {
    const o = opener({ maxBytes: 512 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      expect(rejection(() => o.open(bytes))).toBeInstanceOf(EnvelopeRejectedError)
    }), { numRuns: 500 })
  })

  it('arbitrary JSON values are only ever rejected with EnvelopeRejectedError', () => {
    const o = opener()
    fc.assert(fc.property(fc.jsonValue(), (value) => {
      expect(rejection(() => o.open(encodeWire(value)))).toBeInstanceOf(EnvelopeRejectedError)
    }), { numRuns: 500 })
  })

  it('envelope-shaped objects with arbitrary field values are only ever rejected with EnvelopeRejectedError', () => {
    const o = opener()
    const template = parseWire(seal(alice, { trace: { traceparent: 'x' } }))
    const keys = [...Object.keys(template), 'extra']
    const certKeys = [...Object.keys(template.cert), 'extra']
    fc.assert(fc.property(fc.constantFrom(...keys), fc.constantFrom(...certKeys), fc.jsonValue(), fc.boolean(), (key, certKey, value, inCert) => {
      const wire = structuredClone(template)
      if (inCert) wire.cert[certKey] = value
      else wire[key] = value
      if (JSON.stringify(wire) === JSON.stringify(template)) return
      expect(rejection(() => o.open(encodeWire(wire)))).toBeInstanceOf(EnvelopeRejectedError)
    }), { numRuns: 500 })
  })

  it('changing any single byte of a sealed envelope never yields a successful open', () => {
    const o = opener()
    o.open(seal(alice)) // warm the certificate cache, as in steady state
    const bytes = seal(alice, { trace: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'a=b' } })
    fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, xor) => {
      const mutated = Uint8Array.from(bytes)
      mutated[index] = (mutated[index] ?? 0) ^ xor
      expect(rejection(() => o.open(mutated))).toBeInstanceOf(EnvelopeRejectedError)
    }), { numRuns: 2000 })
    // And the untouched envelope still opens: the failures above were not side effects.
    expect(o.open(bytes).from).toBe(alice.peerId)
  })

  it('every single-bit flip of a sealed envelope is rejected', () => {
    const o = opener()
    const bytes = seal(alice)
    for (let index = 0; index < bytes.length; index++) {
      for (let bit = 0; bit < 8; bit++) {
        const mutated = Uint8Array.from(bytes)
        mutated[index] = (mutated[index] ?? 0) ^ (1 << bit)
        expect(rejection(() => o.open(mutated))).toBeInstanceOf(EnvelopeRejectedError)
      }
    }
  })
})

function respell (b64: string): string {
  // Flip an unused low bit of the final character when it has one (length % 4 is 2 or 3).
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = b64.at(-1) ?? 'A'
  const twin = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A'
  const out = b64.slice(0, -1) + twin
  expect(Buffer.from(out, 'base64url')).toEqual(Buffer.from(b64, 'base64url'))
  return out
}

function seenSize (o: EnvelopeOpener): number {
  return (o as unknown as { seen: Map<string, number> }).seen.size
}
