/**
 * The pulling side of room anti-entropy: one session with one peer. Compares
 * root digests per room, then held ranges per replica, then fetches the
 * records of the seqs this node lacks, in pages. Each record is verified on
 * its own; a bad one is counted and skipped, and its seq stays missing, so
 * the next session asks again (a `future` record is accepted once the clock
 * has caught up).
 */
import { normalizeRanges, subtractRanges } from '../registry/ranges.ts'
import type { Accepted, RoomBook } from './room-book.ts'
import { RoomLog } from './room-log.ts'
import { RoomMessageRejectedError, type RoomRejectReason } from './room-message.ts'
import { MAX_SPANS_PER_REQUEST, parseReplicasReply, parseRoomsReply, parseSpansReply, RoomSyncError, type RoomSyncRequest, type SpanRequest } from './room-sync-wire.ts'

export type Ask = (req: RoomSyncRequest, signal: AbortSignal) => Promise<Uint8Array>

/** Spans one session collects before it fetches; a peer listing more (honest or not) is caught up with over several sessions. */
export const MAX_MISSING_SPANS = 50_000

export interface PullResult {
  /** rooms whose roots differed */
  rooms: number
  spans: number
  records: number
  accepted: number
  rejected: number
}

export interface PullHooks {
  accepted: (a: Accepted) => void
  rejected: (reason: RoomRejectReason) => void
}

export async function pullRooms (ask: Ask, book: RoomBook, peer: string, hooks: PullHooks, signal: AbortSignal): Promise<PullResult> {
  const result: PullResult = { rooms: 0, spans: 0, records: 0, accepted: 0, rejected: 0 }
  const rooms = parseRoomsReply(await ask({ op: 'rooms' }, signal))
  for (const { room, root } of rooms.rooms) {
    // A DM room is pulled only from its other end.
    if (!book.sharedWith(room, peer)) continue
    const log = book.room(room) ?? new RoomLog(room)
    if (log.root() === root) continue
    result.rooms++
    const missing = await missingSpans(ask, room, log, signal)
    await fetchSpans(ask, book, room, missing, hooks, result, signal)
  }
  return result
}

async function missingSpans (ask: Ask, room: string, log: RoomLog, signal: AbortSignal): Promise<SpanRequest[]> {
  const missing: SpanRequest[] = []
  let after: string | undefined
  for (;;) {
    signal.throwIfAborted()
    const reply = parseReplicasReply(await ask({ op: 'replicas', room, root: log.root(), ...(after === undefined ? {} : { after }) }, signal))
    if (reply.room !== room) throw new RoomSyncError('out-of-range', 'replicas reply is for another room')
    for (const { replica, ranges } of reply.replicas) {
      if (after !== undefined && replica <= after) throw new RoomSyncError('out-of-range', 'replicas reply went backwards')
      for (const [lo, hi] of subtractRanges(normalizeRanges(ranges), log.rangesOf(replica))) {
        if (missing.length < MAX_MISSING_SPANS) missing.push({ replica, lo, hi })
      }
      after = replica
    }
    if (!reply.more || missing.length >= MAX_MISSING_SPANS) return missing
    if (reply.replicas.length === 0) throw new RoomSyncError('no-progress', 'replicas reply says more but holds none')
  }
}

async function fetchSpans (ask: Ask, book: RoomBook, room: string, missing: SpanRequest[], hooks: PullHooks, result: PullResult, signal: AbortSignal): Promise<void> {
  while (missing.length > 0) {
    signal.throwIfAborted()
    const batch = missing.splice(0, MAX_SPANS_PER_REQUEST)
    const reply = parseSpansReply(await ask({ op: 'spans', room, spans: batch }, signal))
    if (reply.room !== room) throw new RoomSyncError('out-of-range', 'spans reply is for another room')
    if (reply.spans.length === 0) throw new RoomSyncError('no-progress', 'spans reply covers nothing')
    if (reply.spans.length > batch.length) throw new RoomSyncError('out-of-range', 'spans reply has more spans than asked')
    const carry: SpanRequest[] = []
    for (const [i, span] of reply.spans.entries()) {
      const asked = batch[i] as SpanRequest
      if (span.replica !== asked.replica || span.lo !== asked.lo || span.hi > asked.hi) throw new RoomSyncError('out-of-range', 'spans reply does not answer the spans asked')
      result.spans++
      for (const record of span.records) {
        if (!inSpan(record, span)) throw new RoomSyncError('out-of-range', 'a record lies outside its span')
        result.records++
        try {
          hooks.accepted(book.accept(record))
          result.accepted++
        } catch (err) {
          if (!(err instanceof RoomMessageRejectedError)) throw err
          result.rejected++
          hooks.rejected(err.reason)
        }
      }
      // Every answered span covers at least its first seq, so each round makes progress.
      if (span.hi < asked.hi) carry.push({ replica: asked.replica, lo: span.hi + 1, hi: asked.hi })
    }
    missing.unshift(...carry, ...batch.slice(reply.spans.length))
  }
}

function inSpan (record: unknown, span: { replica: string, lo: number, hi: number }): boolean {
  if (typeof record !== 'object' || record === null) return false
  const { author, inc, seq } = record as { author?: unknown, inc?: unknown, seq?: unknown }
  return typeof seq === 'number' && seq >= span.lo && seq <= span.hi && `${String(author)}.${String(inc)}` === span.replica
}
