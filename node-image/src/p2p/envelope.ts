import { domainSeparated } from '../identity/domain-separation.ts'
import { createPublicKey, getRandomValues, sign, verify, type KeyObject } from 'node:crypto'
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { describeIssues } from '../validation/schema-error.ts'
import { decodeBase64url, encodeBase64url } from '../identity/base64url.ts'
import { privateKeyObject, publicKeyObject, SEED_LENGTH } from '../identity/key-file.ts'
import { checkCertificateTime, MembershipCertificateSchema, MembershipError, verifyCertificate, type MembershipCertificate } from '../identity/membership.ts'
import { publicKeyFromPeerId } from '../identity/peer-id.ts'
import { ReplayMemory } from './replay-memory.ts'

/** In the order `open` checks them; also the metric label values. */
export const ENVELOPE_REJECT_REASONS = [
  'oversized',
  'malformed',
  'wrong-network',
  'stale',
  'not-a-member',
  'bad-signature',
  'replay'
] as const
export type EnvelopeRejectReason = typeof ENVELOPE_REJECT_REASONS[number]

export class EnvelopeRejectedError extends Error {
  readonly reason: EnvelopeRejectReason
  constructor (reason: EnvelopeRejectReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'EnvelopeRejectedError'
    this.reason = reason
  }
}

/** The caller asked to seal something that could never be opened. */
export class EnvelopeSealError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'EnvelopeSealError'
  }
}

export interface EnvelopeTrace {
  traceparent: string
  tracestate?: string
}

export interface OpenedEnvelope {
  type: string
  from: string
  /** Sender's clock, unix milliseconds. */
  ts: number
  nonce: string
  trace?: EnvelopeTrace
  body: Uint8Array
  cert: MembershipCertificate
}

export interface SealOptions {
  type: string
  network: string
  body: Uint8Array
  /** The node's 32-byte Ed25519 seed. */
  privateKey: Uint8Array
  peerId: string
  cert: MembershipCertificate
  trace?: EnvelopeTrace
  /** Unix milliseconds; defaults to Date.now(). */
  now?: number
}

export interface EnvelopeOpenerInit {
  network: string
  caPublicKey: Uint8Array
  maxBytes: number
  replayWindowMs: number
  /** Bound on remembered nonces. */
  maxRemembered?: number
  now?: () => number
}

const DOMAIN = new TextEncoder().encode('dawn/envelope/v1\n')
const NONCE_BYTES = 16
const SIGNATURE_BYTES = 64
const CERT_CACHE_MAX = 4096
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

const EnvelopeSchema = Type.Object({
  v: Type.Literal(1),
  type: Type.String({ minLength: 1, maxLength: 128 }),
  network: Type.String({ minLength: 1, maxLength: 256 }),
  from: Type.String({ minLength: 1, maxLength: 128 }),
  nonce: Type.String({ pattern: '^[A-Za-z0-9_-]{22}$' }),
  ts: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  trace: Type.Optional(Type.Object({
    traceparent: Type.String({ minLength: 1, maxLength: 512 }),
    tracestate: Type.Optional(Type.String({ maxLength: 1024 }))
  }, { additionalProperties: false })),
  cert: MembershipCertificateSchema,
  body: Type.String({ pattern: '^[A-Za-z0-9_-]*$' }),
  sig: Type.String({ pattern: '^[A-Za-z0-9_-]{86}$' })
}, { additionalProperties: false })
type WireEnvelope = Static<typeof EnvelopeSchema>

const checkEnvelope = Compile(EnvelopeSchema)

/** Seals with a key parsed from the seed on every call; a node keeps an EnvelopeSigner instead. */
export function sealEnvelope (opts: SealOptions): Uint8Array {
  return sealWith(signingKey(opts.privateKey, opts.peerId), opts)
}

/**
 * One node's signing key, parsed once. Held by the node, not a module global,
 * so stopping the node drops it (`forget`); sealing after that throws.
 */
export class EnvelopeSigner {
  readonly peerId: string
  #key?: KeyObject

  constructor (seed: Uint8Array, peerId: string) {
    this.#key = signingKey(seed, peerId)
    this.peerId = peerId
  }

  seal (opts: Omit<SealOptions, 'privateKey' | 'peerId'>): Uint8Array {
    if (this.#key === undefined) throw new EnvelopeSealError('the signing key was dropped: the node has stopped')
    return sealWith(this.#key, { ...opts, peerId: this.peerId })
  }

  forget (): void {
    this.#key = undefined
  }
}

function sealWith (key: KeyObject, opts: Omit<SealOptions, 'privateKey'>): Uint8Array {
  if (opts.cert.peerId !== opts.peerId) throw new EnvelopeSealError(`certificate is for ${opts.cert.peerId}, not ${opts.peerId}`)
  if (opts.cert.network !== opts.network) throw new EnvelopeSealError(`certificate is for network ${opts.cert.network}, not ${opts.network}`)
  const unsigned = {
    v: 1 as const,
    type: opts.type,
    network: opts.network,
    from: opts.peerId,
    nonce: encodeBase64url(getRandomValues(new Uint8Array(NONCE_BYTES))),
    ts: Math.floor(opts.now ?? Date.now()),
    ...(opts.trace === undefined ? {} : { trace: normalizeTrace(opts.trace) }),
    cert: normalizeCert(opts.cert),
    body: encodeBase64url(opts.body)
  }
  const sig = encodeBase64url(sign(null, signedBytes(unsigned), key))
  const wire: WireEnvelope = { ...unsigned, sig }
  if (!checkEnvelope.Check(wire)) {
    throw new EnvelopeSealError(`envelope would be rejected: ${firstIssue(checkEnvelope.Errors(wire))}`)
  }
  return new TextEncoder().encode(JSON.stringify(wire))
}

interface Member {
  /** Every certificate field, so a lookup by signature cannot be fooled by edited fields. */
  fingerprint: string
  key: KeyObject
}

/**
 * Opens envelopes for one network. Stateful: it remembers nonces to refuse
 * replays and caches verified certificates, so use one opener per node.
 */
export class EnvelopeOpener {
  private readonly network: string
  private readonly caPublicKey: Uint8Array
  private readonly maxBytes: number
  private readonly replayWindowMs: number
  private readonly now: () => number
  private readonly members = new Map<string, Member>()
  /**
   * `from nonce` of every envelope opened within the window. Once a nonce is forgotten
   * early to bound memory, envelopes at or before its timestamp cannot be proven fresh
   * and are refused as replays.
   */
  private readonly seen: ReplayMemory

  constructor (init: EnvelopeOpenerInit) {
    this.network = init.network
    this.caPublicKey = Uint8Array.from(init.caPublicKey)
    this.maxBytes = init.maxBytes
    this.replayWindowMs = init.replayWindowMs
    this.seen = new ReplayMemory(init.replayWindowMs, Math.max(1, init.maxRemembered ?? 100_000))
    this.now = init.now ?? Date.now
  }

  /** Throws EnvelopeRejectedError, and nothing else, for anything that is not a fresh, authentic envelope. */
  open (bytes: Uint8Array, expect?: { type?: string | string[], from?: string }): OpenedEnvelope {
    try {
      return this.openChecked(bytes, expect)
    } catch (err) {
      if (err instanceof EnvelopeRejectedError) throw err
      throw new EnvelopeRejectedError('malformed', 'envelope could not be processed', { cause: err })
    }
  }

  private openChecked (bytes: Uint8Array, expect?: { type?: string | string[], from?: string }): OpenedEnvelope {
    if (!(bytes instanceof Uint8Array)) throw new EnvelopeRejectedError('malformed', 'envelope is not bytes')
    if (bytes.byteLength > this.maxBytes) {
      throw new EnvelopeRejectedError('oversized', `envelope is ${bytes.byteLength} bytes, limit ${this.maxBytes}`)
    }
    const { env, body, sig } = parse(bytes)
    if (expect?.type !== undefined) {
      const allowed = Array.isArray(expect.type) ? expect.type : [expect.type]
      if (!allowed.includes(env.type)) throw new EnvelopeRejectedError('malformed', `unexpected message type ${JSON.stringify(env.type)}`)
    }
    if (env.network !== this.network) {
      throw new EnvelopeRejectedError('wrong-network', `envelope is for network ${JSON.stringify(env.network)}`)
    }
    const now = this.now()
    if (Math.abs(now - env.ts) > this.replayWindowMs) {
      throw new EnvelopeRejectedError('stale', `envelope timestamp is ${now - env.ts} ms from local time (window ${this.replayWindowMs} ms)`)
    }
    if (expect?.from !== undefined && env.from !== expect.from) {
      throw new EnvelopeRejectedError('not-a-member', `envelope claims to be from ${env.from} but arrived from ${expect.from}`)
    }
    const member = this.member(env.cert, env.from, now)
    if (!verifySignature(signedBytes(env), member.key, sig)) {
      throw new EnvelopeRejectedError('bad-signature', `envelope signature does not verify for ${env.from}`)
    }
    this.remember(env.from, env.nonce, env.ts, now)
    return {
      type: env.type,
      from: env.from,
      ts: env.ts,
      nonce: env.nonce,
      ...(env.trace === undefined ? {} : { trace: normalizeTrace(env.trace) }),
      body,
      cert: normalizeCert(env.cert)
    }
  }

  private member (cert: MembershipCertificate, from: string, now: number): Member {
    const fingerprint = certFingerprint(cert)
    const cached = this.members.get(cert.signature)
    if (cached !== undefined && cached.fingerprint === fingerprint) {
      // Authentic for this CA and network; who it names and when can still disqualify it.
      if (cert.peerId !== from) throw new EnvelopeRejectedError('not-a-member', `certificate is for ${cert.peerId}, not ${from}`)
      try {
        checkCertificateTime(cert, now)
      } catch (err) {
        throw asNotMember(err)
      }
      this.members.delete(cert.signature)
      this.members.set(cert.signature, cached)
      return cached
    }
    let key: KeyObject
    try {
      verifyCertificate(cert, { caPublicKey: this.caPublicKey, network: this.network, peerId: from, now })
      key = publicKeyObject(publicKeyFromPeerId(from))
    } catch (err) {
      throw asNotMember(err)
    }
    const member = { fingerprint, key }
    this.members.set(cert.signature, member)
    if (this.members.size > CERT_CACHE_MAX) {
      const oldest = this.members.keys().next()
      if (oldest.done !== true) this.members.delete(oldest.value)
    }
    return member
  }

  private remember (from: string, nonce: string, ts: number, now: number): void {
    const id = `${from} ${nonce}`
    this.seen.sweep(now)
    if (this.seen.check(id, ts) !== undefined) throw new EnvelopeRejectedError('replay', `envelope ${nonce} from ${from} was already received`)
    this.seen.remember(id, ts, now)
  }
}

function parse (bytes: Uint8Array): { env: WireEnvelope, body: Uint8Array, sig: Uint8Array } {
  let value: unknown
  try {
    value = JSON.parse(utf8.decode(bytes))
  } catch {
    throw new EnvelopeRejectedError('malformed', 'envelope is not UTF-8 JSON')
  }
  if (!checkEnvelope.Check(value)) {
    throw new EnvelopeRejectedError('malformed', `envelope is malformed: ${firstIssue(checkEnvelope.Errors(value))}`)
  }
  const nonce = decodeBase64url(value.nonce)
  const body = decodeBase64url(value.body)
  const sig = decodeBase64url(value.sig)
  if (nonce?.length !== NONCE_BYTES || body === undefined || sig?.length !== SIGNATURE_BYTES) {
    throw new EnvelopeRejectedError('malformed', 'envelope has non-canonical base64url')
  }
  return { env: value, body, sig }
}

function signedBytes (e: Omit<WireEnvelope, 'sig'>): Uint8Array {
  const trace = e.trace === undefined ? null : normalizeTrace(e.trace)
  return domainSeparated(DOMAIN, [e.v, e.type, e.network, e.from, e.nonce, e.ts, trace, e.body, e.cert.signature])
}

function verifySignature (message: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  try {
    return verify(null, message, key, sig)
  } catch {
    return false
  }
}

function signingKey (seed: Uint8Array, peerId: string): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) throw new EnvelopeSealError(`private key must be a ${SEED_LENGTH}-byte Ed25519 seed`)
  const key = privateKeyObject(seed)
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' })
  const expected = publicKeyFromPeerId(peerId)
  if (Buffer.compare(spki.subarray(spki.length - expected.length), expected) !== 0) {
    throw new EnvelopeSealError(`private key does not belong to ${peerId}`)
  }
  return key
}

// Fixed key order, so the signed JSON does not depend on how a caller built the object.
function normalizeTrace (t: EnvelopeTrace): EnvelopeTrace {
  return t.tracestate === undefined ? { traceparent: t.traceparent } : { traceparent: t.traceparent, tracestate: t.tracestate }
}

function normalizeCert (c: MembershipCertificate): MembershipCertificate {
  return { version: c.version, network: c.network, peerId: c.peerId, issuedAt: c.issuedAt, expiresAt: c.expiresAt, ca: c.ca, signature: c.signature }
}

function certFingerprint (c: MembershipCertificate): string {
  return JSON.stringify([c.version, c.network, c.peerId, c.issuedAt, c.expiresAt, c.ca, c.signature])
}

function asNotMember (err: unknown): EnvelopeRejectedError {
  if (err instanceof MembershipError) {
    return new EnvelopeRejectedError('not-a-member', `certificate rejected (${err.reason}): ${err.message}`, { cause: err })
  }
  return new EnvelopeRejectedError('not-a-member', 'sender identity is unusable', { cause: err })
}

// Field names can come off the wire: report one issue, clipped.
function firstIssue (errors: Parameters<typeof describeIssues>[0]): string {
  const issue = describeIssues(errors)[0] ?? 'does not match the schema'
  return issue.length > 200 ? `${issue.slice(0, 200)}...` : issue
}
