/**
 * Liveness of every open connection, as libp2p's connection monitor does it (an adaptive
 * timeout per ping, a connection whose ping fails is aborted, `rtt` kept up to date) but
 * with the stream muxer's own ping: one yamux frame each way. libp2p's monitor opens a
 * ping stream each time (SYN, protocol negotiation, 32 bytes each way, FIN both ways, a
 * peer-store merge on both ends); in an idle 20-node mesh, dropping those streams took a
 * node's CPU to 0.91x (`npm run bench -- idle-revisions`). A connection whose muxer has no ping (none of ours)
 * falls back to the ping protocol, so no connection goes unwatched.
 */
import { AdaptiveTimeout, byteStream, type AdaptiveTimeoutInit } from '@libp2p/utils'
import type { Connection, Logger, ComponentLogger, Startable, Stream } from '@libp2p/interface'

/** libp2p's ping protocol, for a connection whose muxer cannot ping. */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

export class PingMismatchError extends Error {
  constructor () {
    super('the ping came back changed')
    this.name = 'PingMismatchError'
  }
}

/** A muxer that can ping, as yamux's can (not part of the StreamMuxer interface): resolves with the RTT in ms. */
interface PingingMuxer { ping: (options: { signal: AbortSignal }) => Promise<number> }

export interface ConnectionLivenessInit {
  /** How often every connection is pinged. */
  intervalMs: number
  /** Bounds of the adaptive ping timeout (libp2p's connection monitor `pingTimeout`). */
  timeout?: Pick<AdaptiveTimeoutInit, 'minTimeout' | 'maxTimeout'>
}

export interface ConnectionLivenessComponents {
  connectionManager: { getConnections: () => Connection[] }
  logger: ComponentLogger
}

export class ConnectionLiveness implements Startable {
  private readonly components: ConnectionLivenessComponents
  private readonly init: ConnectionLivenessInit
  private readonly log: Logger
  private readonly timeout: AdaptiveTimeout
  private timer: NodeJS.Timeout | undefined
  private stopping = new AbortController()

  constructor (components: ConnectionLivenessComponents, init: ConnectionLivenessInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('dawn:connection-liveness')
    this.timeout = new AdaptiveTimeout(init.timeout)
  }

  start (): void {
    this.stopping = new AbortController()
    this.timer = setInterval(() => { this.pingAll() }, this.init.intervalMs)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.stopping.abort()
  }

  /** Pings every connection once; one that does not answer in time is aborted. */
  pingAll (): void {
    for (const connection of this.components.connectionManager.getConnections()) {
      void this.ping(connection)
    }
  }

  private async ping (connection: Connection): Promise<void> {
    const signal = this.timeout.getTimeoutSignal({ signal: this.stopping.signal })
    try {
      const muxer = pingingMuxerOf(connection)
      connection.rtt = muxer === undefined ? await pingOverStream(connection, signal) : await muxer.ping({ signal })
    } catch (err) {
      if (this.stopping.signal.aborted || connection.status !== 'open') return
      this.log.error('ping to %p failed, aborting the connection - %e', connection.remotePeer, err)
      connection.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      this.timeout.cleanUp(signal)
    }
  }
}

function pingingMuxerOf (connection: Connection): PingingMuxer | undefined {
  const muxer = (connection as { muxer?: { ping?: unknown } }).muxer
  return typeof muxer?.ping === 'function' ? muxer as PingingMuxer : undefined
}

/**
 * The ping protocol on a stream of its own, as libp2p's monitor does it: a peer that does
 * not speak it still answered the negotiation, which is half a round trip.
 */
async function pingOverStream (connection: Connection, signal: AbortSignal): Promise<number> {
  const opened = Date.now()
  let stream: Stream
  try {
    stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
  } catch (err) {
    if ((err as Error).name === 'UnsupportedProtocolError') return (Date.now() - opened) / 2
    throw err
  }
  try {
    const bytes = byteStream(stream)
    const sent = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const start = Date.now()
    const [, echoed] = await Promise.all([bytes.write(sent, { signal }), bytes.read({ bytes: PING_BYTES, signal })])
    const rtt = Date.now() - start
    if (!Buffer.from(echoed.subarray()).equals(sent)) throw new PingMismatchError()
    await stream.close({ signal })
    return rtt
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

/** As a libp2p service: libp2p starts and stops it with the node. */
export function connectionLiveness (init: ConnectionLivenessInit): (components: ConnectionLivenessComponents) => ConnectionLiveness {
  return (components) => new ConnectionLiveness(components, init)
}
