/**
 * A room message: an immutable record signed by the node that wrote it, with
 * the author's membership certificate, so it proves itself to any node that
 * holds it, however it travelled. `RoomMessageVerifier.verify` is the one
 * door for records from peers or disk and throws RoomMessageRejectedError and
 * nothing else, checking in the order of ROOM_REJECT_REASONS (the last one,
 * equivocation, needs the log and is thrown there).
 */
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { checkCertificateTime, MembershipCertificateSchema, MembershipError, verifyCertificate, type MembershipCertificate } from '../identity/membership.ts'
import { decodeBase64url, encodeBase64url } from '../identity/base64url.ts'
import { verifyNodeSignature, type NodeSigner } from '../identity/node-signer.ts'
import { describeIssues } from '../validation/schema-error.ts'
import { LruMap } from '../p2p/lru-map.ts'
import { parseCid } from '../storage/cid-text.ts'
import { MAX_COUNTER, MAX_MS } from './hlc.ts'
import { ROOM_LIMITS } from './room-limits.ts'

export const ROOM_REJECT_REASONS = ['oversized', 'malformed', 'wrong-network', 'unknown-room', 'not-a-member', 'bad-signature', 'future', 'equivocation'] as const
export type RoomRejectReason = typeof ROOM_REJECT_REASONS[number]

export class RoomMessageRejectedError extends Error {
  readonly reason: RoomRejectReason
  constructor (reason: RoomRejectReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RoomMessageRejectedError'
    this.reason = reason
  }
}

const BASE58 = '[1-9A-HJ-NP-Za-km-z]{40,80}'
export const NODE_ID = `^${BASE58}$`
export const ROOM_ID = `^(room:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?|dm:${BASE58}:${BASE58})$`
export const MAX_SEQ = 9_999_999_999
export const INC_PATTERN = '^[0-9a-f]{8,32}$'
export const NONCE_PATTERN = '^[A-Za-z0-9_-]{16,64}$'
export const FILE_TYPE_PATTERN = '^[a-z]+/[a-z0-9.+-]{1,100}$'
// No control characters, no path separators: a name is shown and offered as a download name only.
export const FILE_NAME_PATTERN = '^[^\\u0000-\\u001f\\u007f/\\\\]{1,255}$'

export const RoomFile = Type.Object({
  cid: Type.String({ minLength: 1, maxLength: 256 }),
  name: Type.String({ pattern: FILE_NAME_PATTERN, maxLength: ROOM_LIMITS.maxFileName }),
  size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  type: Type.String({ pattern: FILE_TYPE_PATTERN, maxLength: 128 })
}, { additionalProperties: false })
export type RoomFile = Static<typeof RoomFile>

export const RoomMessageSchema = Type.Object({
  v: Type.Literal(1),
  network: Type.String({ minLength: 1, maxLength: 256 }),
  room: Type.String({ pattern: ROOM_ID, maxLength: 200 }),
  author: Type.String({ pattern: NODE_ID }),
  inc: Type.String({ pattern: INC_PATTERN }),
  seq: Type.Integer({ minimum: 1, maximum: MAX_SEQ }),
  hlc: Type.Object({ ms: Type.Integer({ minimum: 0, maximum: MAX_MS }), c: Type.Integer({ minimum: 0, maximum: MAX_COUNTER }) }, { additionalProperties: false }),
  nonce: Type.String({ pattern: NONCE_PATTERN }),
  nick: Type.String({ maxLength: ROOM_LIMITS.maxNick }),
  kind: Type.Union([Type.Literal('text'), Type.Literal('file')]),
  text: Type.String({ maxLength: ROOM_LIMITS.maxTextBytes }),
  files: Type.Optional(Type.Array(RoomFile, { minItems: 1, maxItems: ROOM_LIMITS.maxFiles })),
  /** DM rooms: text and files sealed to the two ends (dm-seal), base64url */
  sealed: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]+$', maxLength: 32 * 1024 })),
  cert: MembershipCertificateSchema,
  sig: Type.String({ pattern: '^[A-Za-z0-9_-]{86}$' })
}, { additionalProperties: false })

export type RoomMessage = Static<typeof RoomMessageSchema>
export type UnsignedRoomMessage = Omit<RoomMessage, 'sig'>

const checkSchema = Compile(RoomMessageSchema)
const DOMAIN = new TextEncoder().encode('dawn/room-message/v1\n')
const CERT_CACHE_MAX = 4096

/** `<author>.<incarnation>`: one run of one node, whose seqs are dense. */
export function replicaOf (m: Pick<RoomMessage, 'author' | 'inc'>): string {
  return `${m.author}.${m.inc}`
}

/** `<author>.<incarnation>@<seq>`, as registry dots are written. */
export function messageId (m: Pick<RoomMessage, 'author' | 'inc' | 'seq'>): string {
  return `${replicaOf(m)}@${m.seq}`
}

/** Sorts lexically into the one order every node shows; it is also the paging cursor. */
export function orderKey (m: Pick<RoomMessage, 'hlc' | 'author' | 'inc' | 'seq'>): string {
  return `${String(m.hlc.ms).padStart(13, '0')}.${String(m.hlc.c).padStart(5, '0')}.${m.author}.${m.inc}.${String(m.seq).padStart(10, '0')}`
}

export function networkRoom (network: string): string {
  return `room:${network}`
}

/** The DM room of two nodes: the same id whichever end names it. */
export function dmRoom (a: string, b: string): string {
  return a < b ? `dm:${a}:${b}` : `dm:${b}:${a}`
}

/** The two ends of a DM room, or undefined for any other room id. */
export function dmParties (room: string): [string, string] | undefined {
  const m = /^dm:([^:]+):([^:]+)$/.exec(room)
  return m === null ? undefined : [m[1] as string, m[2] as string]
}

function signedFields (m: UnsignedRoomMessage): unknown[] {
  const files = m.files === undefined ? null : m.files.map(f => [f.cid, f.name, f.size, f.type])
  return [m.v, m.network, m.room, m.author, m.inc, m.seq, m.hlc.ms, m.hlc.c, m.nonce, m.nick, m.kind, m.text, files, m.sealed ?? null, m.cert.signature]
}

/** Signs a record this node wrote; the fields are copied in a fixed key order. */
export function signRoomMessage (unsigned: UnsignedRoomMessage, signer: NodeSigner): RoomMessage {
  const m = normalize(unsigned)
  if (m.author !== signer.peerId) throw new Error(`cannot sign a message by ${m.author} as ${signer.peerId}`)
  return { ...m, sig: encodeBase64url(signer.sign(DOMAIN, signedFields(m))) }
}

export function encodeRoomMessage (m: RoomMessage): string {
  return JSON.stringify(m)
}

function normalize (m: UnsignedRoomMessage): UnsignedRoomMessage {
  const c: MembershipCertificate = m.cert
  return {
    v: 1,
    network: m.network,
    room: m.room,
    author: m.author,
    inc: m.inc,
    seq: m.seq,
    hlc: { ms: m.hlc.ms, c: m.hlc.c },
    nonce: m.nonce,
    nick: m.nick,
    kind: m.kind,
    text: m.text,
    ...(m.files === undefined ? {} : { files: m.files.map(f => ({ cid: f.cid, name: f.name, size: f.size, type: f.type })) }),
    ...(m.sealed === undefined ? {} : { sealed: m.sealed }),
    cert: { version: c.version, network: c.network, peerId: c.peerId, issuedAt: c.issuedAt, expiresAt: c.expiresAt, ca: c.ca, signature: c.signature }
  }
}

export interface RoomMessageVerifierInit {
  network: string
  caPublicKey: Uint8Array
  now?: () => number
}

/** Checks records for one network; caches certificates it has verified (keyed by every field). */
export class RoomMessageVerifier {
  private readonly init: RoomMessageVerifierInit
  private readonly now: () => number
  private readonly certs = new LruMap<string, true>(CERT_CACHE_MAX)

  constructor (init: RoomMessageVerifierInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  /** Returns the record, normalized, or throws RoomMessageRejectedError (and nothing else). */
  verify (value: unknown): RoomMessage {
    try {
      return this.check(value)
    } catch (err) {
      if (err instanceof RoomMessageRejectedError) throw err
      throw new RoomMessageRejectedError('malformed', 'record could not be processed', { cause: err })
    }
  }

  private check (value: unknown): RoomMessage {
    const bytes = value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value))
    if (bytes > ROOM_LIMITS.maxRecordBytes) throw new RoomMessageRejectedError('oversized', `record is ${bytes} bytes, limit ${ROOM_LIMITS.maxRecordBytes}`)
    if (!checkSchema.Check(value)) throw new RoomMessageRejectedError('malformed', `record is malformed: ${clip(describeIssues(checkSchema.Errors(value))[0] ?? 'does not match the schema')}`)
    checkShape(value)
    if (value.network !== this.init.network) throw new RoomMessageRejectedError('wrong-network', `record is for network ${clip(JSON.stringify(value.network))}`)
    const parties = dmParties(value.room)
    if (parties === undefined ? value.room !== networkRoom(this.init.network) : !(parties[0] < parties[1])) {
      throw new RoomMessageRejectedError('unknown-room', `no room ${clip(value.room)} in this network`)
    }
    if (parties !== undefined && !parties.includes(value.author)) throw new RoomMessageRejectedError('not-a-member', `${value.author} is not an end of ${value.room}`)
    this.checkCert(value.cert, value.author, value.hlc.ms)
    const sig = decodeBase64url(value.sig)
    if (sig === undefined || !verifyNodeSignature(value.author, DOMAIN, signedFields(value), sig)) {
      throw new RoomMessageRejectedError('bad-signature', `record signature does not verify for ${value.author}`)
    }
    const ahead = value.hlc.ms - this.now()
    if (ahead > ROOM_LIMITS.futureSkewMs) throw new RoomMessageRejectedError('future', `record is stamped ${ahead} ms ahead of local time`)
    return { ...normalize(value), sig: value.sig }
  }

  /** The certificate must have been valid when the message was written, not now: history outlives certificates. */
  private checkCert (cert: MembershipCertificate, author: string, atMs: number): void {
    const fingerprint = JSON.stringify([cert.version, cert.network, cert.peerId, cert.issuedAt, cert.expiresAt, cert.ca, cert.signature])
    try {
      if (this.certs.has(fingerprint)) {
        if (cert.peerId !== author) throw new MembershipError('wrong-peer', `certificate is for ${cert.peerId}, not ${author}`)
        checkCertificateTime(cert, atMs)
        return
      }
      verifyCertificate(cert, { caPublicKey: this.init.caPublicKey, network: this.init.network, peerId: author, now: atMs })
      this.certs.set(fingerprint, true)
    } catch (err) {
      const why = err instanceof MembershipError ? `${err.reason}: ${err.message}` : 'unusable certificate'
      throw new RoomMessageRejectedError('not-a-member', `author is not a member (${why})`, { cause: err })
    }
  }
}

/** What the schema cannot say: byte lengths, kind against fields, DM text only sealed, parseable CIDs. */
function checkShape (m: RoomMessage): void {
  if (Buffer.byteLength(m.text) > ROOM_LIMITS.maxTextBytes) throw new RoomMessageRejectedError('malformed', `text exceeds ${ROOM_LIMITS.maxTextBytes} bytes`)
  const dm = m.room.startsWith('dm:')
  if (dm ? m.sealed === undefined || m.text !== '' || m.files !== undefined : m.sealed !== undefined) {
    throw new RoomMessageRejectedError('malformed', dm ? 'a direct message carries its text and files sealed only' : 'only direct messages are sealed')
  }
  if (!dm && (m.kind === 'file' ? m.files === undefined : m.files !== undefined)) throw new RoomMessageRejectedError('malformed', `kind ${m.kind} does not match its files`)
  for (const f of m.files ?? []) {
    try {
      parseCid(f.cid)
    } catch {
      throw new RoomMessageRejectedError('malformed', 'a file has an unusable CID')
    }
  }
}

function clip (s: string): string {
  return s.length > 120 ? `${s.slice(0, 120)}...` : s
}
