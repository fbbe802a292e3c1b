import { domainSeparated } from './domain-separation.ts'
import { ed25519 } from '@noble/curves/ed25519.js'
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { describeIssues } from '../validation/schema-error.ts'
import { decodeBase64url, encodeBase64url } from './base64url.ts'
import { decodePrivateKeyPem, encodePrivateKeyPem, encodePublicKeyPem, generateSeed, PUBLIC_KEY_LENGTH } from './key-file.ts'
import { publicKeyFromPeerId } from './peer-id.ts'

export const MEMBERSHIP_REJECT_REASONS = [
  'malformed',
  'wrong-ca',
  'bad-signature',
  'wrong-network',
  'wrong-peer',
  'expired',
  'not-yet-valid'
] as const
export type MembershipRejectReason = typeof MEMBERSHIP_REJECT_REASONS[number]

export class MembershipError extends Error {
  readonly reason: MembershipRejectReason
  constructor (reason: MembershipRejectReason, message: string) {
    super(message)
    this.name = 'MembershipError'
    this.reason = reason
  }
}

const DOMAIN = new TextEncoder().encode('dawn/membership/v1\n')
const DEFAULT_CLOCK_SKEW_SECONDS = 300

/** Exported so envelope schemas can embed the certificate. */
export const MembershipCertificateSchema = Type.Object({
  version: Type.Literal(1),
  network: Type.String({ minLength: 1, maxLength: 256 }),
  peerId: Type.String({ minLength: 1, maxLength: 128 }),
  issuedAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  expiresAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  // 32- and 64-byte values in unpadded base64url are exactly 43 and 86 characters.
  ca: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
  signature: Type.String({ pattern: '^[A-Za-z0-9_-]{86}$' })
}, { additionalProperties: false })

export type MembershipCertificate = Static<typeof MembershipCertificateSchema>

const checkSchema = Compile(MembershipCertificateSchema)

export interface VerifyCertificateOptions {
  caPublicKey: Uint8Array
  network: string
  /** When given, the certificate must be for this peer. */
  peerId?: string
  /** Unix milliseconds; defaults to Date.now(). */
  now?: number
  clockSkewSeconds?: number
}

export function createCa (): { privateKeyPem: string, publicKeyPem: string } {
  const seed = generateSeed()
  return { privateKeyPem: encodePrivateKeyPem(seed), publicKeyPem: encodePublicKeyPem(ed25519.getPublicKey(seed)) }
}

export function issueCertificate (opts: {
  caPrivateKeyPem: string
  network: string
  peerId: string
  validForSeconds: number
  /** Unix milliseconds; defaults to Date.now(). */
  now?: number
}): MembershipCertificate {
  const seed = decodePrivateKeyPem(opts.caPrivateKeyPem)
  if (typeof opts.network !== 'string' || opts.network.length === 0) throw new MembershipError('malformed', 'network must be a non-empty string')
  try {
    publicKeyFromPeerId(opts.peerId)
  } catch (err) {
    throw new MembershipError('malformed', `cannot certify peer: ${(err as Error).message}`)
  }
  if (!Number.isSafeInteger(opts.validForSeconds) || opts.validForSeconds <= 0) {
    throw new MembershipError('malformed', 'validForSeconds must be a positive whole number')
  }
  const issuedAt = Math.floor((opts.now ?? Date.now()) / 1000)
  const unsigned = {
    version: 1 as const,
    network: opts.network,
    peerId: opts.peerId,
    issuedAt,
    expiresAt: issuedAt + opts.validForSeconds,
    ca: encodeBase64url(ed25519.getPublicKey(seed))
  }
  const signature = encodeBase64url(ed25519.sign(signedBytes(unsigned), seed))
  const cert = { ...unsigned, signature }
  assertWellFormed(cert)
  return cert
}

export function encodeCertificate (cert: MembershipCertificate): string {
  const { version, network, peerId, issuedAt, expiresAt, ca, signature } = cert
  return JSON.stringify({ version, network, peerId, issuedAt, expiresAt, ca, signature }, null, 2) + '\n'
}

export function decodeCertificate (text: string): MembershipCertificate {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new MembershipError('malformed', 'certificate is not valid JSON')
  }
  assertWellFormed(value)
  return value
}

/** Throws MembershipError unless the certificate is CA-signed and valid now for this network (and peer). */
export function verifyCertificate (cert: MembershipCertificate, opts: VerifyCertificateOptions): void {
  assertWellFormed(cert)
  const ca = decodeBase64url(cert.ca)
  if (ca === undefined || opts.caPublicKey.length !== PUBLIC_KEY_LENGTH || !bytesEqual(ca, opts.caPublicKey)) {
    throw new MembershipError('wrong-ca', 'certificate was issued by a different CA')
  }
  const signature = decodeBase64url(cert.signature)
  if (signature === undefined || !verifySignature(signature, signedBytes(cert), ca)) {
    throw new MembershipError('bad-signature', 'certificate signature does not verify against the CA key')
  }
  // Everything below describes an authentic certificate, so the messages can be specific.
  if (cert.network !== opts.network) {
    throw new MembershipError('wrong-network', `certificate is for network ${JSON.stringify(cert.network)}, not ${JSON.stringify(opts.network)}`)
  }
  if (opts.peerId !== undefined && cert.peerId !== opts.peerId) {
    throw new MembershipError('wrong-peer', `certificate is for peer ${cert.peerId}, not ${clip(opts.peerId)}`)
  }
  checkCertificateTime(cert, opts.now ?? Date.now(), opts.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS)
}

/**
 * The time-dependent part of verification, for callers that cache a verified
 * certificate and must still notice when it expires.
 */
export function checkCertificateTime (cert: Pick<MembershipCertificate, 'issuedAt' | 'expiresAt'>, nowMs: number, clockSkewSeconds = DEFAULT_CLOCK_SKEW_SECONDS): void {
  const now = nowMs / 1000
  if (now + clockSkewSeconds < cert.issuedAt) {
    throw new MembershipError('not-yet-valid', `certificate is not valid until ${new Date(cert.issuedAt * 1000).toISOString()}`)
  }
  if (now - clockSkewSeconds >= cert.expiresAt) {
    throw new MembershipError('expired', `certificate expired at ${new Date(cert.expiresAt * 1000).toISOString()}`)
  }
}

function signedBytes (c: Omit<MembershipCertificate, 'signature'>): Uint8Array {
  return domainSeparated(DOMAIN, [c.version, c.network, c.peerId, c.issuedAt, c.expiresAt, c.ca])
}

function verifySignature (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    // Strict RFC 8032 rules (not ZIP-215): one valid encoding per signature, as OpenSSL.
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

function assertWellFormed (value: unknown): asserts value is MembershipCertificate {
  if (!checkSchema.Check(value)) {
    throw new MembershipError('malformed', `certificate is malformed: ${firstIssue(checkSchema.Errors(value))}`)
  }
  if (value.expiresAt <= value.issuedAt) {
    throw new MembershipError('malformed', 'certificate is malformed: expiresAt must be after issuedAt')
  }
}

// Field names can come off the wire: report one issue, clipped.
function firstIssue (errors: Parameters<typeof describeIssues>[0]): string {
  const issue = describeIssues(errors)[0] ?? 'does not match the schema'
  return issue.length > 200 ? `${issue.slice(0, 200)}...` : issue
}

function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0)
  return diff === 0
}

function clip (s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}...` : s
}
