/**
 * The bytes of the flood route on `/dawn/<net>/flood/2.0.0`: one request frame
 * and one reply frame per stream, per hop.
 *
 *   request frame = hops u8 || envelope('flood.request', signed by the origin)
 *   envelope body = version u8 | kind u8 | maxHops u8 | deadline u64 BE ms
 *                   | target length u8 | target (peer id) | payload
 *   reply frame   = 1 | hops u8 | envelope signed by the target   (found)
 *                 | 0 | reason u8                                 (miss)
 *
 * The payload of a call is the `toolcall.request` envelope the direct route
 * sends, byte for byte (E2E-sealed when encryption is on); a probe's payload is
 * a random tag the target's signed `flood.pong` must repeat. `hops` is the only
 * byte a relay changes; the signed maxHops bounds it.
 */
import { NODE_ID_PATTERN } from '../registry/agent-record.ts'

export const FLOOD_VERSION = 1
/** No flood travels further, whatever its origin asks. */
export const FLOOD_HOPS_LIMIT = 16
export const PROBE_TAG_BYTES = 16

export type FloodKind = 'call' | 'probe'
const KINDS: FloodKind[] = ['call', 'probe']

/** Why a hop answered without the target's reply; also metric label values. */
export const FLOOD_MISS_REASONS = ['duplicate', 'hop-limit', 'no-route', 'busy', 'rejected', 'deadline'] as const
export type FloodMissReason = typeof FLOOD_MISS_REASONS[number]

export interface FloodBody {
  kind: FloodKind
  /** 1..FLOOD_HOPS_LIMIT: the most hops the frame may travel, origin to target. */
  maxHops: number
  /** Unix ms; relays stop forwarding past it. */
  deadline: number
  target: string
  payload: Uint8Array
}

export type FloodReply =
  | { found: true, hops: number, envelope: Uint8Array }
  | { found: false, reason: FloodMissReason }

/** A frame that is not a flood frame; `message` never quotes the bytes. */
export class FloodFrameError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'FloodFrameError'
  }
}

const FOUND = 1
const MISS = 0
const BODY_HEADER = 1 + 1 + 1 + 8 + 1
const nodeIdPattern = new RegExp(NODE_ID_PATTERN)
const ascii = new TextDecoder('ascii')

export function encodeFloodBody (body: FloodBody): Uint8Array {
  const target = new TextEncoder().encode(body.target)
  if (target.byteLength > 255) throw new FloodFrameError('target peer id is too long')
  if (!Number.isInteger(body.maxHops) || body.maxHops < 1 || body.maxHops > FLOOD_HOPS_LIMIT) throw new FloodFrameError(`maxHops must be 1..${FLOOD_HOPS_LIMIT}`)
  const out = new Uint8Array(BODY_HEADER + target.byteLength + body.payload.byteLength)
  const view = new DataView(out.buffer)
  out[0] = FLOOD_VERSION
  out[1] = KINDS.indexOf(body.kind)
  out[2] = body.maxHops
  view.setBigUint64(3, BigInt(Math.max(0, Math.floor(body.deadline))))
  out[11] = target.byteLength
  out.set(target, BODY_HEADER)
  out.set(body.payload, BODY_HEADER + target.byteLength)
  return out
}

/** Throws FloodFrameError for anything but a well-formed body. */
export function parseFloodBody (bytes: Uint8Array): FloodBody {
  if (bytes.byteLength < BODY_HEADER) throw new FloodFrameError('flood body is truncated')
  if (bytes[0] !== FLOOD_VERSION) throw new FloodFrameError(`unsupported flood version ${bytes[0] ?? 0}`)
  const kind = KINDS[bytes[1] ?? 255]
  if (kind === undefined) throw new FloodFrameError('unknown flood kind')
  const maxHops = bytes[2] ?? 0
  if (maxHops < 1 || maxHops > FLOOD_HOPS_LIMIT) throw new FloodFrameError(`maxHops ${maxHops} is outside 1..${FLOOD_HOPS_LIMIT}`)
  const deadline = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(3)
  if (deadline > BigInt(Number.MAX_SAFE_INTEGER)) throw new FloodFrameError('deadline is out of range')
  const targetEnd = BODY_HEADER + (bytes[11] ?? 0)
  if (bytes.byteLength < targetEnd) throw new FloodFrameError('flood body is truncated')
  const target = ascii.decode(bytes.subarray(BODY_HEADER, targetEnd))
  if (!nodeIdPattern.test(target)) throw new FloodFrameError('target is not a peer id')
  const payload = bytes.subarray(targetEnd)
  if (kind === 'probe' && payload.byteLength !== PROBE_TAG_BYTES) throw new FloodFrameError('probe tag has the wrong length')
  return { kind, maxHops, deadline: Number(deadline), target, payload }
}

export function encodeRequestFrame (hops: number, envelope: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + envelope.byteLength)
  out[0] = hops
  out.set(envelope, 1)
  return out
}

export function splitRequestFrame (frame: Uint8Array): { hops: number, envelope: Uint8Array } {
  if (frame.byteLength < 2) throw new FloodFrameError('flood frame is truncated')
  return { hops: frame[0] ?? 0, envelope: frame.subarray(1) }
}

export function encodeFound (hops: number, envelope: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + envelope.byteLength)
  out[0] = FOUND
  out[1] = hops
  out.set(envelope, 2)
  return out
}

export function encodeMiss (reason: FloodMissReason): Uint8Array {
  return new Uint8Array([MISS, FLOOD_MISS_REASONS.indexOf(reason)])
}

export function parseReply (frame: Uint8Array): FloodReply {
  if (frame[0] === FOUND && frame.byteLength > 2) return { found: true, hops: frame[1] ?? 0, envelope: frame.subarray(2) }
  const reason = frame[0] === MISS && frame.byteLength === 2 ? FLOOD_MISS_REASONS[frame[1] ?? 255] : undefined
  if (reason === undefined) throw new FloodFrameError('flood reply is malformed')
  return { found: false, reason }
}

/**
 * The largest call JSON whose sealed, signed reply still fits a frame of
 * `maxFrameBytes`: base64 in the envelope (4/3), the E2E header and tag, the
 * certificate and the envelope's other fields.
 */
export function maxJsonInFrame (maxFrameBytes: number): number {
  return Math.max(0, Math.floor((maxFrameBytes - 8192) * 3 / 4) - 128)
}
