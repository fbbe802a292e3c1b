/**
 * End-to-end encryption of routed calls between a caller A and a host B, so
 * relays see only ciphertext. The handshake is IK-like, as WireGuard's first
 * message: A knows B's static key (its peer id), sends a fresh ephemeral eA with
 * the first request of a session, and B answers with its own ephemeral eB.
 *
 *   static X25519 key S = Montgomery form of the node's Ed25519 key
 *   kReq  = HKDF(DH(eA, S_B) || DH(S_A, S_B), salt eA || S_B, "dawn/e2e/v1/request\nA\nB")
 *   kResp = HKDF(DH(eB, eA) || kReq,          salt eA || eB,  "dawn/e2e/v1/response\nA\nB")
 *   request  = 1 | ts u64 BE ms | eA (32) | nonce (12) | AES-256-GCM(kReq)   AAD header || aad
 *   response = 1 | eB (32) | nonce (12) | AES-256-GCM(kResp)                 AAD header || request nonce || aad
 *
 * Forward secrecy: a response is safe against later compromise of both static
 * keys once eA and eB are dropped (session rotation, sweep). A request is safe
 * against later compromise of A's static key, but not of B's: S_B with eA from
 * the wire gives kReq back (the same trade-off as Noise IK / WireGuard message 1).
 *
 * Keys are derived once per session; steady-state calls do no DH, only AES-GCM.
 * Session keys are held as secret KeyObjects: node:crypto sets up a cipher ~10x
 * faster from one than from raw bytes.
 * Nothing here logs or prints key material: keys live in private fields and in
 * closures, and error messages name peers and reasons only.
 */
import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, hkdfSync, randomFillSync, type KeyObject } from 'node:crypto'
import { ed25519 } from '@noble/curves/ed25519.js'
import { SEED_LENGTH } from '../identity/key-file.ts'
import { PeerIdError, peerIdFromSeed, publicKeyFromPeerId } from '../identity/peer-id.ts'
import { ReplayMemory } from '../p2p/replay-memory.ts'

export const E2E_REJECT_REASONS = ['malformed', 'version', 'stale', 'replay', 'decrypt', 'wrong-peer'] as const
export type E2ERejectReason = typeof E2E_REJECT_REASONS[number]

export class E2EError extends Error {
  readonly reason: E2ERejectReason
  constructor (reason: E2ERejectReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'E2EError'
    this.reason = reason
  }
}

export interface E2ECipherInit {
  peerId: string
  /** The node's 32-byte Ed25519 seed; only its X25519 form is kept. */
  seed: Uint8Array
  /** A caller rotates its ephemeral key for a peer after this long (and the host its reply key). */
  sessionTtlMs?: number
  /** ...or after this many messages under one ephemeral key. */
  maxSessionUses?: number
  /** Requests whose timestamp is further than this from now are 'stale'. */
  replayWindowMs?: number
  /** Replay memory bound, in requests. */
  maxRemembered?: number
  now?: () => number
}

export interface SealedRequest {
  frame: Uint8Array
  /** Opens the response to this request, once; throws E2EError. */
  openResponse: (frame: Uint8Array) => Uint8Array
  /**
   * Opens an event frame sent before the response, sealed like it (sealResponse). Any
   * number may arrive; their order and uniqueness are the wire's job (seq, envelope replay).
   */
  openEvent: (frame: Uint8Array) => Uint8Array
}

export interface OpenedRequest {
  plaintext: Uint8Array
  /** Encrypts the reply, bound to this request. */
  sealResponse: (plaintext: Uint8Array) => Uint8Array
}

export const E2E_VERSION = 1
const KEY_LEN = 32
const NONCE_LEN = 12
const TAG_LEN = 16
const TS_LEN = 8
const REQ_EPH = 1 + TS_LEN
const REQ_NONCE = REQ_EPH + KEY_LEN
const REQ_HEADER = REQ_NONCE + NONCE_LEN
const RESP_NONCE = 1 + KEY_LEN
const RESP_HEADER = RESP_NONCE + NONCE_LEN

// Bounds on caches whose entries are only a recomputation away.
const MAX_PEERS = 10_000
const MAX_RESPONDER_SESSIONS = 10_000
const MAX_RESPONSE_KEYS = 16

// RFC 8410 DER around a raw X25519 key: a constant prefix, as in key-file.ts.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')

const REQUEST_INFO = 'dawn/e2e/v1/request\n'
const RESPONSE_INFO = 'dawn/e2e/v1/response\n'

// ---- primitives (exported for the known-answer tests) ----------------------

export function hkdf (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array | string, length: number): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length))
}

/** AES-256-GCM; returns ciphertext || 16-byte tag. */
export function gcmSeal (key: Uint8Array | KeyObject, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + TAG_LEN)
  sealInto(key, nonce, aad, plaintext, out, 0)
  return out
}

/** Opens ciphertext || tag; throws E2EError('decrypt') when authentication fails. */
export function gcmOpen (key: Uint8Array | KeyObject, nonce: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.length < TAG_LEN) throw new E2EError('malformed', 'ciphertext is shorter than its tag')
  const body = sealed.subarray(0, sealed.length - TAG_LEN)
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN })
  decipher.setAAD(aad)
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_LEN))
  const plaintext = decipher.update(body)
  try {
    decipher.final()
  } catch {
    throw new E2EError('decrypt', 'message failed authentication')
  }
  return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength)
}

/** X25519 through node:crypto, the path the cipher uses; raw 32-byte keys in and out. */
export function x25519SharedSecret (privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return dh(x25519PrivateKey(privateKey), x25519PublicKey(publicKey))
}

export function x25519PublicFromPrivate (privateKey: Uint8Array): Uint8Array {
  return rawPublic(createPublicKey(x25519PrivateKey(privateKey)))
}

function sealInto (key: Uint8Array | KeyObject, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): void {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_LEN })
  cipher.setAAD(aad)
  const body = cipher.update(plaintext)
  cipher.final()
  out.set(body, offset)
  out.set(cipher.getAuthTag(), offset + body.length)
}

function x25519PrivateKey (raw: Uint8Array): KeyObject {
  const der = Buffer.concat([X25519_PKCS8_PREFIX, raw])
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
  } finally {
    der.fill(0)
  }
}

function x25519PublicKey (raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
}

// JWK export is ~30x cheaper than DER in node:crypto, and `x` is the raw key.
function rawPublic (key: KeyObject): Uint8Array {
  const raw = new Uint8Array(Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url'))
  if (raw.length !== KEY_LEN) throw new Error('X25519 public key did not export as 32 bytes')
  return raw
}

/** Throws (OpenSSL) when the result is all zero, i.e. the public key has small order. */
function dh (privateKey: KeyObject, publicKey: KeyObject): Buffer {
  return diffieHellman({ privateKey, publicKey })
}

// ---- sessions and replay memory ---------------------------------------------

interface PeerKeys {
  /** X25519 public key of the peer, raw. */
  publicRaw: Uint8Array
  publicKey: KeyObject
  /** DH(S_self, S_peer): fixed for the pair, so computed once. */
  staticShared: Buffer
}

interface CallerSession {
  to: string
  ePrivate: KeyObject
  ePublic: Uint8Array
  kReq: KeyObject
  createdAt: number
  uses: number
  /** kResp per eB; filled only after a response authenticated. */
  responseKeys: Map<string, KeyObject>
}

interface ResponderKey {
  ePublic: Uint8Array
  kResp: KeyObject
  createdAt: number
  uses: number
}

interface ResponderSession {
  from: string
  peerEPublic: Uint8Array
  peerEKey: KeyObject
  kReq: KeyObject
  expiresAt: number
  /** Created on the first response; its private half is dropped right after deriving kResp. */
  reply: ResponderKey | undefined
}

// ---- the cipher ---------------------------------------------------------------

/** One per node: seals requests as the caller and opens them as the host. */
export class E2ECipher {
  readonly peerId: string
  readonly #staticPrivate: KeyObject
  readonly #staticPublic: Uint8Array
  readonly #sessionTtlMs: number
  readonly #maxSessionUses: number
  readonly #windowMs: number
  readonly #now: () => number
  readonly #peers = new Map<string, PeerKeys>()
  readonly #callerSessions = new Map<string, CallerSession>()
  readonly #responderSessions = new Map<string, ResponderSession>()
  readonly #replay: ReplayMemory

  constructor (init: E2ECipherInit) {
    if (!(init.seed instanceof Uint8Array) || init.seed.length !== SEED_LENGTH) {
      throw new RangeError(`Ed25519 seed must be ${SEED_LENGTH} bytes`)
    }
    if (peerIdFromSeed(init.seed) !== init.peerId) {
      throw new E2EError('wrong-peer', `peer id ${printable(init.peerId)} does not belong to the given seed`)
    }
    this.peerId = init.peerId
    this.#sessionTtlMs = positive(init.sessionTtlMs ?? 60_000, 'sessionTtlMs')
    this.#maxSessionUses = positive(init.maxSessionUses ?? 100_000, 'maxSessionUses')
    this.#windowMs = positive(init.replayWindowMs ?? 120_000, 'replayWindowMs')
    this.#replay = new ReplayMemory(this.#windowMs, positive(init.maxRemembered ?? 100_000, 'maxRemembered'))
    this.#now = init.now ?? Date.now
    const secret = ed25519.utils.toMontgomerySecret(init.seed)
    this.#staticPrivate = x25519PrivateKey(secret)
    secret.fill(0)
    this.#staticPublic = ed25519.utils.toMontgomery(publicKeyFromPeerId(init.peerId))
  }

  /** Caller side: encrypts a request for `to`; `openResponse` decrypts that request's response. */
  sealRequest (to: string, plaintext: Uint8Array, aad: Uint8Array): SealedRequest {
    const now = Math.floor(this.#now())
    const session = this.#callerSession(to, now)
    session.uses++
    const frame = new Uint8Array(REQ_HEADER + plaintext.length + TAG_LEN)
    frame[0] = E2E_VERSION
    writeUint64(frame, 1, now)
    frame.set(session.ePublic, REQ_EPH)
    takeNonce(frame, REQ_NONCE)
    const header = frame.subarray(0, REQ_HEADER)
    sealInto(session.kReq, header.subarray(REQ_NONCE), Buffer.concat([header, aad]), plaintext, frame, REQ_HEADER)
    // Copies: the caller may reuse its buffers before the response arrives.
    const requestNonce = copy(frame.subarray(REQ_NONCE, REQ_HEADER))
    const aadCopy = copy(aad)
    let opened = false
    return {
      frame,
      openResponse: (response: Uint8Array): Uint8Array => {
        if (opened) throw new E2EError('replay', 'the response to this request was already opened')
        const plain = this.#openResponse(session, requestNonce, aadCopy, response)
        opened = true
        return plain
      },
      openEvent: (event: Uint8Array): Uint8Array => {
        if (opened) throw new E2EError('replay', 'an event arrived after the response')
        return this.#openResponse(session, requestNonce, aadCopy, event)
      }
    }
  }

  /** Responder side: decrypts a request from `from`; `sealResponse` encrypts the reply to it. */
  openRequest (from: string, frame: Uint8Array, aad: Uint8Array): OpenedRequest {
    const now = this.#now()
    checkFrame(frame, REQ_HEADER, 'request')
    const ts = readUint64(frame, 1)
    if (!(Math.abs(now - ts) <= this.#windowMs)) {
      throw new E2EError('stale', 'request timestamp is outside the replay window')
    }
    const header = frame.subarray(0, REQ_HEADER)
    const replayKey = latin1(frame.subarray(REQ_EPH, REQ_HEADER))
    const seen = this.#replay.check(replayKey, ts)
    if (seen === 'replay') throw new E2EError('replay', 'request was already received')
    if (seen !== undefined) throw new E2EError(seen, 'request is older than the replay memory still covers')

    const ePublic = frame.subarray(REQ_EPH, REQ_NONCE)
    const sessionKey = `${from}\n${latin1(ePublic)}`
    let session = this.#responderSessions.get(sessionKey)
    if (session !== undefined && session.expiresAt <= now) session = undefined
    let fresh: ResponderSession | undefined
    if (session === undefined) {
      const peer = this.#peer(from)
      const peerEKey = importEphemeral(ePublic)
      const staticEphemeral = dhOrReject(this.#staticPrivate, peerEKey, 'malformed', 'request ephemeral key is unusable')
      const kReq = deriveKey(
        Buffer.concat([staticEphemeral, peer.staticShared]),
        Buffer.concat([ePublic, this.#staticPublic]),
        `${REQUEST_INFO}${from}\n${this.peerId}`
      )
      staticEphemeral.fill(0)
      fresh = { from, peerEPublic: copy(ePublic), peerEKey, kReq, expiresAt: 0, reply: undefined }
      session = fresh
    }

    const plaintext = gcmOpen(session.kReq, header.subarray(REQ_NONCE), Buffer.concat([header, aad]), frame.subarray(REQ_HEADER))
    // Authenticated from here on: only now may the request take memory.
    this.#replay.remember(replayKey, ts, now)
    if (fresh !== undefined) {
      if (this.#responderSessions.size >= MAX_RESPONDER_SESSIONS) this.#responderSessions.delete(firstKey(this.#responderSessions))
      this.#responderSessions.set(sessionKey, fresh)
    }
    session.expiresAt = now + this.#windowMs
    const requestNonce = copy(frame.subarray(REQ_NONCE, REQ_HEADER))
    const aadCopy = copy(aad)
    const bound = session
    return {
      plaintext,
      sealResponse: (reply: Uint8Array): Uint8Array => this.#sealResponse(bound, requestNonce, aadCopy, reply)
    }
  }

  /** Drops expired sessions and replay entries; call periodically. */
  sweep (): void {
    const now = this.#now()
    for (const [key, session] of this.#callerSessions) {
      if (this.#callerExpired(session, now)) this.#callerSessions.delete(key)
    }
    for (const [key, session] of this.#responderSessions) {
      if (session.expiresAt <= now) this.#responderSessions.delete(key)
    }
    this.#replay.sweep(now)
  }

  toJSON (): { peerId: string } {
    return { peerId: this.peerId }
  }

  [Symbol.for('nodejs.util.inspect.custom')] (): string {
    return `E2ECipher(${this.peerId})`
  }

  #callerExpired (session: CallerSession, now: number): boolean {
    return now - session.createdAt >= this.#sessionTtlMs || session.uses >= this.#maxSessionUses
  }

  #callerSession (to: string, now: number): CallerSession {
    const existing = this.#callerSessions.get(to)
    if (existing !== undefined && !this.#callerExpired(existing, now)) return existing
    const peer = this.#peer(to)
    const { privateKey, publicKey } = generateKeyPairSync('x25519')
    const ePublic = rawPublic(publicKey)
    const ephemeralStatic = dhOrReject(privateKey, peer.publicKey, 'wrong-peer', `cannot agree on a key with ${printable(to)}`)
    const kReq = deriveKey(
      Buffer.concat([ephemeralStatic, peer.staticShared]),
      Buffer.concat([ePublic, peer.publicRaw]),
      `${REQUEST_INFO}${this.peerId}\n${to}`
    )
    ephemeralStatic.fill(0)
    const session: CallerSession = { to, ePrivate: privateKey, ePublic, kReq, createdAt: now, uses: 0, responseKeys: new Map() }
    this.#callerSessions.set(to, session)
    return session
  }

  #openResponse (session: CallerSession, requestNonce: Uint8Array, aad: Uint8Array, frame: Uint8Array): Uint8Array {
    checkFrame(frame, RESP_HEADER, 'response')
    const header = frame.subarray(0, RESP_HEADER)
    const eB = frame.subarray(1, RESP_NONCE)
    const id = latin1(eB)
    let kResp = session.responseKeys.get(id)
    const fresh = kResp === undefined
    if (kResp === undefined) {
      const shared = dhOrReject(session.ePrivate, importEphemeral(eB), 'malformed', 'response ephemeral key is unusable')
      kResp = responseKey(shared, session.kReq, session.ePublic, eB, `${RESPONSE_INFO}${this.peerId}\n${session.to}`)
    }
    const plaintext = gcmOpen(kResp, header.subarray(RESP_NONCE), Buffer.concat([header, requestNonce, aad]), frame.subarray(RESP_HEADER))
    if (fresh) {
      if (session.responseKeys.size >= MAX_RESPONSE_KEYS) session.responseKeys.clear()
      session.responseKeys.set(id, kResp)
    }
    return plaintext
  }

  #sealResponse (session: ResponderSession, requestNonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    const now = this.#now()
    let reply = session.reply
    if (reply === undefined || now - reply.createdAt >= this.#sessionTtlMs || reply.uses >= this.#maxSessionUses) {
      const { privateKey, publicKey } = generateKeyPairSync('x25519')
      const ePublic = rawPublic(publicKey)
      // eA was usable for the request, so this DH cannot hit a small-order point.
      const shared = dh(privateKey, session.peerEKey)
      const kResp = responseKey(shared, session.kReq, session.peerEPublic, ePublic, `${RESPONSE_INFO}${session.from}\n${this.peerId}`)
      reply = { ePublic, kResp, createdAt: now, uses: 0 }
      session.reply = reply
    }
    reply.uses++
    const frame = new Uint8Array(RESP_HEADER + plaintext.length + TAG_LEN)
    frame[0] = E2E_VERSION
    frame.set(reply.ePublic, 1)
    takeNonce(frame, RESP_NONCE)
    const header = frame.subarray(0, RESP_HEADER)
    sealInto(reply.kResp, header.subarray(RESP_NONCE), Buffer.concat([header, requestNonce, aad]), plaintext, frame, RESP_HEADER)
    return frame
  }

  #peer (peerId: string): PeerKeys {
    const cached = this.#peers.get(peerId)
    if (cached !== undefined) return cached
    let publicRaw: Uint8Array
    try {
      publicRaw = ed25519.utils.toMontgomery(publicKeyFromPeerId(peerId))
    } catch (err) {
      // noble's messages quote the offending point; keep key bytes out of errors.
      throw new E2EError('wrong-peer', `peer id ${printable(peerId)} has no usable Ed25519 key`, err instanceof PeerIdError ? { cause: err } : undefined)
    }
    const publicKey = x25519PublicKey(publicRaw)
    const staticShared = dhOrReject(this.#staticPrivate, publicKey, 'wrong-peer', `peer id ${printable(peerId)} has a small-order key`)
    const keys: PeerKeys = { publicRaw, publicKey, staticShared }
    if (this.#peers.size >= MAX_PEERS) this.#peers.delete(firstKey(this.#peers))
    this.#peers.set(peerId, keys)
    return keys
  }
}

function deriveKey (ikm: Buffer, salt: Uint8Array, info: string): KeyObject {
  const raw = hkdf(ikm, salt, info, KEY_LEN)
  ikm.fill(0)
  try {
    return createSecretKey(raw)
  } finally {
    raw.fill(0)
  }
}

/** kResp = HKDF(DH(eB, eA) || kReq, salt eA || eB, info); wipes `shared`. */
function responseKey (shared: Buffer, kReq: KeyObject, eA: Uint8Array, eB: Uint8Array, info: string): KeyObject {
  const kReqRaw = kReq.export()
  const ikm = Buffer.concat([shared, kReqRaw])
  shared.fill(0)
  kReqRaw.fill(0)
  return deriveKey(ikm, Buffer.concat([eA, eB]), info)
}

// Random nonces drawn from a refilled pool: one randomFillSync per 12 bytes
// costs more than the AES-GCM of a small message.
const noncePool = new Uint8Array(NONCE_LEN * 512)
let noncePoolUsed = noncePool.length

function takeNonce (out: Uint8Array, offset: number): void {
  if (noncePoolUsed === noncePool.length) {
    randomFillSync(noncePool)
    noncePoolUsed = 0
  }
  out.set(noncePool.subarray(noncePoolUsed, noncePoolUsed + NONCE_LEN), offset)
  noncePoolUsed += NONCE_LEN
}

function checkFrame (frame: unknown, headerLength: number, what: string): asserts frame is Uint8Array {
  if (!(frame instanceof Uint8Array) || frame.length === 0) throw new E2EError('malformed', `${what} frame is empty`)
  if (frame[0] !== E2E_VERSION) throw new E2EError('version', `${what} frame has unsupported version ${frame[0] ?? 0}`)
  if (frame.length < headerLength + TAG_LEN) throw new E2EError('malformed', `${what} frame is truncated (${frame.length} bytes)`)
}

function importEphemeral (raw: Uint8Array): KeyObject {
  // Any 32 bytes import as an X25519 public key; bad points fail in dh().
  return x25519PublicKey(raw)
}

function dhOrReject (privateKey: KeyObject, publicKey: KeyObject, reason: E2ERejectReason, message: string): Buffer {
  try {
    return dh(privateKey, publicKey)
  } catch {
    throw new E2EError(reason, message)
  }
}

function writeUint64 (out: Uint8Array, offset: number, value: number): void {
  const hi = Math.floor(value / 0x1_0000_0000)
  const lo = value >>> 0
  out[offset] = hi >>> 24
  out[offset + 1] = hi >>> 16
  out[offset + 2] = hi >>> 8
  out[offset + 3] = hi
  out[offset + 4] = lo >>> 24
  out[offset + 5] = lo >>> 16
  out[offset + 6] = lo >>> 8
  out[offset + 7] = lo
}

/** Exact below 2^53; anything larger is stale anyway. */
function readUint64 (bytes: Uint8Array, offset: number): number {
  let value = 0
  for (let i = 0; i < TS_LEN; i++) value = value * 256 + (bytes[offset + i] as number)
  return value
}

/** A real copy even for a Buffer, whose slice() is a view. */
function copy (bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}

function latin1 (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

function firstKey (map: Map<string, unknown>): string {
  return map.keys().next().value as string
}

function positive (value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number`)
  return value
}

// Peer ids come from the caller and the wire; keep messages short and single-line.
function printable (value: unknown): string {
  if (typeof value !== 'string') return `(${typeof value})`
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value)
}
