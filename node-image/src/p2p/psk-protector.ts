import { randomBytes } from 'node:crypto'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import type { AbortOptions, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { XSalsa20Stream } from './xsalsa20-stream.ts'

export const NONCE_LENGTH = 24

export interface PskProtectorInit {
  /** The 32-byte pre-shared key (parseSwarmKey). */
  psk: Uint8Array
  /** Both nonces must have crossed within this time, or the connection is dropped. */
  handshakeTimeoutMs?: number
  /**
   * Inbound handshakes waiting for a nonce at once. A new one evicts the oldest,
   * so silent sockets cannot hold every slot: an honest peer's nonce arrives
   * within one round trip, so the oldest waiter is almost always a silent one.
   */
  maxPending?: number
}

/** Live counts, read by the node's metrics at scrape time. */
export interface PskProtectorStats {
  pending: number
  completed: number
  /** Timed out, closed or reset before the nonce arrived. */
  failed: number
  /** Dropped to make room for a newer inbound handshake. */
  evicted: number
}

export class PskHandshakeError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PskHandshakeError'
  }
}

/**
 * The libp2p/Kubo private network (`swarm.key` pnet), wire-compatible with
 * go-libp2p and `@libp2p/pnet`: each side sends a random 24-byte nonce, then every
 * byte is XORed with XSalsa20(psk, nonce of its sender). Replaces `@libp2p/pnet`,
 * whose WebAssembly cipher pool grows with every connection and never shrinks.
 * Per connection this holds two ~300-byte keystreams, wiped on close.
 */
export class PskProtector implements ConnectionProtector {
  readonly stats: PskProtectorStats = { pending: 0, completed: 0, failed: 0, evicted: 0 }
  private readonly psk: Uint8Array
  private readonly timeoutMs: number
  private readonly maxPending: number
  /** Inbound handshakes in arrival order; Set iteration order makes the first the oldest. */
  private readonly waiting = new Set<AbortController>()

  constructor (init: PskProtectorInit) {
    if (init.psk.byteLength !== 32) throw new RangeError('pre-shared key must be 32 bytes')
    this.psk = init.psk.slice()
    this.timeoutMs = init.handshakeTimeoutMs ?? 5_000
    this.maxPending = init.maxPending ?? 64
  }

  readonly [Symbol.toStringTag] = '@dawn/psk-protector'

  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const maConn = connection as MultiaddrConnection
    const slot = maConn.direction === 'inbound' ? this.takeSlot() : undefined
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), ...(options?.signal === undefined ? [] : [options.signal]), ...(slot === undefined ? [] : [slot.signal])])
    const localNonce = new Uint8Array(randomBytes(NONCE_LENGTH))
    const bytes = byteStream(maConn, { maxBufferSize: 64 * 1024 })
    this.stats.pending++
    let remoteNonce: Uint8Array
    try {
      const [received] = await Promise.all([
        bytes.read({ bytes: NONCE_LENGTH, signal }),
        bytes.write(localNonce, { signal })
      ])
      remoteNonce = received.subarray()
    } catch (err) {
      if (slot?.signal.aborted === true) this.stats.evicted++
      else this.stats.failed++
      throw new PskHandshakeError(`private network handshake failed: ${(err as Error).message}`, { cause: err })
    } finally {
      this.stats.pending--
      if (slot !== undefined) this.waiting.delete(slot)
    }
    this.stats.completed++
    return new PskConnection(bytes.unwrap(), new XSalsa20Stream(this.psk, remoteNonce), new XSalsa20Stream(this.psk, localNonce))
  }

  /** Evicts the oldest waiter when all slots are taken. */
  private takeSlot (): AbortController {
    if (this.waiting.size >= this.maxPending) {
      const oldest = this.waiting.values().next().value
      if (oldest !== undefined) {
        this.waiting.delete(oldest)
        oldest.abort(new PskHandshakeError('evicted by a newer inbound handshake'))
      }
    }
    const slot = new AbortController()
    this.waiting.add(slot)
    return slot
  }
}

/** The connection after the nonce exchange: plaintext above, keystream-XORed bytes below. */
class PskConnection extends AbstractMultiaddrConnection {
  private readonly inner: MultiaddrConnection
  private readonly inbound: XSalsa20Stream
  private readonly outbound: XSalsa20Stream

  constructor (inner: MultiaddrConnection, inbound: XSalsa20Stream, outbound: XSalsa20Stream) {
    super({ remoteAddr: inner.remoteAddr, direction: inner.direction, log: inner.log.newScope('psk') })
    this.inner = inner
    this.inbound = inbound
    this.outbound = outbound
    inner.addEventListener('message', (evt) => {
      try {
        // The transport's read buffers are this wrapper's alone: decrypted where they lie.
        const data = evt.data
        if (data instanceof Uint8Array) this.onData(this.inbound.updateInPlace(data))
        else for (const buf of data) this.onData(this.inbound.updateInPlace(buf))
      } catch (err) {
        this.abort(err as Error)
      }
    })
    inner.addEventListener('drain', () => { this.onMuxerDrain() })
    inner.addEventListener('close', (evt) => {
      this.inbound.wipe()
      this.outbound.wipe()
      if (evt.error == null) this.onTransportClosed()
      else if (evt.local === true) this.abort(evt.error)
      else this.onRemoteReset()
    })
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.inner.close(options)
  }

  sendData (data: Uint8ArrayList): { sentBytes: number, canSendMore: boolean } {
    if (data.byteLength === 0) return { sentBytes: 0, canSendMore: true }
    // One keystream pass and one socket write per call, not per part: Noise hands over [length, ciphertext] pairs.
    const canSendMore = this.inner.send(this.outbound.updateParts(data, data.byteLength))
    return { sentBytes: data.byteLength, canSendMore }
  }

  sendReset (err: Error): void {
    this.inner.abort(err)
  }

  // The socket can close before this wrapper hears of it; pausing or resuming a closed
  // socket throws, and from a muxer's drain handler that would be an uncaught error.
  sendPause (): void {
    ignoreClosed(() => { this.inner.pause() })
  }

  sendResume (): void {
    ignoreClosed(() => { this.inner.resume() })
  }
}

function ignoreClosed (fn: () => void): void {
  try {
    fn()
  } catch (err) {
    if ((err as Error).name !== 'StreamStateError') throw err
  }
}
