/**
 * The keys and frames of a warm call channel (call-channel.ts). The channel opens with
 * one signed envelope each way (type `toolcall.channel`, the node's Ed25519 key and its
 * membership certificate, checked by the Messenger like any other envelope) carrying a
 * fresh nonce and an ephemeral X25519 key; both sides derive one key per direction from
 * the X25519 secret, both nonces, the network and both peer ids. After that every frame
 * is authenticated by an HMAC under its direction's key over a sequence number that
 * must be exactly one more than the last: a replayed, reordered, dropped, tampered
 * frame, or one from another channel or peer, fails the check and ends the channel.
 *
 * Handshake bodies: open = 1 || caller nonce (32) || caller X25519 (32) || host peer id;
 * accept = 2 || host nonce (32) || host X25519 (32) || caller nonce (32).
 * Frame = seq (u64 BE) || kind (1) || call id (16) || payload || tag (16).
 */
import { createHmac, createPublicKey, createSecretKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto'
import { secretsEqual } from '../identity/constant-time.ts'
import type { TraceCarrier } from '../tracing/trace-context.ts'

export const KIND_REQUEST = 1
export const KIND_EVENT = 2
export const KIND_RESPONSE = 3
export const KIND_CANCEL = 4
const KINDS = new Set([KIND_REQUEST, KIND_EVENT, KIND_RESPONSE, KIND_CANCEL])

const OPEN = 1
const ACCEPT = 2
const NONCE = 32
const KEY = 32
const CALL_ID = 16
const TAG = 16
const HEADER = 8 + 1 + CALL_ID
/** Bytes a frame adds to its payload. */
export const FRAME_OVERHEAD = HEADER + TAG

const encoder = new TextEncoder()
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A handshake or frame that does not hold; the channel ends with it. */
export class ChannelFrameError extends Error {
  readonly reason: 'malformed' | 'bad-mac' | 'out-of-order' | 'wrong-peer' | 'stale-handshake'
  constructor (reason: ChannelFrameError['reason'], message: string) {
    super(message)
    this.name = 'ChannelFrameError'
    this.reason = reason
  }
}

export interface Ephemeral {
  nonce: Uint8Array
  publicKey: Uint8Array
  privateKey: KeyObject
}

export function newEphemeral (): Ephemeral {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  const x = publicKey.export({ format: 'jwk' }).x
  if (x === undefined) throw new Error('x25519 key without x')
  return { nonce: randomBytes(NONCE), publicKey: Buffer.from(x, 'base64url'), privateKey }
}

export function encodeOpen (mine: Ephemeral, hostId: string): Uint8Array {
  return Buffer.concat([Uint8Array.of(OPEN), mine.nonce, mine.publicKey, encoder.encode(hostId)])
}

export function decodeOpen (body: Uint8Array, selfId: string): { nonce: Uint8Array, publicKey: Uint8Array } {
  if (body.byteLength < 1 + NONCE + KEY || body[0] !== OPEN) throw new ChannelFrameError('malformed', 'not a channel open')
  let to: string
  try {
    to = utf8.decode(body.subarray(1 + NONCE + KEY))
  } catch {
    throw new ChannelFrameError('malformed', 'channel open names no node')
  }
  if (to !== selfId) throw new ChannelFrameError('wrong-peer', `channel open is for ${to.slice(0, 64)}`)
  return { nonce: body.slice(1, 1 + NONCE), publicKey: body.slice(1 + NONCE, 1 + NONCE + KEY) }
}

export function encodeAccept (mine: Ephemeral, callerNonce: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(ACCEPT), mine.nonce, mine.publicKey, callerNonce])
}

export function decodeAccept (body: Uint8Array, callerNonce: Uint8Array): { nonce: Uint8Array, publicKey: Uint8Array } {
  if (body.byteLength !== 1 + NONCE + KEY + NONCE || body[0] !== ACCEPT) throw new ChannelFrameError('malformed', 'not a channel accept')
  // The accept answers this open only: an old accept cannot be replayed into a new channel.
  if (!secretsEqual(body.subarray(1 + NONCE + KEY), callerNonce)) throw new ChannelFrameError('stale-handshake', 'channel accept answers another open')
  return { nonce: body.slice(1, 1 + NONCE), publicKey: body.slice(1 + NONCE, 1 + NONCE + KEY) }
}

export interface ChannelKeys {
  /** Caller → host frames. */
  up: Uint8Array
  /** Host → caller frames. */
  down: Uint8Array
}

export function deriveKeys (mine: Ephemeral, theirPublic: Uint8Array, ids: { network: string, caller: string, host: string, callerNonce: Uint8Array, hostNonce: Uint8Array }): ChannelKeys {
  let secret: Buffer
  try {
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(theirPublic).toString('base64url') }, format: 'jwk' })
    secret = diffieHellman({ privateKey: mine.privateKey, publicKey })
  } catch (err) {
    throw new ChannelFrameError('malformed', `bad X25519 key: ${(err as Error).message}`)
  }
  // An all-zero secret means a low-order point: refuse it rather than derive a key anyone knows.
  if (secret.every(b => b === 0)) throw new ChannelFrameError('malformed', 'low-order X25519 key')
  const info = encoder.encode(`dawn/toolcall-channel/v1\n${ids.network}\n${ids.caller}\n${ids.host}`)
  const okm = new Uint8Array(hkdfSync('sha256', secret, Buffer.concat([ids.callerNonce, ids.hostNonce]), info, 2 * KEY))
  return { up: okm.slice(0, KEY), down: okm.slice(KEY) }
}

export interface ChannelFrame {
  kind: number
  /** 16 bytes, the call's id. */
  callId: Uint8Array
  payload: Uint8Array
}

/** One direction of a channel: numbers and tags what it sends, or checks what it receives. */
export class FrameSealer {
  private readonly key: KeyObject
  private seq = 0n

  constructor (key: Uint8Array) {
    this.key = createSecretKey(key)
  }

  seal (kind: number, callId: Uint8Array, payload: Uint8Array): Uint8Array {
    if (callId.byteLength !== CALL_ID) throw new Error('call id must be 16 bytes')
    this.seq++
    const out = new Uint8Array(HEADER + payload.byteLength + TAG)
    new DataView(out.buffer).setBigUint64(0, this.seq)
    out[8] = kind
    out.set(callId, 9)
    out.set(payload, HEADER)
    out.set(mac(this.key, out.subarray(0, HEADER + payload.byteLength)), HEADER + payload.byteLength)
    return out
  }
}

export class FrameOpener {
  private readonly key: KeyObject
  private seq = 0n

  constructor (key: Uint8Array) {
    this.key = createSecretKey(key)
  }

  /** Throws ChannelFrameError for anything but the next authentic frame. */
  open (frame: Uint8Array): ChannelFrame {
    if (frame.byteLength < HEADER + TAG) throw new ChannelFrameError('malformed', `frame of ${frame.byteLength} bytes`)
    const signed = frame.subarray(0, frame.byteLength - TAG)
    if (!secretsEqual(mac(this.key, signed), frame.subarray(frame.byteLength - TAG))) throw new ChannelFrameError('bad-mac', 'frame tag does not verify')
    const seq = new DataView(frame.buffer, frame.byteOffset, 8).getBigUint64(0)
    if (seq !== this.seq + 1n) throw new ChannelFrameError('out-of-order', `frame ${seq} after ${this.seq}`)
    const kind = frame[8] ?? 0
    if (!KINDS.has(kind)) throw new ChannelFrameError('malformed', `unknown frame kind ${kind}`)
    this.seq = seq
    return { kind, callId: frame.slice(9, HEADER), payload: frame.subarray(HEADER, frame.byteLength - TAG) }
  }
}

// A KeyObject, not bytes: Node 24 tests raw key bytes for a CryptoKey by throwing and
// catching a TypeError, a stack capture per frame.
function mac (key: KeyObject, data: Uint8Array): Uint8Array {
  return createHmac('sha256', key).update(data).digest().subarray(0, TAG)
}

/** A request frame's payload: the caller's clock (for the deadline budget) and trace context before the call body. */
export function encodeRequestPayload (ts: number, trace: string | undefined, body: Uint8Array): Uint8Array {
  const traceBytes = trace === undefined ? new Uint8Array(0) : encoder.encode(trace)
  if (traceBytes.byteLength > 0xffff) throw new Error('trace context too large')
  const out = new Uint8Array(8 + 2 + traceBytes.byteLength + body.byteLength)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(ts))
  view.setUint16(8, traceBytes.byteLength)
  out.set(traceBytes, 10)
  out.set(body, 10 + traceBytes.byteLength)
  return out
}

export function decodeRequestPayload (payload: Uint8Array): { ts: number, trace?: string, body: Uint8Array } {
  if (payload.byteLength < 10) throw new ChannelFrameError('malformed', 'request frame too short')
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const ts = Number(view.getBigUint64(0))
  const traceLength = view.getUint16(8)
  if (payload.byteLength < 10 + traceLength) throw new ChannelFrameError('malformed', 'request frame too short for its trace')
  let trace: string | undefined
  try {
    trace = traceLength === 0 ? undefined : utf8.decode(payload.subarray(10, 10 + traceLength))
  } catch {
    throw new ChannelFrameError('malformed', 'trace context is not UTF-8')
  }
  return { ts, ...(trace === undefined ? {} : { trace }), body: payload.subarray(10 + traceLength) }
}

/** The caller's trace context: `traceparent`, and `tracestate` after a newline, within an envelope's limits. */
export function traceOf (text: string | undefined): TraceCarrier | undefined {
  if (text === undefined) return undefined
  const [traceparent, tracestate] = text.split('\n', 2)
  if (traceparent === undefined || traceparent.length === 0 || traceparent.length > 512 || (tracestate?.length ?? 0) > 1024) return undefined
  return tracestate === undefined ? { traceparent } : { traceparent, tracestate }
}

/** The request frame's trace text for the active trace context. */
export function traceText (carrier: TraceCarrier | undefined): string | undefined {
  if (carrier === undefined) return undefined
  return carrier.tracestate === undefined ? carrier.traceparent : `${carrier.traceparent}\n${carrier.tracestate}`
}
