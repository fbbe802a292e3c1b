/**
 * The pulling side of anti-entropy: one session against one peer, which makes
 * this replica's state include everything the peer had (for the ranges it
 * walked). Levels as in sync-wire.ts: compare roots, then replica summaries,
 * then block summaries of the replicas that differ; dead dots are settled from
 * the summaries, and only live values we have never seen are fetched.
 *
 * Every reply is applied as soon as it arrives: a projection onto any set of
 * dots joins exactly (or-set-projection.ts), so nothing waits for a consistent
 * snapshot of the peer, and memory holds one page at a time.
 */
import { BLOCK_SIZE, diffItems, EMPTY_MASK, isRun, maskMinus, type DotIndex, type FetchSpan, type RangeItem } from './dot-ranges.ts'
import type { OrSetProjection } from './or-set.ts'
import { clipRanges, isNormalized, rangesContain, rangesWithin, unionRanges, type Ranges } from './ranges.ts'
import {
  MAX_SPANS_PER_REQUEST, parseBlocksReply, parseReplicasReply, parseSpansReply, RegistrySyncError,
  type BlocksReply, type ReplicasReply, type SpanReply, type SpanRequest, type SyncRequest
} from './sync-wire.ts'

/** Sends one request and returns the opened reply body. */
export type AskPeer = (request: SyncRequest, signal: AbortSignal) => Promise<Uint8Array>

export interface SessionTarget {
  index: () => DotIndex<unknown>
  /** Validates and joins a projection; throws on invalid entries. */
  merge: (projection: OrSetProjection<unknown>) => { changed: boolean, trimmed?: boolean }
}

export interface SessionResult {
  inSync: boolean
  changed: boolean
  requests: number
  /** replicas whose summaries differed */
  replicas: number
  /** blocks and dead runs whose summaries differed */
  blocks: number
  /** spans fetched with values */
  spans: number
  /** live values received */
  values: number
  /** live dots the peer could not send because one alone exceeds the message limit */
  tooLarge: number
  /** projections cut short to keep the context compact */
  trimmed: number
}

export interface SessionInit {
  /** Largest request body. */
  budget: number
  signal: AbortSignal
}

export async function pullFrom (ask: AskPeer, target: SessionTarget, init: SessionInit): Promise<SessionResult> {
  const session = new Session(ask, target, init)
  return await session.run()
}

class Session {
  private readonly ask: AskPeer
  private readonly target: SessionTarget
  private readonly init: SessionInit
  private readonly result: SessionResult = { inSync: false, changed: false, requests: 0, replicas: 0, blocks: 0, spans: 0, values: 0, tooLarge: 0, trimmed: 0 }
  /** Our state when the session began; contexts only grow, so comparing against it can only over-fetch. */
  private readonly index: DotIndex<unknown>

  constructor (ask: AskPeer, target: SessionTarget, init: SessionInit) {
    this.ask = ask
    this.target = target
    this.init = init
    this.index = target.index()
  }

  async run (): Promise<SessionResult> {
    let after: string | undefined
    for (;;) {
      const reply = parseReplicasReply(await this.request({ op: 'replicas', root: this.index.root, ...(after === undefined ? {} : { after }) }))
      if (reply.inSync) {
        this.result.inSync = after === undefined
        return this.result
      }
      checkReplicaPage(reply, after)
      for (const summary of reply.replicas) {
        if (this.index.summary(summary.replica)?.digest === summary.digest) continue
        this.result.replicas++
        await this.syncReplica(summary.replica, summary.max)
      }
      if (!reply.more) return this.result
      after = reply.replicas[reply.replicas.length - 1]?.replica
    }
  }

  private async request (request: SyncRequest): Promise<Uint8Array> {
    this.init.signal.throwIfAborted()
    this.result.requests++
    return await this.ask(request, this.init.signal)
  }

  private async syncReplica (replica: string, max: number): Promise<void> {
    let from = 0
    for (;;) {
      const reply = parseBlocksReply(await this.request({ op: 'blocks', replica, from }))
      checkBlockPage(reply, replica, from, max)
      const diff = diffItems(this.index, replica, reply.items)
      this.result.blocks += diff.differing
      // Live values first: then the dead ranges below extend the contiguous prefix instead of the cloud.
      await this.fetchSpans(diff.fetch)
      if (diff.seen.length > 0) this.merge({ spans: [{ replica, seen: diff.seen, live: diff.live }], entries: {} })
      if (reply.next === undefined) return
      from = reply.next
    }
  }

  private async fetchSpans (spans: FetchSpan[]): Promise<void> {
    const queue: SpanRequest[] = spans.map(s => ({ replica: s.replica, lo: s.lo, hi: s.hi, have: s.have.map(([a, b]) => [a, b]) }))
    while (queue.length > 0) {
      const batch = takeBatch(queue, this.init.budget)
      const reply = parseSpansReply(await this.request({ op: 'spans', spans: batch }))
      const { projection, values, tooLarge, rest } = checkSpans(batch, reply.spans)
      this.result.spans += reply.spans.length
      this.result.values += values
      this.result.tooLarge += tooLarge
      this.merge(projection)
      queue.unshift(...rest)
    }
  }

  private merge (projection: OrSetProjection<unknown>): void {
    let merged
    try {
      merged = this.target.merge(projection)
    } catch (err) {
      throw new RegistrySyncError('invalid-state', `peer sent an invalid projection: ${(err as Error).message.slice(0, 200)}`, { cause: err })
    }
    if (merged.changed) this.result.changed = true
    if (merged.trimmed === true) this.result.trimmed++
  }
}

/** Takes span requests off the front of `queue` while the request stays under `budget`. */
function takeBatch (queue: SpanRequest[], budget: number): SpanRequest[] {
  const batch: SpanRequest[] = []
  let used = 256
  while (queue.length > 0 && batch.length < MAX_SPANS_PER_REQUEST) {
    const next = queue[0] as SpanRequest
    const bytes = JSON.stringify(next).length + 1
    if (batch.length > 0 && used + bytes > budget) break
    if (batch.length === 0 && used + bytes > budget) {
      // A have list this fragmented: ask without it; the peer then resends values we hold, which is harmless.
      batch.push({ ...next, have: [] })
      queue.shift()
      break
    }
    used += bytes
    batch.push(next)
    queue.shift()
  }
  return batch
}

function checkReplicaPage (reply: ReplicasReply, after: string | undefined): void {
  let prev = after
  for (const { replica } of reply.replicas) {
    if (prev !== undefined && replica <= prev) throw new RegistrySyncError('out-of-range', 'replica summaries are not in order after the cursor')
    prev = replica
  }
  if (reply.more && reply.replicas.length === 0) throw new RegistrySyncError('no-progress', 'replica page is empty but claims more')
}

function checkBlockPage (reply: BlocksReply, replica: string, from: number, max: number): void {
  if (reply.replica !== replica) throw new RegistrySyncError('out-of-range', 'blocks reply is for another replica')
  const lastBlock = Math.floor(Math.max(0, max - 1) / BLOCK_SIZE)
  let next = from
  for (const item of reply.items as RangeItem[]) {
    const end = isRun(item) ? item.b + item.n : item.b + 1
    if (item.b < next || end - 1 > lastBlock) throw new RegistrySyncError('out-of-range', `block ${item.b} is out of order or beyond the replica's max counter`)
    if (!isRun(item) && (maskMinus(item.live, item.ctx) !== EMPTY_MASK || (item.live === EMPTY_MASK) !== (item.vd === ''))) {
      throw new RegistrySyncError('malformed', `block ${item.b} has live dots outside its context or a digest that does not match them`)
    }
    next = end
  }
  if (reply.next !== undefined && (reply.next < next || reply.items.length === 0)) throw new RegistrySyncError('no-progress', 'blocks reply does not move its cursor forward')
}

/**
 * Checks that a spans reply answers a prefix of what was asked, inside the
 * asked bounds, and turns it into one projection. Returns the spans left to ask.
 */
function checkSpans (asked: SpanRequest[], answered: SpanReply[]): { projection: OrSetProjection<unknown>, values: number, tooLarge: number, rest: SpanRequest[] } {
  if (answered.length === 0) throw new RegistrySyncError('no-progress', 'spans reply answers nothing')
  if (answered.length > asked.length) throw new RegistrySyncError('out-of-range', 'spans reply answers spans that were not asked')
  const byReplica = new Map<string, { seen: Ranges, live: Ranges }>()
  // A Map, not an object: keys come from the peer ("__proto__" must stay a plain key).
  const entries = new Map<string, Array<[string, unknown]>>()
  let values = 0
  let tooLarge = 0
  let rest: SpanRequest[] = []
  answered.forEach((span, i) => {
    const req = asked[i] as SpanRequest
    if (span.replica !== req.replica || span.lo !== req.lo || span.hi < req.lo || span.hi > req.hi) {
      throw new RegistrySyncError('out-of-range', `span ${i} does not answer the span asked`)
    }
    if (span.hi < req.hi && i !== answered.length - 1) throw new RegistrySyncError('out-of-range', `span ${i} is cut short but is not the last one`)
    const bounds: Ranges = [[span.lo, span.hi]]
    if (!isNormalized(span.seen) || !isNormalized(span.live) || !rangesWithin(span.seen, bounds) || !rangesWithin(span.live, span.seen)) {
      throw new RegistrySyncError('out-of-range', `span ${i} has ranges outside its bounds or live dots it has not seen`)
    }
    const counters = new Set<number>()
    for (const { c, key, value } of span.values) {
      if (!rangesContain(span.live, c) || counters.has(c)) throw new RegistrySyncError('out-of-range', `span ${i} sends a value for a counter that is not live there, or twice`)
      counters.add(c)
      const dots = entries.get(key)
      if (dots === undefined) entries.set(key, [[`${span.replica}@${c}`, value]])
      else dots.push([`${span.replica}@${c}`, value])
    }
    for (const c of span.tooLarge) {
      if (!rangesContain(span.live, c) || counters.has(c)) throw new RegistrySyncError('out-of-range', `span ${i} names a too-large counter that is not live there`)
    }
    values += span.values.length
    tooLarge += span.tooLarge.length
    const acc = byReplica.get(span.replica)
    byReplica.set(span.replica, acc === undefined ? { seen: span.seen, live: span.live } : { seen: unionRanges(acc.seen, span.seen), live: unionRanges(acc.live, span.live) })
    if (span.hi < req.hi) rest.push({ ...req, lo: span.hi + 1, have: clipRanges(req.have, span.hi + 1, req.hi) })
  })
  rest = [...rest, ...asked.slice(answered.length)]
  const projection = {
    spans: [...byReplica].map(([replica, r]) => ({ replica, ...r })),
    entries: Object.fromEntries([...entries].map(([key, dots]) => [key, Object.fromEntries(dots)]))
  }
  return { projection, values, tooLarge, rest }
}

