/**
 * The frames of the block protocol (content-blocks 2.0.0). One stream carries many
 * requests; every frame is `varint(length) kind id payload`, binary, unsigned:
 * the stream runs on a Noise connection to a peer that proved membership, and a
 * block is checked against its CID, so neither a signature nor base64 is needed.
 *
 *   asker → holder   WANT   id  CID bytes
 *                    CANCEL id  (advisory: the holder still answers the id once)
 *   holder → asker   BLOCK  id  block bytes
 *                    MISSING id
 *                    CANCELLED id
 */
import { Uint8ArrayList } from 'uint8arraylist'
import type { byteStream } from '@libp2p/utils'
import { encodeLength } from '../p2p/length-prefix.ts'
import { MAX_BLOCK_BYTES } from './unixfs-layout.ts'

export const WANT = 1
export const CANCEL = 2
export const BLOCK = 1
export const MISSING = 2
export const CANCELLED = 3

/** WANTs an asker may have unanswered on one stream; more is a protocol violation. */
export const MAX_OUTSTANDING = 64
/** kind (1) + id (4). */
export const FRAME_HEADER_BYTES = 5
/** A binary CIDv1 of sha2-256 is 36 bytes; leave room, refuse anything near a block. */
export const MAX_CID_BYTES = 128
export const MAX_REQUEST_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_CID_BYTES
export const MAX_ANSWER_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_BLOCK_BYTES
/** A length prefix of a frame we accept is at most 3 bytes (2^21 > MAX_ANSWER_FRAME_BYTES). */
const MAX_LENGTH_BYTES = 3

/** A fetch from one peer failed (unreachable, closed, timed out); the next holder is asked. */
export class BlockExchangeError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BlockExchangeError'
  }
}

/** A peer broke the protocol: its stream is dropped and it is skipped like a peer that sent a bad block. */
export class BlockProtocolError extends BlockExchangeError {
  constructor (message: string) {
    super(message)
    this.name = 'BlockProtocolError'
  }
}

/** Mesh peer answered the request but has no such block. */
export class PeerLacksBlockError extends Error {
  constructor (peer: string) {
    super(`${peer} does not have the block`)
    this.name = 'PeerLacksBlockError'
  }
}

export interface Frame {
  kind: number
  id: number
  payload: Uint8Array
}

/** The frame's prefix, kind and id; the payload is sent after it without a copy. */
export function frameHeader (kind: number, id: number, payloadBytes: number): Uint8Array {
  const length = encodeLength(FRAME_HEADER_BYTES + payloadBytes)
  const out = new Uint8Array(length.byteLength + FRAME_HEADER_BYTES)
  out.set(length)
  out[length.byteLength] = kind
  new DataView(out.buffer).setUint32(length.byteLength + 1, id)
  return out
}

export function encodeFrame (kind: number, id: number, payload?: Uint8Array): Uint8ArrayList {
  const list = new Uint8ArrayList(frameHeader(kind, id, payload?.byteLength ?? 0))
  if (payload !== undefined && payload.byteLength > 0) list.append(payload)
  return list
}

/** Splits a frame body (without its length prefix) into kind, id and payload. */
export function parseFrame (body: Uint8Array): Frame {
  if (body.byteLength < FRAME_HEADER_BYTES) throw new BlockProtocolError(`frame of ${body.byteLength} bytes has no header`)
  const id = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(1)
  return { kind: body[0] ?? 0, id, payload: body.subarray(FRAME_HEADER_BYTES) }
}

/**
 * Reads one frame from `bytes`, or null at a clean end of the stream. The length is
 * checked against `maxBytes` before a byte of the body is read or allocated.
 */
export async function readFrame (bytes: ReturnType<typeof byteStream>, maxBytes: number, signal: AbortSignal): Promise<Frame | null> {
  let length = 0
  for (let i = 0; ; i++) {
    if (i === MAX_LENGTH_BYTES) throw new BlockProtocolError(`frame length prefix longer than ${MAX_LENGTH_BYTES} bytes`)
    let b: number
    try {
      b = (await bytes.read({ bytes: 1, signal })).get(0)
    } catch (err) {
      // The asker closing its end between frames is the normal end of a session.
      if (i === 0 && (err as Error).name === 'UnexpectedEOFError') return null
      throw err
    }
    length += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) break
  }
  if (length > maxBytes) throw new BlockProtocolError(`frame of ${length} bytes, limit ${maxBytes}`)
  if (length < FRAME_HEADER_BYTES) throw new BlockProtocolError(`frame of ${length} bytes has no header`)
  const body = await bytes.read({ bytes: length, signal })
  return parseFrame(body.subarray())
}
