import { lpStream } from '@libp2p/utils'
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** One length-prefixed request and one response per stream: no head-of-line blocking between calls. */
export interface RpcOptions {
  maxBytes: number
  signal?: AbortSignal
}

export async function request (libp2p: Libp2p, peer: PeerId, protocol: string, body: Uint8Array, opts: RpcOptions): Promise<Uint8Array> {
  const stream = await libp2p.dialProtocol(peer, protocol, { signal: opts.signal, runOnLimitedConnection: true })
  try {
    const lp = lpStream(stream, { maxDataLength: opts.maxBytes })
    await lp.write(body, { signal: opts.signal })
    const reply = await lp.read({ signal: opts.signal })
    await stream.close({ signal: opts.signal })
    return reply.subarray()
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

export type RpcHandler = (body: Uint8Array, connection: Connection) => Promise<Uint8Array>

/**
 * Serves one request per stream. A handler error aborts only that stream; the
 * node keeps running whatever bytes a peer sends.
 */
export async function serve (libp2p: Libp2p, protocol: string, handler: RpcHandler, opts: { maxBytes: number, timeoutMs: number, onError?: (err: Error, connection: Connection) => void }): Promise<void> {
  await libp2p.handle(protocol, async (stream: Stream, connection: Connection) => {
    const signal = AbortSignal.timeout(opts.timeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength: opts.maxBytes })
      const body = await lp.read({ signal })
      const reply = await handler(body.subarray(), connection)
      await lp.write(reply, { signal })
      await stream.close({ signal })
    } catch (err) {
      opts.onError?.(err as Error, connection)
      stream.abort(err as Error)
    }
  }, { runOnLimitedConnection: true })
}
