import { lengthPrefixed } from './length-prefix.ts'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { PeerAdmission } from './peer-admission.ts'

/** One length-prefixed request and one response per stream: no head-of-line blocking between calls. */
export interface RpcOptions {
  maxBytes: number
  signal?: AbortSignal
}

export async function request (libp2p: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, protocol: string, body: Uint8Array, opts: RpcOptions): Promise<Uint8Array> {
  const stream = await libp2p.dialProtocol(peer, protocol, { signal: opts.signal, runOnLimitedConnection: true })
  try {
    const lp = lengthPrefixed(stream, opts.maxBytes)
    await lp.write(body, { signal: opts.signal })
    const reply = await lp.read({ signal: opts.signal })
    // The reply is complete; the caller need not wait for the close handshake
    // (the membership handshake admits the peer as soon as the reply is read).
    void stream.close({ signal: opts.signal }).catch((err: unknown) => { stream.abort(err as Error) })
    return reply.subarray()
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

export type RpcHandler = (body: Uint8Array, connection: Connection) => Promise<Uint8Array>

export interface ServeOptions {
  maxBytes: number
  timeoutMs: number
  /** Label of the refusal metric. */
  service: string
  onError?: (err: Error, connection: Connection) => void
}

/**
 * Serves one request per stream, to verified members only: the admission resets
 * any other peer's stream before reading it, and caps each member's streams and
 * bytes. A handler error aborts only that stream.
 */
export async function serve (libp2p: Pick<Libp2p, 'handle'>, protocol: string, admission: PeerAdmission, handler: RpcHandler, opts: ServeOptions): Promise<void> {
  await libp2p.handle(protocol, async (stream: Stream, connection: Connection) => {
    const admitted = admission.admit(stream, connection, opts.service)
    if (admitted === undefined) return
    const signal = AbortSignal.timeout(opts.timeoutMs)
    try {
      const body = await admitted.readFrame(opts.maxBytes, signal)
      const reply = await handler(body, connection)
      await admitted.write(reply, signal)
      await stream.close({ signal })
    } catch (err) {
      opts.onError?.(err as Error, connection)
      stream.abort(err as Error)
    } finally {
      admitted.release()
    }
  }, { runOnLimitedConnection: true })
}

/**
 * The one handler that must read from a peer before it has proved anything: the
 * membership handshake itself. Its frame is small and each connection may hold
 * only a couple of these streams.
 */
export async function serveHandshake (libp2p: Pick<Libp2p, 'handle'>, protocol: string, handler: RpcHandler, opts: { maxBytes: number, timeoutMs: number, onReplyRead?: (connection: Connection) => void }): Promise<void> {
  await libp2p.handle(protocol, async (stream: Stream, connection: Connection) => {
    const signal = AbortSignal.timeout(opts.timeoutMs)
    try {
      const lp = lengthPrefixed(stream, opts.maxBytes)
      const body = await lp.read({ signal })
      const reply = await handler(body.subarray(), connection)
      await lp.write(reply, { signal })
      // The dialer closes its end once it has read the reply (see request()).
      await remoteWriteClosed(stream, signal)
      opts.onReplyRead?.(connection)
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { runOnLimitedConnection: true, maxInboundStreams: 2 })
}

/** Resolves once the remote end has closed its writable side; rejects if the stream dies or `signal` aborts first. */
async function remoteWriteClosed (stream: Stream, signal: AbortSignal): Promise<void> {
  if (stream.remoteWriteStatus === 'closed') return
  await new Promise<void>((resolve, reject) => {
    const settle = (): void => {
      stream.removeEventListener('remoteCloseWrite', settle)
      stream.removeEventListener('close', settle)
      signal.removeEventListener('abort', settle)
      if (stream.remoteWriteStatus === 'closed') resolve()
      else reject(signal.aborted ? signal.reason as Error : new Error('stream closed before the remote end finished'))
    }
    stream.addEventListener('remoteCloseWrite', settle)
    stream.addEventListener('close', settle)
    signal.addEventListener('abort', settle)
  })
}
