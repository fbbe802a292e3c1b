/**
 * The serving side of anti-entropy: answers one request from the range index,
 * keeping the reply body under `budget` bytes. Stateless: every request
 * carries its own cursor, so serving holds no memory per peer.
 */
import type { DotIndex, RangeItem } from './dot-ranges.ts'
import { isNormalized, rangesContain, rangesOfSorted, rangesWithin, type Ranges } from './ranges.ts'
import { MAX_ITEMS_PER_PAGE, MAX_REPLICAS_PER_PAGE, MAX_VALUES_PER_REPLY, RegistrySyncError } from './sync-wire.ts'
import type { BlocksReply, BlocksRequest, ReplicasReply, ReplicasRequest, SpanReply, SpansReply, SpansRequest, SyncReply, SyncRequest } from './sync-wire.ts'

/** Room for the reply's own fields around its lists (`{"op":"spans","spans":[]}` and the like). */
const REPLY_OVERHEAD = 128
/** A span's own fields besides its replica id and lists. */
const SPAN_OVERHEAD = 96
/** Upper bound of one range's JSON: `[9007199254740991,9007199254740991],` */
const RANGE_BYTES = 36

export function answer<V> (index: DotIndex<V>, request: SyncRequest, budget: number): SyncReply {
  switch (request.op) {
    case 'replicas': return answerReplicas(index, request, budget)
    case 'blocks': return answerBlocks(index, request, budget)
    case 'spans': return answerSpans(index, request, budget)
  }
}

function answerReplicas<V> (index: DotIndex<V>, request: ReplicasRequest, budget: number): ReplicasReply {
  if (request.root === index.root) return { op: 'replicas', root: index.root, inSync: true, replicas: [], more: false }
  const replicas: ReplicasReply['replicas'] = []
  let used = REPLY_OVERHEAD
  let more = false
  for (const s of index.summariesAfter(request.after)) {
    const bytes = s.replica.length + s.digest.length + 64
    if (used + bytes > budget || replicas.length >= MAX_REPLICAS_PER_PAGE) {
      more = true
      break
    }
    used += bytes
    replicas.push({ replica: s.replica, max: s.max, digest: s.digest })
  }
  return { op: 'replicas', root: index.root, inSync: false, replicas, more }
}

function answerBlocks<V> (index: DotIndex<V>, request: BlocksRequest, budget: number): BlocksReply {
  const items: RangeItem[] = []
  let used = REPLY_OVERHEAD + request.replica.length
  for (const item of index.itemsFrom(request.replica, request.from)) {
    const bytes = JSON.stringify(item).length + 1
    if (used + bytes > budget || items.length >= MAX_ITEMS_PER_PAGE) {
      return { op: 'blocks', replica: request.replica, items, next: item.b }
    }
    used += bytes
    items.push(item)
  }
  return { op: 'blocks', replica: request.replica, items }
}

/**
 * Answers spans in order until the budget is spent; the span being filled when
 * it runs out is cut after its last whole value, and later spans are left for
 * the next request. A span's ranges may take at most an eighth of the budget
 * (a longer span is cut where they run out), so a value that is not in
 * `tooLarge` always fits into an otherwise empty reply: every reply makes
 * progress. A value too large for any message is named in `tooLarge` instead
 * of stalling the exchange.
 */
function answerSpans<V> (index: DotIndex<V>, request: SpansRequest, budget: number): SpansReply {
  const maxRanges = Math.max(2, Math.floor(budget / 8 / RANGE_BYTES))
  const spans: SpanReply[] = []
  let used = REPLY_OVERHEAD
  let valueCount = 0
  for (const span of request.spans) {
    const { replica, lo, have } = span
    if (span.hi < lo || !isNormalized(have) || !rangesWithin(have, [[lo, span.hi]])) {
      throw new RegistrySyncError('malformed', 'span request has inverted bounds or a malformed have list')
    }
    const hi = cutByRanges(index, replica, lo, span.hi, maxRanges)
    const spanBytes = replica.length + SPAN_OVERHEAD
    used += spanBytes + maxRanges * RANGE_BYTES
    const values: SpanReply['values'] = []
    const tooLarge: number[] = []
    let covered = hi
    for (const dot of index.liveWithin(replica, lo, hi)) {
      if (rangesContain(have, dot.dot.counter)) continue
      const bytes = dot.bytes + dot.key.length * 2 + 48
      if (REPLY_OVERHEAD + spanBytes + maxRanges * RANGE_BYTES + bytes > budget) {
        tooLarge.push(dot.dot.counter)
        continue
      }
      if (used + bytes > budget || valueCount >= MAX_VALUES_PER_REPLY) {
        covered = dot.dot.counter - 1
        break
      }
      used += bytes
      valueCount++
      values.push({ c: dot.dot.counter, key: dot.key, value: dot.value })
    }
    if (covered < lo) break
    spans.push({ replica, lo, hi: covered, ...rangesOf(index, replica, lo, covered), values, tooLarge })
    if (covered < span.hi) break
  }
  return { op: 'spans', spans }
}

/** The end of [lo, hi] cut so that its seen and live ranges number at most `maxRanges`. */
function cutByRanges<V> (index: DotIndex<V>, replica: string, lo: number, hi: number, maxRanges: number): number {
  const { seen, live } = rangesOf(index, replica, lo, hi)
  if (seen.length + live.length <= maxRanges) return hi
  const k = Math.floor(maxRanges / 2) - 1
  return Math.min(seen[k]?.[1] ?? hi, live[k]?.[1] ?? hi)
}

function rangesOf<V> (index: DotIndex<V>, replica: string, lo: number, hi: number): { seen: Ranges, live: Ranges } {
  return { seen: index.seenWithin(replica, lo, hi), live: rangesOfSorted(index.liveWithin(replica, lo, hi).map(d => d.dot.counter)) }
}
