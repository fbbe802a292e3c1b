import { describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { decodePrivateKeyPem, decodePublicKeyPem, generateSeed } from '../../../src/identity/key-file.ts'
import { peerIdFromSeed } from '../../../src/identity/peer-id.ts'
import {
  createCa,
  decodeCertificate,
  encodeCertificate,
  issueCertificate,
  MembershipError,
  verifyCertificate,
  type MembershipCertificate,
  type MembershipRejectReason,
  type VerifyCertificateOptions
} from '../../../src/identity/membership.ts'

const NOW = Date.UTC(2030, 0, 1) // ms
const ca = createCa()
const caPublicKey = decodePublicKeyPem(ca.publicKeyPem)
const peerId = peerIdFromSeed(generateSeed())
const otherPeer = peerIdFromSeed(generateSeed())
const cert = issueCertificate({ caPrivateKeyPem: ca.privateKeyPem, network: 'prod', peerId, validForSeconds: 3600, now: NOW })
const opts: VerifyCertificateOptions = { caPublicKey, network: 'prod', peerId, now: NOW }

function reason (fn: () => unknown): MembershipRejectReason {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MembershipError)
    return (err as MembershipError).reason
  }
  throw new Error('expected a MembershipError')
}

function b64url (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

describe('CA', () => {
  it('creates an Ed25519 key pair whose PEMs match each other', () => {
    const { privateKeyPem, publicKeyPem } = createCa()
    expect(privateKeyPem).toContain('-----BEGIN PRIVATE KEY-----')
    expect(ed25519.getPublicKey(decodePrivateKeyPem(privateKeyPem))).toEqual(decodePublicKeyPem(publicKeyPem))
  })
})

describe('membership certificates', () => {
  it('issues the documented shape', () => {
    expect(cert).toEqual({
      version: 1,
      network: 'prod',
      peerId,
      issuedAt: NOW / 1000,
      expiresAt: NOW / 1000 + 3600,
      ca: b64url(caPublicKey),
      signature: expect.stringMatching(/^[A-Za-z0-9_-]{86}$/)
    })
  })

  it('signs the documented domain-separated bytes, verifiable with any Ed25519 implementation', () => {
    const message = new TextEncoder().encode('dawn/membership/v1\n' +
      JSON.stringify([cert.version, cert.network, cert.peerId, cert.issuedAt, cert.expiresAt, cert.ca]))
    expect(ed25519.verify(Buffer.from(cert.signature, 'base64url'), message, caPublicKey)).toBe(true)
  })

  it('verifies a good certificate', () => {
    expect(() => verifyCertificate(cert, opts)).not.toThrow()
    const { peerId: _ignored, ...anyPeer } = opts
    expect(() => verifyCertificate(cert, anyPeer)).not.toThrow()
  })

  it('round-trips through its JSON file form', () => {
    const text = encodeCertificate(cert)
    expect(text).toContain('\n  "network": "prod"')
    const decoded = decodeCertificate(text)
    expect(decoded).toEqual(cert)
    expect(() => verifyCertificate(decoded, opts)).not.toThrow()
  })

  it('rejects a certificate from another CA', () => {
    const other = createCa()
    const foreign = issueCertificate({ caPrivateKeyPem: other.privateKeyPem, network: 'prod', peerId, validForSeconds: 3600, now: NOW })
    expect(reason(() => verifyCertificate(foreign, opts))).toBe('wrong-ca')
  })

  it('rejects a certificate that names our CA but was signed by another key', () => {
    const other = createCa()
    const forged = issueCertificate({ caPrivateKeyPem: other.privateKeyPem, network: 'prod', peerId, validForSeconds: 3600, now: NOW })
    expect(reason(() => verifyCertificate({ ...forged, ca: cert.ca }, opts))).toBe('bad-signature')
  })

  it('rejects the wrong network', () => {
    expect(reason(() => verifyCertificate(cert, { ...opts, network: 'staging' }))).toBe('wrong-network')
  })

  it('rejects the wrong peer', () => {
    expect(reason(() => verifyCertificate(cert, { ...opts, peerId: otherPeer }))).toBe('wrong-peer')
  })

  it('rejects an expired certificate, allowing the clock skew', () => {
    const end = (cert.expiresAt) * 1000
    expect(() => verifyCertificate(cert, { ...opts, now: end + 299_000 })).not.toThrow()
    expect(reason(() => verifyCertificate(cert, { ...opts, now: end + 300_000 }))).toBe('expired')
    expect(reason(() => verifyCertificate(cert, { ...opts, now: end, clockSkewSeconds: 0 }))).toBe('expired')
  })

  it('rejects a certificate that is not yet valid, allowing the clock skew', () => {
    const start = cert.issuedAt * 1000
    expect(() => verifyCertificate(cert, { ...opts, now: start - 300_000 })).not.toThrow()
    expect(reason(() => verifyCertificate(cert, { ...opts, now: start - 301_000 }))).toBe('not-yet-valid')
  })

  it.each([
    ['network', { network: 'staging' }, { network: 'staging' }],
    ['peerId', { peerId: otherPeer }, { peerId: otherPeer }],
    ['issuedAt', { issuedAt: cert.issuedAt - 1 }, {}],
    ['expiresAt', { expiresAt: cert.expiresAt + 86_400 * 365 }, {}]
  ] as Array<[string, Partial<MembershipCertificate>, Partial<VerifyCertificateOptions>]>)(
    'rejects a tampered %s as a bad signature', (_field, patch, verifyPatch) => {
      expect(reason(() => verifyCertificate({ ...cert, ...patch }, { ...opts, ...verifyPatch }))).toBe('bad-signature')
    })

  it('rejects a signature with one flipped bit', () => {
    const sig = Buffer.from(cert.signature, 'base64url')
    sig[10] = (sig[10] ?? 0) ^ 0x01
    expect(reason(() => verifyCertificate({ ...cert, signature: b64url(sig) }, opts))).toBe('bad-signature')
  })

  it('rejects a non-canonical base64url spelling of a valid signature', () => {
    // The last character of 86 carries 2 bits; changing an unused bit keeps the bytes but not the text.
    const last = cert.signature.at(-1) ?? 'A'
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const twin = alphabet[alphabet.indexOf(last) ^ 1] ?? 'A'
    const respelled = cert.signature.slice(0, -1) + twin
    expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(cert.signature, 'base64url'))
    expect(reason(() => verifyCertificate({ ...cert, signature: respelled }, opts))).toBe('bad-signature')
  })

  it.each([
    ['not JSON', '{"version":1,', /not valid JSON/],
    ['an array', '[]', /malformed/],
    ['wrong version', JSON.stringify({ ...cert, version: 2 }), /version/],
    ['missing signature', JSON.stringify({ ...cert, signature: undefined }), /signature/],
    ['fractional expiry', JSON.stringify({ ...cert, expiresAt: cert.expiresAt + 0.5 }), /expiresAt/],
    ['extra field', JSON.stringify({ ...cert, admin: true }), /admin/],
    ['short ca', JSON.stringify({ ...cert, ca: 'abc' }), /ca/],
    ['empty network', JSON.stringify({ ...cert, network: '' }), /network/],
    ['expiry before issue', JSON.stringify({ ...cert, expiresAt: cert.issuedAt }), /expiresAt must be after issuedAt/]
  ])('decodeCertificate rejects %s as malformed, naming the problem', (_name, text, message) => {
    let caught: unknown
    try { decodeCertificate(text) } catch (err) { caught = err }
    expect(caught).toBeInstanceOf(MembershipError)
    expect((caught as MembershipError).reason).toBe('malformed')
    expect((caught as MembershipError).message).toMatch(message)
  })

  it('verifyCertificate rejects a structurally invalid object as malformed', () => {
    expect(reason(() => verifyCertificate({ ...cert, issuedAt: -1 }, opts))).toBe('malformed')
    expect(reason(() => verifyCertificate(null as unknown as MembershipCertificate, opts))).toBe('malformed')
  })

  it('refuses to issue for a bad peer id or validity', () => {
    const base = { caPrivateKeyPem: ca.privateKeyPem, network: 'prod', peerId, validForSeconds: 60 }
    expect(reason(() => issueCertificate({ ...base, peerId: 'not-a-peer' }))).toBe('malformed')
    expect(reason(() => issueCertificate({ ...base, validForSeconds: 0 }))).toBe('malformed')
    expect(reason(() => issueCertificate({ ...base, validForSeconds: 1.5 }))).toBe('malformed')
    expect(reason(() => issueCertificate({ ...base, network: '' }))).toBe('malformed')
  })
})
