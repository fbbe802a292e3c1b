/**
 * Range digests over an OR-Set's dot space, for anti-entropy that sends only
 * what differs. The dot space is cut into (replica, block of BLOCK_SIZE
 * counters). Each block is summarized by which of its counters the context
 * holds, which are live, and a digest of the live dots' keys and values; a
 * replica by the list of its block summaries; the whole set by a root digest.
 *
 * Long histories are mostly blocks that are fully seen and hold no live dot
 * ("dead" blocks); those are sent as runs, so a replica with a million old
 * counters costs one item, not fifteen thousand.
 *
 * A DotIndex is a snapshot: build it once per registry version (the registry
 * caches it) and keep using it while the set changes, which is safe because a
 * dot's value never changes and contexts only grow.
 */
import { createHash } from 'node:crypto'
import type { LiveDot, OrSet } from './or-set.ts'
import { clipRanges, lowerBound, normalizeRanges, subtractRanges, type Range, type Ranges } from './ranges.ts'

export const BLOCK_SIZE = 64

export interface ReplicaSummary {
  replica: string
  /** highest counter of this replica the context holds */
  max: number
  digest: string
}

/** `n` dead blocks from block `b` on. */
export interface RunItem { b: number, n: number }
/** One block: 64-bit masks (hex, bit i = counter b*64+i+1) and the live dots' digest ('' when none). */
export interface BlockItem { b: number, ctx: string, live: string, vd: string }
export type RangeItem = RunItem | BlockItem

export function isRun (item: RangeItem): item is RunItem {
  return 'n' in item
}

/** First and last counter of blocks b..b+n-1. */
export function blockCounters (b: number, n = 1): [number, number] {
  return [b * BLOCK_SIZE + 1, (b + n) * BLOCK_SIZE]
}

interface ReplicaView<V> {
  summary: ReplicaSummary
  vv: number
  cloud: number[]
  /** live dots, ascending by counter */
  live: Array<LiveDot<V>>
  counters: number[]
  items: RangeItem[]
  blocks: Map<number, BlockItem>
}

const FULL = 'ffffffffffffffff'
const EMPTY = '0000000000000000'
const EMPTY_BLOCK = { ctx: EMPTY, live: EMPTY, vd: '' }

function sha256 (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** 64-bit mask as hex from the bit indexes set. */
function mask (bits: Iterable<number>): string {
  let high = 0
  let low = 0
  for (const i of bits) {
    if (i < 32) low = (low | (1 << i)) >>> 0
    else high = (high | (1 << (i - 32))) >>> 0
  }
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0')
}

/** Bit indexes of a hex mask, ascending. */
export function maskBits (hex: string): number[] {
  const high = Number.parseInt(hex.slice(0, 8), 16)
  const low = Number.parseInt(hex.slice(8), 16)
  const bits: number[] = []
  for (let i = 0; i < 32; i++) if (((low >>> i) & 1) === 1) bits.push(i)
  for (let i = 0; i < 32; i++) if (((high >>> i) & 1) === 1) bits.push(i + 32)
  return bits
}

/** Counters of block `b` whose bit is set in `hex`, as ranges. */
export function maskRanges (b: number, hex: string): Ranges {
  const base = b * BLOCK_SIZE + 1
  return normalizeRanges(maskBits(hex).map(i => [base + i, base + i]))
}


function buildReplica<V> (replica: string, vv: number, cloud: number[], live: Array<LiveDot<V>>): ReplicaView<V> {
  live.sort((a, b) => a.dot.counter - b.dot.counter)
  const blockOf = (c: number): number => Math.floor((c - 1) / BLOCK_SIZE)
  const fullBlocks = Math.floor(vv / BLOCK_SIZE)
  const interesting = new Set<number>()
  for (const d of live) interesting.add(blockOf(d.dot.counter))
  for (const c of cloud) interesting.add(blockOf(c))
  if (vv % BLOCK_SIZE !== 0) interesting.add(fullBlocks)
  const cloudSet = new Set(cloud)
  const liveByBlock = new Map<number, Array<LiveDot<V>>>()
  for (const d of live) {
    const b = blockOf(d.dot.counter)
    const list = liveByBlock.get(b)
    if (list === undefined) liveByBlock.set(b, [d])
    else list.push(d)
  }
  const items: RangeItem[] = []
  const blocks = new Map<number, BlockItem>()
  let next = 0
  for (const b of [...interesting].sort((x, y) => x - y)) {
    if (Math.min(b, fullBlocks) > next) items.push({ b: next, n: Math.min(b, fullBlocks) - next })
    const seenBits: number[] = []
    for (let i = 0; i < BLOCK_SIZE; i++) {
      const c = b * BLOCK_SIZE + i + 1
      if (c <= vv || cloudSet.has(c)) seenBits.push(i)
    }
    const dots = liveByBlock.get(b) ?? []
    const item: BlockItem = {
      b,
      ctx: mask(seenBits),
      live: mask(dots.map(d => d.dot.counter - b * BLOCK_SIZE - 1)),
      vd: dots.length === 0 ? '' : sha256(dots.map(d => `${d.dot.counter} ${d.key} ${d.hash}\n`).join('')).slice(0, 32)
    }
    items.push(item)
    blocks.set(b, item)
    next = b + 1
  }
  if (fullBlocks > next) items.push({ b: next, n: fullBlocks - next })
  const max = Math.max(vv, cloud[cloud.length - 1] ?? 0)
  const digest = sha256(items.map(it => isRun(it) ? `R ${it.b} ${it.n}\n` : `B ${it.b} ${it.ctx} ${it.live} ${it.vd}\n`).join(''))
  return { summary: { replica, max, digest }, vv, cloud, live, counters: live.map(d => d.dot.counter), items, blocks }
}

export class DotIndex<V> {
  readonly root: string
  private readonly names: string[]
  private readonly views: Map<string, ReplicaView<V>>

  private constructor (names: string[], views: Map<string, ReplicaView<V>>) {
    this.names = names
    this.views = views
    this.root = sha256(names.map(r => {
      const s = views.get(r)?.summary
      return `${r} ${s?.max ?? 0} ${s?.digest ?? ''}\n`
    }).join(''))
  }

  static build<V> (set: OrSet<V>): DotIndex<V> {
    const byReplica = new Map<string, Array<LiveDot<V>>>()
    for (const d of set.liveDots()) {
      const list = byReplica.get(d.dot.replica)
      if (list === undefined) byReplica.set(d.dot.replica, [d])
      else list.push(d)
    }
    // Every live dot is in the context, so the context names every replica.
    const names = set.seen.replicas()
    const views = new Map<string, ReplicaView<V>>()
    for (const r of names) views.set(r, buildReplica(r, set.seen.contiguous(r), set.seen.cloudOf(r), byReplica.get(r) ?? []))
    return new DotIndex(names, views)
  }

  summary (replica: string): ReplicaSummary | undefined {
    return this.views.get(replica)?.summary
  }

  /** Replica summaries in replica order, starting after `after`. */
  * summariesAfter (after?: string): Generator<ReplicaSummary> {
    let i = 0
    if (after !== undefined) {
      while (i < this.names.length && (this.names[i] as string) <= after) i++
    }
    for (; i < this.names.length; i++) {
      const s = this.views.get(this.names[i] as string)?.summary
      if (s !== undefined) yield s
    }
  }

  /** The replica's items from block `from` on (a run that starts earlier is cut). */
  * itemsFrom (replica: string, from: number): Generator<RangeItem> {
    for (const item of this.views.get(replica)?.items ?? []) {
      if (isRun(item)) {
        if (item.b + item.n <= from) continue
        yield item.b >= from ? item : { b: from, n: item.b + item.n - from }
      } else if (item.b >= from) {
        yield item
      }
    }
  }

  /** This side's summary of one block (dead blocks and empty ones included). */
  block (replica: string, b: number): Omit<BlockItem, 'b'> {
    const view = this.views.get(replica)
    if (view === undefined) return EMPTY_BLOCK
    const item = view.blocks.get(b)
    if (item !== undefined) return item
    return (b + 1) * BLOCK_SIZE <= view.vv ? { ctx: FULL, live: EMPTY, vd: '' } : EMPTY_BLOCK
  }

  /** Seen counters of `replica` within [lo, hi]. */
  seenWithin (replica: string, lo: number, hi: number): Ranges {
    const view = this.views.get(replica)
    if (view === undefined) return []
    const parts: Array<[number, number]> = view.vv >= lo ? [[lo, Math.min(view.vv, hi)]] : []
    for (let i = lowerBound(view.cloud, lo); i < view.cloud.length && (view.cloud[i] as number) <= hi; i++) {
      const c = view.cloud[i] as number
      parts.push([c, c])
    }
    return clipRanges(normalizeRanges(parts), lo, hi)
  }

  /** Live dots of `replica` with counters in [lo, hi], ascending. */
  liveWithin (replica: string, lo: number, hi: number): Array<LiveDot<V>> {
    const view = this.views.get(replica)
    if (view === undefined) return []
    return view.live.slice(lowerBound(view.counters, lo), lowerBound(view.counters, hi + 1))
  }
}

/** 64-bit hex masks as two 32-bit halves, for bit arithmetic. */
function halves (hex: string): [number, number] {
  return [Number.parseInt(hex.slice(0, 8), 16) >>> 0, Number.parseInt(hex.slice(8), 16) >>> 0]
}

function hexOf ([high, low]: [number, number]): string {
  return high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0')
}

/** a AND NOT b */
export function maskMinus (a: string, b: string): string {
  const [ah, al] = halves(a)
  const [bh, bl] = halves(b)
  return hexOf([(ah & ~bh) >>> 0, (al & ~bl) >>> 0])
}

export const EMPTY_MASK = EMPTY

/** A span whose live values we must fetch; `have` lists what we have seen there, so they are not sent again. */
export interface FetchSpan { replica: string, lo: number, hi: number, have: Ranges }

export interface ItemsDiff {
  /** What the peer's summaries already prove about the differing ranges: joinable at once. */
  seen: Ranges
  live: Ranges
  fetch: FetchSpan[]
  /** differing blocks and runs */
  differing: number
}

/**
 * Compares a peer's items for `replica` with ours. Dead dots are settled by the
 * summaries themselves (seen, not live); only live dots we have never seen, or
 * a block whose masks agree but whose values do not, need a fetch.
 */
export function diffItems<V> (mine: DotIndex<V>, replica: string, items: readonly RangeItem[]): ItemsDiff {
  const seen: Range[] = []
  const live: Range[] = []
  const fetch: FetchSpan[] = []
  let differing = 0
  const addFetch = (lo: number, hi: number, have: Ranges): void => {
    const last = fetch[fetch.length - 1]
    if (last !== undefined && last.hi + 1 === lo) {
      last.hi = hi
      last.have = normalizeRanges([...last.have, ...have])
    } else {
      fetch.push({ replica, lo, hi, have })
    }
  }
  for (const item of items) {
    if (isRun(item)) {
      const [lo, hi] = blockCounters(item.b, item.n)
      const mySeen = mine.seenWithin(replica, lo, hi)
      const allSeen = mySeen.length === 1 && mySeen[0]?.[0] === lo && mySeen[0][1] === hi
      if (allSeen && mine.liveWithin(replica, lo, hi).length === 0) continue
      differing++
      seen.push([lo, hi])
      continue
    }
    const ours = mine.block(replica, item.b)
    if (ours.ctx === item.ctx && ours.live === item.live && ours.vd === item.vd) continue
    differing++
    seen.push(...maskRanges(item.b, item.ctx))
    live.push(...maskRanges(item.b, item.live))
    const [lo, hi] = blockCounters(item.b)
    const mySeen = mine.seenWithin(replica, lo, hi)
    if (maskMinus(item.live, ours.ctx) !== EMPTY) {
      addFetch(lo, hi, mySeen)
    } else if (item.live !== EMPTY && ours.ctx === item.ctx && ours.live === item.live) {
      // Same dots, different values: a bug or a forger. Fetch theirs; the join keeps one copy everywhere.
      addFetch(lo, hi, subtractRanges(mySeen, maskRanges(item.b, item.live)))
    }
  }
  return { seen: normalizeRanges(seen), live: normalizeRanges(live), fetch, differing }
}
