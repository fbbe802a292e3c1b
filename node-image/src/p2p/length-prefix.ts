/**
 * The unsigned LEB128 length prefix of it-length-prefixed frames, both ways.
 *
 * lpStream reads a prefix one byte at a time and asks its decoder after each; the default
 * decoder answers "not yet" by throwing a new RangeError, whose stack capture cost more than
 * the rest of reading a frame (every frame over 127 bytes). This one throws one shared error.
 */
import { lpStream, type byteStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'

const INCOMPLETE = new RangeError('length prefix incomplete')
/** 2^35: five 7-bit groups, more than any frame Dawn accepts. */
const MAX_BYTES = 5

/** lpStream's `lengthDecoder`: the prefix's value, or the shared RangeError while it is incomplete. */
export function decodeLength (buf: Uint8ArrayList | Uint8Array): number {
  let value = 0
  const n = Math.min(buf.byteLength, MAX_BYTES)
  for (let i = 0; i < n; i++) {
    const b = buf instanceof Uint8Array ? buf[i] ?? 0 : buf.get(i)
    value += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) return value
  }
  // Not a RangeError, which lpStream would take as "read another byte" forever.
  if (buf.byteLength >= MAX_BYTES) throw new Error(`length prefix longer than ${MAX_BYTES} bytes`)
  throw INCOMPLETE
}

/** The prefix read a byte at a time from a byte stream; undefined past MAX_BYTES (frames stay far below 4 GiB). */
export async function readLength (bytes: ReturnType<typeof byteStream>, signal: AbortSignal): Promise<number | undefined> {
  let value = 0
  for (let i = 0; i < MAX_BYTES; i++) {
    const b = (await bytes.read({ bytes: 1, signal })).subarray()[0] ?? 0
    value += (b & 0x7f) * 2 ** (7 * i)
    if ((b & 0x80) === 0) return value
  }
  return undefined
}

/** The length prefix of a frame. */
export function encodeLength (length: number): Uint8Array {
  const out: number[] = []
  let rest = length
  do {
    const low = rest % 128
    rest = Math.floor(rest / 128)
    out.push(rest > 0 ? low | 0x80 : low)
  } while (rest > 0)
  return new Uint8Array(out)
}

/** byteStream's own default: what an lpStream buffers unless told otherwise. */
const DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024
/** Bytes of the next frame that may arrive before the reader has taken the last one. */
const NEXT_FRAME_MARGIN = 1024 * 1024

/**
 * lpStream with this decoder: frames of at most `maxDataLength` bytes. Its byte buffer
 * aborts the stream past 4 MiB by default, which made any larger frame unreadable (a
 * 16 MiB tool result failed with "Read buffer overflow"); it now holds one largest frame.
 */
export function lengthPrefixed<S extends Stream> (stream: S, maxDataLength: number): LengthPrefixedStream<S> {
  const maxBufferSize = Math.max(DEFAULT_BUFFER_BYTES, maxDataLength + MAX_BYTES + NEXT_FRAME_MARGIN)
  return lpStream(stream, { maxDataLength, maxBufferSize, lengthDecoder: decodeLength })
}
