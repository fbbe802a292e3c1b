import type { Connection, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import type { Messenger } from '../p2p/messenger.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import type { ToolCallService } from './tool-call-service.ts'
import { ChannelFrameError, decodeOpen, traceOf, decodeRequestPayload, deriveKeys, encodeAccept, FRAME_OVERHEAD, FrameOpener, FrameSealer, KIND_CANCEL, KIND_EVENT, KIND_REQUEST, KIND_RESPONSE, newEphemeral } from './call-channel-crypto.ts'
import { encodeJson, MODE_PLAIN, withMode } from './tool-call-wire.ts'

export interface CallChannelServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  admission: PeerAdmission
  messenger: Messenger
  calls: Pick<ToolCallService, 'answerBody'>
  metrics: NodeMetrics
  log: LogFn
}

export interface CallChannelServiceInit {
  selfId: string
  network: string
  protocol: string
  /** Calls one channel may have running at once; more are answered busy. */
  maxConcurrent: number
  /** How long the caller may take to open the channel, and the host to write one frame. */
  timeoutMs?: number
}

const HANDSHAKE_MAX_BYTES = 8 * 1024
/** Channels one connection may hold at once: one, and one more while the caller replaces it. */
const CHANNELS_PER_CONNECTION = 2
const NO_ID = '0'.repeat(32)

/**
 * Hosting side of the warm call channel (call-channel-crypto.ts): a verified member opens
 * one stream, proves itself with one signed envelope, and then sends many calls as
 * authenticated frames; each runs as a call on its own stream would (ToolCallService.answerBody),
 * and its events and response go back as frames. Any frame that does not verify ends the channel.
 */
export class CallChannelService {
  private readonly components: CallChannelServiceComponents
  private readonly init: CallChannelServiceInit

  constructor (components: CallChannelServiceComponents, init: CallChannelServiceInit) {
    this.components = components
    this.init = init
  }

  async start (): Promise<void> {
    // Direct connections only: a relayed call keeps its own signed stream.
    await this.components.libp2p.handle(this.init.protocol, async (stream, connection) => { await this.serve(stream, connection) }, {
      maxInboundStreams: CHANNELS_PER_CONNECTION
    })
  }

  async stop (): Promise<void> {
    await this.components.libp2p.unhandle(this.init.protocol).catch(() => {})
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    // Membership first: a stream from anyone else is reset before a byte is read.
    const admitted = this.components.admission.admit(stream, connection, 'toolcall-channel')
    if (admitted === undefined) return
    const from = admitted.peer
    const { messenger, metrics, log } = this.components
    const timeoutMs = this.init.timeoutMs ?? 30_000
    const closed = new AbortController()
    stream.addEventListener('close', () => { closed.abort(new Error('channel closed')) }, { once: true })
    const running = new Map<string, AbortController>()
    const fail = (err: unknown): void => {
      if (!closed.signal.aborted) closed.abort(err)
      stream.abort(err as Error)
    }
    try {
      const hello = await admitted.readFrame(HANDSHAKE_MAX_BYTES, AbortSignal.any([closed.signal, AbortSignal.timeout(timeoutMs)]))
      const opened = messenger.tryOpen(hello, { type: 'toolcall.channel', from }, from)
      if ('reason' in opened) throw new ChannelFrameError('malformed', `channel open refused: ${opened.reason}`)
      const theirs = decodeOpen(opened.envelope.body, this.init.selfId)
      const mine = newEphemeral()
      const keys = deriveKeys(mine, theirs.publicKey, { network: this.init.network, caller: from, host: this.init.selfId, callerNonce: theirs.nonce, hostNonce: mine.nonce })
      await admitted.write(messenger.seal('toolcall.channel', encodeAccept(mine, theirs.nonce)), AbortSignal.any([closed.signal, AbortSignal.timeout(timeoutMs)]))
      const opener = new FrameOpener(keys.up)
      const sealer = new FrameSealer(keys.down)
      // Frames go out one after another, numbered in the order they are written.
      let writing = Promise.resolve()
      const send = async (kind: number, callId: Uint8Array, payload: Uint8Array): Promise<void> => {
        writing = writing.then(async () => { await admitted.write(sealer.seal(kind, callId, payload), AbortSignal.any([closed.signal, AbortSignal.timeout(timeoutMs)])) })
        await writing
      }
      const maxFrame = messenger.maxBytesFor('toolcall.request') + FRAME_OVERHEAD + 16 * 1024
      for (;;) {
        const { frame, done } = await admitted.readHeldFrame(maxFrame, closed.signal)
        let callId: Uint8Array
        let kind: number
        let payload: Uint8Array
        try {
          ({ callId, kind, payload } = opener.open(frame))
        } catch (err) {
          done()
          throw err
        }
        const key = Buffer.from(callId).toString('hex')
        if (kind === KIND_CANCEL) {
          running.get(key)?.abort(new Error('the caller cancelled the call'))
          done()
          continue
        }
        if (kind !== KIND_REQUEST || running.has(key)) {
          done()
          throw new ChannelFrameError('malformed', kind === KIND_REQUEST ? 'call id already running on this channel' : `frame kind ${kind} from the caller`)
        }
        if (running.size >= this.init.maxConcurrent) {
          done()
          metrics.toolCallsServed.inc({ result: 'busy' })
          send(KIND_RESPONSE, callId, withMode(MODE_PLAIN, encodeJson({ id: NO_ID, ok: false, code: 'busy', message: `channel has ${running.size} calls running, limit ${this.init.maxConcurrent}` }))).catch(fail)
          continue
        }
        const cancel = new AbortController()
        running.set(key, cancel)
        const request = decodeRequestPayload(payload)
        const gone = AbortSignal.any([closed.signal, cancel.signal])
        void this.components.calls.answerBody(request.body, request.ts, traceOf(request.trace), from, gone, undefined, (event) => { send(KIND_EVENT, callId, event).catch(fail) })
          .then(async (reply) => { await send(KIND_RESPONSE, callId, reply) })
          .catch(fail)
          .finally(() => { running.delete(key); done() })
      }
    } catch (err) {
      if (!closed.signal.aborted || err instanceof ChannelFrameError) {
        metrics.toolCallsRejected.inc({ reason: err instanceof ChannelFrameError ? `channel-${err.reason}` : 'channel' })
        log('debug', 'call channel ended', { peer: from, error: (err as Error).message })
      }
      fail(err)
    } finally {
      for (const call of running.values()) call.abort(new Error('channel closed'))
      admitted.release()
    }
  }
}
