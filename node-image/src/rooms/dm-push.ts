/**
 * Live delivery of direct messages: one lp-rpc push to the other end (direct
 * or relayed), retried with backoff while it fails. Nothing is lost if every
 * try fails: a (re)connection runs anti-entropy, which syncs the DM room
 * between its two ends. A push is accepted only from the DM's other end,
 * about a message it wrote (or its own receipt), in the room of the two.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { LogFn } from '../logging/json-logger.ts'
import type { Messenger } from '../p2p/messenger.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import { request, serve } from '../p2p/lp-rpc.ts'
import { backoffDelay, sleep } from '../timing/backoff.ts'
import type { Accepted, RoomBook } from './room-book.ts'
import { RateLimiter, ROOM_LIMITS } from './room-limits.ts'
import type { RoomMetrics } from './room-metrics.ts'
import { dmRoom, encodeRoomMessage, RoomMessageRejectedError, type RoomMessage } from './room-message.ts'
import { parseReceipt, ReceiptError, type Receipt } from './room-receipts.ts'

export interface DmPushInit {
  selfId: string
  protocol: string
  requestTimeoutMs?: number
  /** tries per message before leaving it to anti-entropy */
  attempts?: number
  retry?: { minMs: number, maxMs: number }
}

export interface DmPushComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  messenger: Messenger
  admission: PeerAdmission
  book: RoomBook
  metrics: RoomMetrics
  log: LogFn
  onAccepted: (a: Accepted) => void
  /** the other end's receipt for the DM room of the two */
  onReceipt: (node: string, r: Receipt) => void
}

/** Pushes in flight at once; past that a message waits for anti-entropy. */
const MAX_IN_FLIGHT = 256
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export class DmPush {
  private readonly components: DmPushComponents
  private readonly init: Required<DmPushInit>
  private readonly controller = new AbortController()
  private readonly newRooms = new RateLimiter({ perSecond: ROOM_LIMITS.newDmRoomsPerHour / 3600, burst: ROOM_LIMITS.newDmRoomsPerHour })
  private inFlight = 0

  constructor (components: DmPushComponents, init: DmPushInit) {
    this.components = components
    this.init = { requestTimeoutMs: 10_000, attempts: 6, retry: { minMs: 1000, maxMs: 30_000 }, ...init }
  }

  async start (): Promise<void> {
    const { libp2p, messenger, admission, log } = this.components
    await serve(libp2p, this.init.protocol, admission, async (body, connection) => {
      const from = connection.remotePeer.toString()
      const env = messenger.open(body, { type: 'room.dm', from }, from)
      if (env === undefined) throw new Error('rejected DM push')
      return await Promise.resolve(messenger.seal('room.dm', encoder.encode(JSON.stringify(this.receive(from, JSON.parse(decoder.decode(env.body)))))))
    }, {
      maxBytes: messenger.maxMessageBytes,
      timeoutMs: this.init.requestTimeoutMs,
      service: 'dm-push',
      onError: (err, connection) => { log('debug', 'a DM push failed', { peer: connection.remotePeer.toString(), error: err.message }) }
    })
  }

  async stop (): Promise<void> {
    this.controller.abort(new Error('DM push stopped'))
    await this.components.libp2p.unhandle(this.init.protocol).catch(() => {})
  }

  /** Delivers `msg` to `peer` in the background, retrying with backoff. */
  push (peer: string, msg: RoomMessage): void {
    if (this.inFlight >= MAX_IN_FLIGHT) return
    this.inFlight++
    void this.deliver(peer, msg).finally(() => { this.inFlight-- })
  }

  /** Sends this node's receipt for a room to one peer once: the other end of their DM room, or a newly verified member for the network room. */
  receipt (peer: string, r: Receipt): void {
    const { libp2p, messenger, log } = this.components
    const sealed = messenger.seal('room.dm', encoder.encode(JSON.stringify({ receipt: r })))
    void request(libp2p, peerIdFromString(peer), this.init.protocol, sealed, { maxBytes: messenger.maxMessageBytes, signal: AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.requestTimeoutMs)]) })
      .catch((err: unknown) => { log('debug', 'DM receipt not delivered', { peer, error: (err as Error).message }) })
  }

  private receive (from: string, value: unknown): { ok: boolean, reason?: string } {
    const { book, metrics } = this.components
    const { room, author, receipt } = (typeof value === 'object' && value !== null ? value : {}) as { room?: unknown, author?: unknown, receipt?: unknown }
    const expected = dmRoom(this.init.selfId, from)
    if (receipt !== undefined) {
      try {
        const r = parseReceipt(receipt)
        // A node reports only about itself, so any member may tell us its network room receipt.
        if ((r.room !== expected && r.room !== book.networkRoom) || book.room(r.room) === undefined) return { ok: false, reason: 'unknown-room' }
        this.components.onReceipt(from, r)
        return { ok: true }
      } catch (err) {
        if (err instanceof ReceiptError) return { ok: false, reason: 'malformed' }
        throw err
      }
    }
    if (room !== expected || author !== from) {
      metrics.rejected.inc({ reason: 'not-a-member', source: 'push' })
      return { ok: false, reason: 'not-a-member' }
    }
    if (book.room(expected) === undefined && this.newRooms.take('open') > 0) {
      metrics.rateLimited.inc({ limit: 'dm-rooms' })
      return { ok: false, reason: 'rate-limited' }
    }
    try {
      const accepted = book.accept(value)
      if (accepted.outcome !== 'duplicate') {
        metrics.accepted.inc({ source: 'push' })
        this.components.onAccepted(accepted)
      }
      return { ok: true }
    } catch (err) {
      if (!(err instanceof RoomMessageRejectedError)) throw err
      metrics.rejected.inc({ reason: err.reason, source: 'push' })
      return { ok: false, reason: err.reason }
    }
  }

  private async deliver (peer: string, msg: RoomMessage): Promise<void> {
    const { libp2p, messenger, log } = this.components
    const signal = this.controller.signal
    for (let attempt = 1; attempt <= this.init.attempts && !signal.aborted; attempt++) {
      try {
        const sealed = messenger.seal('room.dm', encoder.encode(encodeRoomMessage(msg)))
        const reply = await request(libp2p, peerIdFromString(peer), this.init.protocol, sealed, { maxBytes: messenger.maxMessageBytes, signal: AbortSignal.any([signal, AbortSignal.timeout(this.init.requestTimeoutMs)]) })
        if (messenger.open(reply, { type: 'room.dm', from: peer }, peer) !== undefined) return
      } catch (err) {
        log('debug', 'DM push failed; retrying', { peer, attempt, error: (err as Error).message })
      }
      await sleep(backoffDelay(attempt, { ...this.init.retry, jitter: 0.2 }), signal)
    }
  }
}
