import type { Stream } from '@libp2p/interface'
import { byteStream } from '@libp2p/utils'
import type { CID } from 'multiformats/cid'
import { BLOCK, BlockExchangeError, BlockProtocolError, CANCEL, CANCELLED, encodeFrame, MAX_ANSWER_FRAME_BYTES, MISSING, readFrame, WANT } from './block-frames.ts'

export interface BlockChannelInit {
  peer: string
  /** Requests outstanding at once; also bounds what an honest holder may send ahead. */
  window: number
  /** How long the holder may take to answer a sent request before the channel is dropped. */
  timeoutMs: number
  /** The channel closes after this long with nothing outstanding. */
  idleMs: number
  /** Checked before each answer is read: nothing is taken from a peer that lost membership. */
  isMember: () => boolean
  onClose: () => void
}

interface Pending {
  /** Settles the caller; undefined once the caller gave up (the id still holds its slot until answered). */
  settle?: (result: { block?: Uint8Array, error?: Error }) => void
  timer: NodeJS.Timeout
}

/**
 * One stream to one holder carrying many block requests: up to `window` WANTs in
 * flight, answers matched by id in any order. A caller's AbortSignal rejects its
 * request at once and sends an advisory CANCEL; the slot frees when the holder's
 * answer arrives, so the holder never has more than `window` answers owed and the
 * read buffer never holds more than `window` frames. Any broken rule (unknown id,
 * unknown kind, oversize frame) drops the channel and fails what is outstanding.
 */
export class BlockChannel {
  private readonly stream: Stream
  private readonly init: BlockChannelInit
  private readonly bytes: ReturnType<typeof byteStream>
  private readonly pending = new Map<number, Pending>()
  private readonly waiting: Array<() => void> = []
  private readonly done = new AbortController()
  private nextId = 0
  private inFlight = 0
  private idleTimer?: NodeJS.Timeout
  private failure?: Error

  constructor (stream: Stream, init: BlockChannelInit) {
    this.stream = stream
    this.init = init
    // The largest honest backlog: every slot's answer at the largest block size.
    this.bytes = byteStream(stream, { maxBufferSize: init.window * (MAX_ANSWER_FRAME_BYTES + 8) })
    void this.readAnswers()
    this.armIdle()
  }

  get closed (): boolean {
    return this.done.signal.aborted
  }

  /** The holder's bytes for `cid` (unverified: the caller checks the hash), or undefined when it lacks the block. */
  async request (cid: CID, signal: AbortSignal): Promise<Uint8Array | undefined> {
    signal.throwIfAborted()
    clearTimeout(this.idleTimer)
    try {
      await this.slot(signal)
    } catch (err) {
      this.armIdle()
      throw err
    }
    const id = this.nextId
    this.nextId = (this.nextId + 1) >>> 0
    let resolve!: (result: { block?: Uint8Array, error?: Error }) => void
    const promise = new Promise<{ block?: Uint8Array, error?: Error }>(r => { resolve = r })
    const entry: Pending = {
      settle: resolve,
      timer: setTimeout(() => { this.fail(new BlockExchangeError(`${this.init.peer} did not answer within ${this.init.timeoutMs} ms`)) }, this.init.timeoutMs)
    }
    this.pending.set(id, entry)
    const onAbort = (): void => {
      if (entry.settle === undefined) return
      entry.settle({ error: signal.reason as Error })
      entry.settle = undefined
      this.send(CANCEL, id)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      this.send(WANT, id, cid.bytes)
      const result = await promise
      if (result.error !== undefined) throw result.error
      return result.block
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  /** Closes our end; the holder finishes, closes its end, and the reader sees the end. */
  close (): void {
    if (this.closed) return
    this.fail(new BlockExchangeError('block channel closed'))
  }

  private async slot (signal: AbortSignal): Promise<void> {
    while (this.inFlight >= this.init.window) {
      if (this.failure !== undefined) throw this.failure
      signal.throwIfAborted()
      let resolve!: () => void
      let reject!: (err: Error) => void
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej })
      const onAbort = (): void => { reject(signal.reason as Error) }
      this.waiting.push(resolve)
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        await promise
      } finally {
        signal.removeEventListener('abort', onAbort)
        const at = this.waiting.indexOf(resolve)
        if (at >= 0) this.waiting.splice(at, 1)
      }
    }
    if (this.failure !== undefined) throw this.failure
    this.inFlight++
  }

  private send (kind: number, id: number, payload?: Uint8Array): void {
    if (this.closed) return
    try {
      // Requests are a few dozen bytes and at most `window` are owed: no need to wait for drain.
      this.stream.send(encodeFrame(kind, id, payload))
    } catch (err) {
      this.fail(new BlockExchangeError(`sending to ${this.init.peer} failed: ${(err as Error).message}`, { cause: err }))
    }
  }

  private async readAnswers (): Promise<void> {
    try {
      for (;;) {
        const frame = await readFrame(this.bytes, MAX_ANSWER_FRAME_BYTES, this.done.signal)
        if (frame === null) throw new BlockExchangeError(`${this.init.peer} closed the block stream`)
        if (!this.init.isMember()) throw new BlockExchangeError(`${this.init.peer} is no longer a verified member`)
        const entry = this.pending.get(frame.id)
        if (entry === undefined) throw new BlockProtocolError(`${this.init.peer} answered id ${frame.id}, which is not outstanding`)
        if (frame.kind !== BLOCK && frame.payload.byteLength > 0) throw new BlockProtocolError(`${this.init.peer} sent an answer of kind ${frame.kind} with a body`)
        if (frame.kind === CANCELLED && entry.settle !== undefined) throw new BlockProtocolError(`${this.init.peer} cancelled id ${frame.id}, which was not cancelled`)
        if (frame.kind !== BLOCK && frame.kind !== MISSING && frame.kind !== CANCELLED) throw new BlockProtocolError(`${this.init.peer} sent an answer of unknown kind ${frame.kind}`)
        this.pending.delete(frame.id)
        clearTimeout(entry.timer)
        entry.settle?.(frame.kind === BLOCK ? { block: frame.payload } : {})
        entry.settle = undefined
        this.inFlight--
        this.waiting.shift()?.()
        if (this.inFlight === 0) this.armIdle()
      }
    } catch (err) {
      this.fail(this.closed ? (this.failure ?? err as Error) : err instanceof BlockExchangeError ? err : new BlockExchangeError(`reading from ${this.init.peer} failed: ${(err as Error).message}`, { cause: err }))
    }
  }

  private armIdle (): void {
    clearTimeout(this.idleTimer)
    if (this.closed || this.inFlight > 0 || this.waiting.length > 0) return
    this.idleTimer = setTimeout(() => { this.close() }, this.init.idleMs)
    this.idleTimer.unref()
  }

  /** Ends the channel once: every outstanding and waiting request fails with `err`. */
  private fail (err: Error): void {
    if (this.closed) return
    this.failure = err
    this.done.abort(err)
    clearTimeout(this.idleTimer)
    this.init.onClose()
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer)
      entry.settle?.({ error: err })
    }
    this.pending.clear()
    for (const wake of this.waiting.splice(0)) wake()
    if (err instanceof BlockProtocolError || this.inFlight > 0) {
      this.stream.abort(err)
    } else {
      void this.stream.close({ signal: AbortSignal.timeout(this.init.timeoutMs) }).catch((e: unknown) => { this.stream.abort(e as Error) })
    }
  }
}
