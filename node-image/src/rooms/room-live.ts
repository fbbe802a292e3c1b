/**
 * The live side of rooms: three gossip topics (messages, receipts, typing)
 * with per-author rate limits, and the debounced receipts this node sends.
 * A throw inside a handler makes gossipsub reject the message and lower the
 * sender's score, so only the sender's own faults throw: clock skew (a
 * `future` record), a duplicate or an equivocation do not.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { OpenedEnvelope } from '../p2p/envelope.ts'
import { GossipChannel } from '../p2p/gossip-channel.ts'
import type { Messenger, MessengerComponents } from '../p2p/messenger.ts'
import { LruMap } from '../p2p/lru-map.ts'
import type { Accepted, RoomBook } from './room-book.ts'
import { RateLimiter, ROOM_LIMITS } from './room-limits.ts'
import type { RoomMetrics } from './room-metrics.ts'
import { encodeRoomMessage, ROOM_ID, RoomMessageRejectedError, type RoomMessage } from './room-message.ts'
import { parseReceipt, type Receipt, type RoomReceipts } from './room-receipts.ts'

export interface RoomLiveInit {
  selfId: string
  topics: { messages: string, receipts: string, typing: string }
  /** receipts wait this long after a change, so a burst sends one */
  receiptDelayMs?: number
}

export interface RoomLiveComponents extends MessengerComponents {
  messenger: Messenger
  pubsub: GossipSub
  book: RoomBook
  receipts: RoomReceipts
  roomMetrics: RoomMetrics
  onAccepted: (a: Accepted, source: 'gossip') => void
  onReceipt: (node: string, r: Receipt) => void
  onTyping: (node: string, room: string, nick: string) => void
}

const TypingSchema = Type.Object({ room: Type.String({ pattern: ROOM_ID, maxLength: 200 }), nick: Type.String({ maxLength: ROOM_LIMITS.maxNick }) }, { additionalProperties: false })
const checkTyping = Compile(TypingSchema)
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export class RoomLive {
  private readonly components: RoomLiveComponents
  private readonly init: Required<RoomLiveInit>
  private readonly messages: GossipChannel
  private readonly receiptChannel: GossipChannel
  private readonly typingChannel: GossipChannel
  private readonly gossipRate = new RateLimiter(ROOM_LIMITS.gossipRate)
  private readonly typingSeen = new LruMap<string, number>(ROOM_LIMITS.maxBuckets)
  private readonly pendingReceipts = new Map<string, NodeJS.Timeout>()

  constructor (components: RoomLiveComponents, init: RoomLiveInit) {
    this.components = components
    this.init = { receiptDelayMs: 250, ...init }
    const channel = { metrics: components.metrics, log: components.log, messenger: components.messenger, pubsub: components.pubsub, selfId: init.selfId }
    this.messages = new GossipChannel(channel, { topic: init.topics.messages, type: 'room.message', onMessage: env => { this.onMessage(env) } })
    this.receiptChannel = new GossipChannel(channel, { topic: init.topics.receipts, type: 'room.receipt', onMessage: env => { this.onReceipt(env) } })
    this.typingChannel = new GossipChannel(channel, { topic: init.topics.typing, type: 'room.typing', onMessage: env => { this.onTyping(env) } })
  }

  async start (): Promise<void> {
    await this.messages.start()
    await this.receiptChannel.start()
    await this.typingChannel.start()
  }

  async stop (): Promise<void> {
    for (const t of this.pendingReceipts.values()) clearTimeout(t)
    this.pendingReceipts.clear()
    await this.typingChannel.stop()
    await this.receiptChannel.stop()
    await this.messages.stop()
  }

  async publish (msg: RoomMessage): Promise<void> {
    await this.messages.publish(encoder.encode(encodeRoomMessage(msg)))
  }

  async typing (room: string, nick: string): Promise<void> {
    await this.typingChannel.publish(encoder.encode(JSON.stringify({ room, nick })))
  }

  /** Sends this node's receipt for `room` shortly (one per burst of changes). */
  receiptSoon (room: string): void {
    if (room !== this.components.book.networkRoom || this.pendingReceipts.has(room)) return
    const timer = setTimeout(() => {
      this.pendingReceipts.delete(room)
      const log = this.components.book.room(room)
      if (log !== undefined) void this.receiptChannel.publish(encoder.encode(JSON.stringify(this.components.receipts.own(log))))
    }, this.init.receiptDelayMs)
    timer.unref()
    this.pendingReceipts.set(room, timer)
  }

  private onMessage (env: OpenedEnvelope): void {
    const { book, roomMetrics, log } = this.components
    const value = JSON.parse(decoder.decode(env.body)) as unknown
    const { room, author, inc } = (typeof value === 'object' && value !== null ? value : {}) as { room?: unknown, author?: unknown, inc?: unknown }
    // Direct messages never travel by gossip: only their two ends may hold them.
    if (room !== book.networkRoom) {
      roomMetrics.rejected.inc({ reason: 'unknown-room', source: 'gossip' })
      throw new Error('not the network room')
    }
    if (this.gossipRate.take(`${String(author)}.${String(inc)}`) > 0) {
      roomMetrics.rateLimited.inc({ limit: 'gossip' })
      throw new Error('author over its gossip rate')
    }
    try {
      const accepted = book.accept(value)
      if (accepted.outcome === 'duplicate') return
      roomMetrics.accepted.inc({ source: 'gossip' })
      if (accepted.outcome === 'replaced') this.equivocation(accepted.entry.msg)
      this.components.onAccepted(accepted, 'gossip')
    } catch (err) {
      if (!(err instanceof RoomMessageRejectedError)) throw err
      roomMetrics.rejected.inc({ reason: err.reason, source: 'gossip' })
      if (err.reason === 'equivocation') {
        const mine = book.room(book.networkRoom)?.get(`${String(author)}.${String(inc)}@${String((value as { seq?: unknown }).seq)}`)
        if (mine !== undefined) this.equivocation(mine.msg)
        return
      }
      if (err.reason === 'future') return
      log('debug', 'room message refused', { from: env.from, reason: err.reason, error: err.message })
      throw err
    }
  }

  /** Counts it, names the author, and re-sends the version every node keeps, so the other side converges too. */
  private equivocation (winner: RoomMessage): void {
    this.components.roomMetrics.equivocations.inc()
    this.components.log('warn', 'a node signed two versions of one room message', { author: winner.author, seq: winner.seq })
    void this.publish(winner)
  }

  private onReceipt (env: OpenedEnvelope): void {
    const r = parseReceipt(JSON.parse(decoder.decode(env.body)))
    if (r.room !== this.components.book.networkRoom) throw new Error('receipt for a room not gossiped')
    if (this.components.receipts.apply(env.from, r)) this.components.onReceipt(env.from, r)
  }

  private onTyping (env: OpenedEnvelope): void {
    const value = JSON.parse(decoder.decode(env.body)) as unknown
    if (!checkTyping.Check(value) || value.room !== this.components.book.networkRoom) throw new Error('typing notice is malformed')
    const key = `${env.from} ${value.room}`
    const last = this.typingSeen.get(key) ?? 0
    const now = Date.now()
    if (now - last < ROOM_LIMITS.typingGapMs / 2) {
      this.components.roomMetrics.rateLimited.inc({ limit: 'typing-in' })
      return
    }
    this.typingSeen.set(key, now)
    this.components.onTyping(env.from, value.room, value.nick)
  }
}
