import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { byteStream } from '@libp2p/utils'
import type { CID } from 'multiformats/cid'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import { decodeCid } from './cid-text.ts'
import type { ContentStore } from './content-store.ts'
import { BLOCK, BlockProtocolError, CANCEL, CANCELLED, encodeFrame, MAX_CID_BYTES, MAX_OUTSTANDING, MAX_REQUEST_FRAME_BYTES, MISSING, readFrame, WANT } from './block-frames.ts'

export interface BlockServerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  admission: PeerAdmission
  store: Pick<ContentStore, 'localBlock'>
  metrics: Pick<NodeMetrics, 'contentBlocksServed'>
  log: LogFn
}

export interface BlockServerInit {
  protocol: string
  /** Blocks of one stream read and sent at once; the other requests wait in order. */
  window: number
  /** How long a stream may sit with no request before it is closed. */
  idleMs: number
  /** How long one block may take to read and send. */
  timeoutMs: number
}

/** Streams of one connection on this protocol; an asker keeps one per peer. */
const MAX_STREAMS_PER_CONNECTION = 8
/**
 * Unread request bytes one stream may buffer: MAX_OUTSTANDING WANTs and CANCELs are
 * under 20 KiB, and requests are read as they arrive; a flood past this resets the stream.
 */
const MAX_UNREAD_REQUEST_BYTES = 256 * 1024

type Result = 'found' | 'missing' | 'cancelled'
interface Job { id: number, cid: CID, cancelled: boolean }

/**
 * The holder's side of the block protocol: reads every frame as it arrives, answers
 * each WANT once (BLOCK, MISSING or CANCELLED), `window` at a time, and refuses an
 * asker that owes more than MAX_OUTSTANDING answers. The admission resets a
 * non-member's stream before reading it; a frame longer than a request is refused
 * from its length prefix.
 */
export class BlockServer {
  private readonly components: BlockServerComponents
  private readonly init: BlockServerInit

  constructor (components: BlockServerComponents, init: BlockServerInit) {
    this.components = components
    this.init = init
  }

  async start (): Promise<void> {
    await this.components.libp2p.handle(this.init.protocol, async (stream: Stream, connection: Connection) => {
      const admitted = this.components.admission.admit(stream, connection, 'content-blocks')
      if (admitted === undefined) return
      const peer = admitted.peer
      try {
        await this.serve(admitted.unwrap(), peer)
        await stream.close({ signal: AbortSignal.timeout(this.init.timeoutMs) })
      } catch (err) {
        this.components.log('debug', 'block stream failed', { peer, error: (err as Error).message })
        stream.abort(err as Error)
      } finally {
        admitted.release()
      }
    }, { runOnLimitedConnection: true, maxInboundStreams: MAX_STREAMS_PER_CONNECTION })
  }

  async stop (): Promise<void> {
    await this.components.libp2p.unhandle(this.init.protocol)
  }

  private async serve (stream: Stream, peer: string): Promise<void> {
    const { metrics } = this.components
    const bytes = byteStream(stream, { maxBufferSize: MAX_UNREAD_REQUEST_BYTES })
    const owed = new Map<number, Job>()
    const queued: Job[] = []
    const done = new AbortController()
    let running = 0
    let failure: Error | undefined
    let allAnswered: (() => void) | undefined
    const fail = (err: Error): void => {
      failure ??= err
      stream.abort(failure)
      allAnswered?.()
    }
    const next = (): void => {
      while (running < this.init.window && queued.length > 0 && failure === undefined) {
        const job = queued.shift() as Job
        running++
        void this.answer(stream, job, done.signal).then(result => {
          metrics.contentBlocksServed.inc({ result })
        }, fail).finally(() => {
          running--
          owed.delete(job.id)
          next()
          if (owed.size === 0) allAnswered?.()
        })
      }
    }
    // One idle timer for the stream, pushed back by every frame.
    const idle = setTimeout(() => { done.abort(new Error(`no request for ${this.init.idleMs} ms`)) }, this.init.idleMs)
    try {
      for (;;) {
        const frame = await readFrame(bytes, MAX_REQUEST_FRAME_BYTES, done.signal)
        if (frame === null) break
        idle.refresh()
        if (frame.kind === CANCEL) {
          const job = owed.get(frame.id)
          if (job !== undefined) job.cancelled = true
          this.components.log('debug', 'block request cancelled', { peer, id: frame.id, owed: job !== undefined })
          continue
        }
        if (frame.kind !== WANT || frame.payload.byteLength > MAX_CID_BYTES) throw new BlockProtocolError(`unexpected request frame of kind ${frame.kind}`)
        if (owed.has(frame.id)) throw new BlockProtocolError(`request id ${frame.id} is already being answered`)
        if (owed.size >= MAX_OUTSTANDING) throw new BlockProtocolError(`more than ${MAX_OUTSTANDING} requests outstanding`)
        const job = { id: frame.id, cid: decodeCid(frame.payload), cancelled: false }
        owed.set(job.id, job)
        queued.push(job)
        next()
      }
      // The asker closed its end: finish what it asked for, then close ours.
      if (owed.size > 0) await new Promise<void>(resolve => { allAnswered = resolve })
      if (failure !== undefined) throw failure
    } catch (err) {
      if (err instanceof BlockProtocolError || (err as Error).name === 'BadCidError') metrics.contentBlocksServed.inc({ result: 'rejected' })
      throw failure ?? err
    } finally {
      clearTimeout(idle)
      done.abort()
    }
  }

  private async answer (stream: Stream, job: Job, signal: AbortSignal): Promise<Result> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.init.timeoutMs)])
    const block = job.cancelled ? undefined : await this.components.store.localBlock(job.cid, { signal: deadline })
    // A CANCEL that arrived while the block was read still saves sending it.
    const result: Result = job.cancelled ? 'cancelled' : block === undefined ? 'missing' : 'found'
    const frame = result === 'found' ? encodeFrame(BLOCK, job.id, block) : encodeFrame(result === 'missing' ? MISSING : CANCELLED, job.id)
    // Each answer waits for its own drain, so at most `window` blocks sit in the write buffer.
    if (!stream.send(frame)) await stream.onDrain({ signal: deadline })
    return result
  }
}
