/**
 * Delivered and seen, per (room, node): one last-writer-wins register per
 * node, so the state grows with the members, not the messages. A node reports
 * only about itself, so the envelope's signature is all the proof needed.
 * Delivered to X means X holds every seq of the author's replica up to the
 * message's; seen by X means X's page showed everything up to its order key.
 */
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { LruMap } from '../p2p/lru-map.ts'
import { compareHlc, HybridClock, MAX_COUNTER, MAX_MS } from './hlc.ts'
import type { RoomLog } from './room-log.ts'
import { INC_PATTERN, NODE_ID, replicaOf, ROOM_ID, type RoomMessage } from './room-message.ts'

const MAX_REPLICAS = 512

export const ReceiptSchema = Type.Object({
  room: Type.String({ pattern: ROOM_ID, maxLength: 200 }),
  hlc: Type.Object({ ms: Type.Integer({ minimum: 0, maximum: MAX_MS }), c: Type.Integer({ minimum: 0, maximum: MAX_COUNTER }) }, { additionalProperties: false }),
  /** per replica `<author>.<inc>`: the highest seq below which this node holds every one */
  delivered: Type.Array(Type.Tuple([Type.String({ maxLength: 120 }), Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })]), { maxItems: MAX_REPLICAS }),
  seenUpTo: Type.Optional(Type.String({ maxLength: 200 }))
}, { additionalProperties: false })
export type Receipt = Static<typeof ReceiptSchema>
const checkReceipt = Compile(ReceiptSchema)
const REPLICA = new RegExp(`${NODE_ID.slice(0, -1)}\\.${INC_PATTERN.slice(1)}`)

export interface NodeReceipt {
  node: string
  delivered: Map<string, number>
  seenUpTo?: string
  hlc: Receipt['hlc']
}

export class ReceiptError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ReceiptError'
  }
}

/** Parses a peer's receipt; throws ReceiptError. */
export function parseReceipt (value: unknown): Receipt {
  if (!checkReceipt.Check(value) || !value.delivered.every(([r]) => REPLICA.test(r))) throw new ReceiptError('receipt is malformed')
  return value
}

export class RoomReceipts {
  private readonly selfId: string
  private readonly clock: HybridClock
  /** room -> node -> receipt; both keys come from peers, so both maps are bounded */
  private readonly byRoom = new LruMap<string, LruMap<string, NodeReceipt>>(1024)
  private readonly ownSeen = new LruMap<string, string>(1024)

  constructor (init: { selfId: string, now?: () => number }) {
    this.selfId = init.selfId
    this.clock = new HybridClock(init.now === undefined ? {} : { now: init.now })
  }

  /** Applies a peer's receipt when it is newer than the one held; true when it changed anything. */
  apply (node: string, r: Receipt): boolean {
    let room = this.byRoom.get(r.room)
    if (room === undefined) this.byRoom.set(r.room, room = new LruMap<string, NodeReceipt>(1024))
    const prev = room.get(node)
    if (prev !== undefined && compareHlc(prev.hlc, r.hlc) >= 0) return false
    room.set(node, { node, hlc: r.hlc, delivered: new Map(r.delivered), ...(r.seenUpTo === undefined ? {} : { seenUpTo: r.seenUpTo }) })
    return true
  }

  /** Records how far this node's page has seen; false when it was already at or past it. */
  markSeen (room: string, upTo: string): boolean {
    const prev = this.ownSeen.get(room)
    if (prev !== undefined && prev >= upTo) return false
    this.ownSeen.set(room, upTo)
    return true
  }

  seenUpTo (room: string): string | undefined {
    return this.ownSeen.get(room)
  }

  /** This node's receipt for `log`, stamped now. */
  own (log: RoomLog): Receipt {
    const delivered: Array<[string, number]> = []
    for (const { replica, ranges } of log.replicas()) {
      const first = ranges[0]
      if (first?.[0] === 1) delivered.push([replica, first[1]])
      if (delivered.length >= MAX_REPLICAS) break
    }
    const seenUpTo = this.ownSeen.get(log.room)
    return { room: log.room, hlc: this.clock.tick(), delivered, ...(seenUpTo === undefined ? {} : { seenUpTo }) }
  }

  /** Other nodes that hold and that have seen this message. */
  deliveryOf (msg: RoomMessage, key: string): { deliveredTo: string[], seenBy: string[] } {
    const deliveredTo: string[] = []
    const seenBy: string[] = []
    const room = this.byRoom.get(msg.room)
    if (room === undefined) return { deliveredTo, seenBy }
    const replica = replicaOf(msg)
    for (const [node, r] of room.entries()) {
      if (node === msg.author || node === this.selfId) continue
      if ((r.delivered.get(replica) ?? 0) >= msg.seq) deliveredTo.push(node)
      if (r.seenUpTo !== undefined && r.seenUpTo >= key) seenBy.push(node)
    }
    return { deliveredTo: deliveredTo.sort(), seenBy: seenBy.sort() }
  }
}
