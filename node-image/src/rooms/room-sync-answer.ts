/**
 * The serving side of room anti-entropy: answers one request from the room
 * book, keeping the reply body under `budget` bytes. Stateless: each request
 * carries its own cursor. A peer sees only rooms it shares with this node.
 */
import type { RoomBook } from './room-book.ts'
import { RoomLog } from './room-log.ts'
import type { Ranges } from '../registry/ranges.ts'
import { MAX_RANGES_PER_REPLICA, MAX_RECORDS_PER_REPLY, MAX_REPLICAS_PER_PAGE, RoomSyncError, type ReplicasReply, type RoomSyncRequest, type RoomsReply, type SpansReply } from './room-sync-wire.ts'

/** Room for a reply's own fields around its lists. */
const REPLY_OVERHEAD = 256
const SPAN_OVERHEAD = 160

export type RoomSyncReply = RoomsReply | ReplicasReply | SpansReply

export function answerRoomSync (book: RoomBook, req: RoomSyncRequest, from: string, budget: number): RoomSyncReply {
  if (req.op === 'rooms') {
    return { op: 'rooms', rooms: book.rooms().filter(l => book.sharedWith(l.room, from)).slice(0, 1024).map(l => ({ room: l.room, root: l.root() })) }
  }
  if (!book.sharedWith(req.room, from)) throw new RoomSyncError('forbidden', 'that room is not shared with the asker')
  const log = book.room(req.room) ?? new RoomLog(req.room)
  if (req.op === 'replicas') {
    const replicas: ReplicasReply['replicas'] = []
    let used = REPLY_OVERHEAD
    let more = false
    for (const held of log.replicas()) {
      if (req.after !== undefined && held.replica <= req.after) continue
      const r = { replica: held.replica, ranges: coarsen(held.ranges) }
      const bytes = r.replica.length + JSON.stringify(r.ranges).length + 32
      if (used + bytes > budget || replicas.length >= MAX_REPLICAS_PER_PAGE) {
        more = true
        break
      }
      used += bytes
      replicas.push(r)
    }
    return { op: 'replicas', room: req.room, replicas, more }
  }
  const spans: SpansReply['spans'] = []
  let used = REPLY_OVERHEAD
  let count = 0
  for (const span of req.spans) {
    if (span.hi < span.lo) throw new RoomSyncError('malformed', 'span has inverted bounds')
    used += SPAN_OVERHEAD + span.replica.length
    const records: unknown[] = []
    let covered = span.hi
    for (const e of log.within(span.replica, span.lo, span.hi)) {
      const bytes = Buffer.byteLength(JSON.stringify(e.msg)) + 1
      if (used + bytes > budget || count >= MAX_RECORDS_PER_REPLY) {
        covered = e.msg.seq - 1
        break
      }
      used += bytes
      count++
      records.push(e.msg)
    }
    if (covered < span.lo) {
      if (spans.length === 0) throw new RoomSyncError('too-large', 'one record does not fit into a sync message')
      break
    }
    spans.push({ replica: span.replica, lo: span.lo, hi: covered, records })
    if (covered < span.hi) break
  }
  return { op: 'spans', room: req.room, spans }
}

/**
 * A replica whose seqs are in more pieces than a reply may list (an author
 * that skipped seqs on purpose) is sent with its tail as one range: the asker
 * then asks for spans that hold fewer records than they cover, which costs
 * round trips but never stops the room from syncing.
 */
function coarsen (ranges: Ranges): Ranges {
  if (ranges.length <= MAX_RANGES_PER_REPLICA) return ranges
  const head = ranges.slice(0, MAX_RANGES_PER_REPLICA - 1)
  const tailStart = ranges[MAX_RANGES_PER_REPLICA - 1] as [number, number]
  const last = ranges[ranges.length - 1] as [number, number]
  return [...head, [tailStart[0], last[1]]]
}
