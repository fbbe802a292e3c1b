import type { LengthPrefixedStream } from '@libp2p/utils'
import { lengthPrefixed } from '../p2p/length-prefix.ts'
import type { Connection, Stream } from '@libp2p/interface'
import type { Messenger } from '../p2p/messenger.ts'
import { LruMap } from '../p2p/lru-map.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { ChannelFrameError, decodeAccept, deriveKeys, encodeOpen, FRAME_OVERHEAD, FrameOpener, FrameSealer, KIND_CANCEL, KIND_EVENT, KIND_REQUEST, KIND_RESPONSE, newEphemeral } from './call-channel-crypto.ts'
import { NodeUnreachableError, OutcomeUnknownError } from './errors.ts'

export interface CallChannelsComponents {
  messenger: Messenger
  log: LogFn
}

export interface CallChannelsInit {
  selfId: string
  network: string
  protocol: string
  /** Calls one channel carries at once; more are refused as the per-call streams' cap refuses them. */
  maxCalls: number
  /** How long opening a channel may take. */
  openTimeoutMs?: number
}

/** How long a node that does not speak the channel protocol is called on per-call streams without asking again. */
const UNSUPPORTED_MEMORY_MS = 10 * 60_000
/** The same after a channel failed to open for another reason (refused, timed out), so not every call pays a failed open. */
const FAILED_OPEN_MEMORY_MS = 5_000
const REMEMBERED_NODES = 1024

interface Pending {
  resolve: (body: Uint8Array) => void
  reject: (err: unknown) => void
  onEvent?: (body: Uint8Array) => void
}

/**
 * Caller side of the warm call channel (call-channel-crypto.ts): one stream per host
 * node, opened with one signed handshake, carrying calls as authenticated frames. A node
 * that does not speak the protocol, or a channel that cannot be opened, leaves the call
 * to a per-call stream (undefined from get()).
 */
export class CallChannels {
  private readonly components: CallChannelsComponents
  private readonly init: CallChannelsInit
  private readonly open = new Map<string, CallChannel>()
  private readonly opening = new Map<string, Promise<CallChannel | undefined>>()
  private readonly perCallUntil = new LruMap<string, number>(REMEMBERED_NODES)

  constructor (components: CallChannelsComponents, init: CallChannelsInit) {
    this.components = components
    this.init = init
  }

  /** A channel to `nodeId` over `connection` (a direct one), opening it if needed. */
  async get (nodeId: string, connection: Connection, signal: AbortSignal): Promise<CallChannel | undefined> {
    if ((this.perCallUntil.get(nodeId) ?? 0) > Date.now()) return undefined
    const current = this.open.get(nodeId)
    if (current !== undefined && !current.closed && current.connection.status === 'open') return current
    const opening = this.opening.get(nodeId) ?? this.startOpening(nodeId, connection)
    return await raceAbort(opening, signal)
  }

  private startOpening (nodeId: string, connection: Connection): Promise<CallChannel | undefined> {
    const opening = this.openChannel(nodeId, connection)
      .catch((err: unknown) => {
        const unsupported = (err as Error).name === 'UnsupportedProtocolError'
        this.perCallUntil.set(nodeId, Date.now() + (unsupported ? UNSUPPORTED_MEMORY_MS : FAILED_OPEN_MEMORY_MS))
        if (!unsupported) this.components.log('debug', 'call channel not opened; calling on per-call streams', { peer: nodeId, error: (err as Error).message })
        return undefined
      })
      .finally(() => { this.opening.delete(nodeId) })
    this.opening.set(nodeId, opening)
    return opening
  }

  private async openChannel (nodeId: string, connection: Connection): Promise<CallChannel> {
    const { messenger } = this.components
    const signal = AbortSignal.timeout(this.init.openTimeoutMs ?? 10_000)
    const stream = await connection.newStream(this.init.protocol, { signal })
    try {
      const lp = lengthPrefixed(stream, messenger.maxBytesFor('toolcall.response') + FRAME_OVERHEAD)
      const mine = newEphemeral()
      await lp.write(messenger.seal('toolcall.channel', encodeOpen(mine, nodeId)), { signal })
      const opened = messenger.tryOpen((await lp.read({ signal })).subarray(), { type: 'toolcall.channel', from: nodeId }, nodeId)
      if ('reason' in opened) throw new ChannelFrameError('malformed', `channel accept refused: ${opened.reason}`)
      const theirs = decodeAccept(opened.envelope.body, mine.nonce)
      const keys = deriveKeys(mine, theirs.publicKey, { network: this.init.network, caller: this.init.selfId, host: nodeId, callerNonce: mine.nonce, hostNonce: theirs.nonce })
      const channel = new CallChannel(stream, lp, connection, nodeId, new FrameSealer(keys.up), new FrameOpener(keys.down), this.init.maxCalls, () => {
        if (this.open.get(nodeId) === channel) this.open.delete(nodeId)
      })
      this.open.set(nodeId, channel)
      return channel
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }
}

/** One open channel: many calls, each a request frame answered by event frames and one response frame. */
export class CallChannel {
  readonly connection: Connection
  closed = false
  private readonly stream: Stream
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly nodeId: string
  private readonly sealer: FrameSealer
  private readonly opener: FrameOpener
  private readonly maxCalls: number
  private readonly onClosed: () => void
  private readonly pending = new Map<string, Pending>()
  private writing = Promise.resolve()

  constructor (stream: Stream, lp: LengthPrefixedStream<Stream>, connection: Connection, nodeId: string, sealer: FrameSealer, opener: FrameOpener, maxCalls: number, onClosed: () => void) {
    this.stream = stream
    this.lp = lp
    this.connection = connection
    this.nodeId = nodeId
    this.sealer = sealer
    this.opener = opener
    this.maxCalls = maxCalls
    this.onClosed = onClosed
    void this.readLoop()
  }

  /**
   * Sends one request (`payload` from encodeRequestPayload) and resolves with its response
   * body. Once the request is handed to the stream, a lost channel is outcome-unknown.
   */
  async call (callId: Uint8Array, payload: Uint8Array, signal: AbortSignal, onEvent?: (body: Uint8Array) => void): Promise<Uint8Array> {
    if (this.closed) throw new NodeUnreachableError(`call channel to ${this.nodeId} is closed`)
    if (this.pending.size >= this.maxCalls) throw new NodeUnreachableError(`${this.pending.size} calls in flight to ${this.nodeId}, limit ${this.maxCalls}`)
    signal.throwIfAborted()
    const key = Buffer.from(callId).toString('hex')
    let onAbort: (() => void) | undefined
    try {
      return await new Promise<Uint8Array>((resolve, reject) => {
        this.pending.set(key, { resolve, reject, ...(onEvent === undefined ? {} : { onEvent }) })
        onAbort = () => {
          if (!this.pending.delete(key)) return
          reject(asError(signal.reason))
          // The host stops the call; its answer, if any, is then for no one and dropped.
          this.write(KIND_CANCEL, callId, new Uint8Array(0)).catch(() => {})
        }
        signal.addEventListener('abort', onAbort, { once: true })
        this.write(KIND_REQUEST, callId, payload).catch((err: unknown) => { this.fail(err) })
      })
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
    }
  }

  private async write (kind: number, callId: Uint8Array, payload: Uint8Array): Promise<void> {
    // Numbered at the moment of writing, so the sequence is the order on the wire.
    this.writing = this.writing.then(async () => { await this.lp.write(this.sealer.seal(kind, callId, payload)) })
    await this.writing
  }

  private async readLoop (): Promise<void> {
    try {
      for (;;) {
        const { kind, callId, payload } = this.opener.open((await this.lp.read()).subarray())
        if (kind !== KIND_EVENT && kind !== KIND_RESPONSE) throw new ChannelFrameError('malformed', `frame kind ${kind} from the host`)
        const key = Buffer.from(callId).toString('hex')
        const call = this.pending.get(key)
        // Frames of a call cancelled here are for no one.
        if (call === undefined) continue
        if (kind === KIND_RESPONSE) {
          this.pending.delete(key)
          call.resolve(payload.slice())
          continue
        }
        try {
          if (call.onEvent === undefined) throw new ChannelFrameError('malformed', 'event frame on a call that asked for none')
          call.onEvent(payload)
        } catch (err) {
          // A bad event ends its call, not the channel: the frame itself was authentic.
          this.pending.delete(key)
          call.reject(err)
          this.write(KIND_CANCEL, callId, new Uint8Array(0)).catch(() => {})
        }
      }
    } catch (err) {
      this.fail(err)
    }
  }

  private fail (err: unknown): void {
    if (this.closed) return
    this.closed = true
    this.stream.abort(asError(err))
    for (const call of this.pending.values()) {
      call.reject(new OutcomeUnknownError(`call channel to ${this.nodeId} ended without a response after the request was sent; the call may have run there: ${(err as Error).message}`, { cause: err, nodeId: this.nodeId }))
    }
    this.pending.clear()
    this.onClosed()
  }
}

async function raceAbort<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(asError(signal.reason)) }
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}

function asError (reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason))
}
