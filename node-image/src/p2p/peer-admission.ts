import { byteStream } from '@libp2p/utils'
import { encodeLength, readLength } from './length-prefix.ts'
import type { Connection, Stream } from '@libp2p/interface'

export interface PeerAdmissionInit {
  /** Streams one peer may have open at once across every Dawn protocol. */
  maxStreamsPerPeer: number
  /** Bytes one peer may have in frames being read at once across every Dawn protocol. */
  maxBytesPerPeer: number
}

export interface PeerAdmissionComponents {
  /** True once the peer has proved membership (a CA-signed certificate). */
  isVerified: (peer: string) => boolean
  /** Counts a stream refused before any of its bytes were read. */
  onRefused: (reason: StreamRefusal, service: string) => void
}

export type StreamRefusal = 'unverified' | 'peer-streams' | 'peer-bytes' | 'too-large'

export class StreamRefusedError extends Error {
  readonly reason: StreamRefusal
  constructor (reason: StreamRefusal, message: string) {
    super(message)
    this.name = 'StreamRefusedError'
    this.reason = reason
  }
}

interface Budget { streams: number, bytes: number }

/** Frames up to this size are written with their length prefix in one write. */
const SMALL_FRAME = 64 * 1024

/** A stream a verified member opened; `release()` returns its share of the peer's budget. */
export interface AdmittedStream {
  readonly peer: string
  /** Reads one length-prefixed frame, reserving its declared length before reading it. */
  readFrame: (maxBytes: number, signal: AbortSignal) => Promise<Uint8Array>
  /**
   * As readFrame, for a stream that carries many frames: the frame's bytes stay reserved
   * until `done()`, not until the stream ends (a warm call channel, routing/call-channel*.ts).
   */
  readHeldFrame: (maxBytes: number, signal: AbortSignal) => Promise<{ frame: Uint8Array, done: () => void }>
  /** The byte stream after the frame, for writing the reply. */
  write: (data: Uint8Array, signal: AbortSignal) => Promise<void>
  /**
   * The stream, for a protocol that frames it itself (many small frames on one stream);
   * the frame reader above is then unusable and its unread bytes go back to the stream.
   */
  unwrap: () => Stream
  release: () => void
}

/**
 * The door of every Dawn protocol handler. A stream from a peer that has not
 * proved membership is reset before one byte is read from it. A member's streams
 * and the bytes of the frames being read are capped per peer, so no peer can make
 * the node buffer more than `maxBytesPerPeer`. The map holds only peers with a
 * stream open now.
 */
export class PeerAdmission {
  private readonly components: PeerAdmissionComponents
  private readonly init: PeerAdmissionInit
  private readonly budgets = new Map<string, Budget>()

  constructor (components: PeerAdmissionComponents, init: PeerAdmissionInit) {
    this.components = components
    this.init = init
  }

  /** Admits the stream or resets it; returns undefined when refused. */
  admit (stream: Stream, connection: Pick<Connection, 'remotePeer'>, service: string): AdmittedStream | undefined {
    const peer = connection.remotePeer.toString()
    if (!this.components.isVerified(peer)) return this.refuse(stream, 'unverified', service, `${peer} has not proved membership`)
    const budget = this.budgets.get(peer) ?? { streams: 0, bytes: 0 }
    if (budget.streams >= this.init.maxStreamsPerPeer) return this.refuse(stream, 'peer-streams', service, `${peer} has ${budget.streams} streams open`)
    budget.streams++
    this.budgets.set(peer, budget)
    // Frames are read in chunks as they arrive, so the buffer holds only what
    // yamux delivered since the last read, never a whole frame.
    const bytes = byteStream(stream, { maxBufferSize: 4 * 1024 * 1024 })
    let reserved = 0
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      budget.bytes -= reserved
      budget.streams--
      if (budget.streams === 0) this.budgets.delete(peer)
    }
    // `exact`: read no byte past the frame, for a stream whose next frame may already be buffered.
    const readFrame = async (maxBytes: number, signal: AbortSignal, exact = false): Promise<Uint8Array> => {
      const length = await readLength(bytes, signal)
      if (length === undefined || length > maxBytes) throw this.refused('too-large', service, `frame of ${length ?? 'more than 2^35'} bytes, limit ${maxBytes}`)
      if (budget.bytes + length > this.init.maxBytesPerPeer) {
        throw this.refused('peer-bytes', service, `${peer} already has ${budget.bytes} bytes in flight, limit ${this.init.maxBytesPerPeer}`)
      }
      budget.bytes += length
      reserved += length
      const frame = new Uint8Array(length)
      for (let at = 0; at < length;) {
        const chunk = exact ? await bytes.read({ bytes: Math.min(length - at, SMALL_FRAME), signal }) : await bytes.read({ signal })
        if (chunk === null) throw new Error(`stream ended after ${at} of ${length} bytes`)
        if (chunk.byteLength > length - at) throw this.refused('too-large', service, 'more bytes than the frame declared')
        for (const part of chunk) { frame.set(part, at); at += part.byteLength }
      }
      return frame
    }
    return {
      peer,
      release,
      unwrap: () => bytes.unwrap(),
      write: async (data, signal) => {
        const prefix = encodeLength(data.byteLength)
        if (data.byteLength > SMALL_FRAME) {
          await bytes.write(prefix, { signal })
          await bytes.write(data, { signal })
          return
        }
        // One muxer frame for a small message instead of two; a large one is not copied.
        const out = new Uint8Array(prefix.byteLength + data.byteLength)
        out.set(prefix)
        out.set(data, prefix.byteLength)
        await bytes.write(out, { signal })
      },
      readFrame: async (maxBytes, signal) => await readFrame(maxBytes, signal),
      readHeldFrame: async (maxBytes, signal) => {
        const frame = await readFrame(maxBytes, signal, true)
        let done = false
        return {
          frame,
          done: () => {
            if (done || released) return
            done = true
            reserved -= frame.byteLength
            budget.bytes -= frame.byteLength
          }
        }
      }
    }
  }

  /** Peers with a stream open now (bounded by the connection limit). */
  get peersInFlight (): number {
    return this.budgets.size
  }

  private refuse (stream: Stream, reason: StreamRefusal, service: string, message: string): undefined {
    stream.abort(this.refused(reason, service, message))
    return undefined
  }

  private refused (reason: StreamRefusal, service: string, message: string): StreamRefusedError {
    this.components.onRefused(reason, service)
    return new StreamRefusedError(reason, message)
  }
}
