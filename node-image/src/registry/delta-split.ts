/**
 * Cuts an OR-Set state or delta that is too large for one gossip message into
 * several that each fit. Each piece is the projection of the delta onto a
 * span of counters of one replica (its live dots there and its context
 * there), and the join decides every dot on its own, so receiving all pieces
 * in any order equals receiving the delta; a lost piece only leaves those
 * dots to anti-entropy.
 */
import { CausalContext, parseDot } from './dots.ts'
import type { OrSetState } from './or-set.ts'
import type { Range, Ranges } from './ranges.ts'

/** Most cloud dots one piece may carry; well under what a state may hold (MAX_CLOUD_DOTS). */
const MAX_CLOUD_PER_PIECE = 5_000
/** Most keys one piece may carry; well under MAX_REGISTRY_ENTRIES. */
const MAX_KEYS_PER_PIECE = 5_000

interface LiveEntry<V> { key: string, text: string, counter: number, value: V, bytes: number }

class Piece<V> {
  readonly entries = new Map<string, Array<[string, V]>>()
  readonly vv: Record<string, number> = {}
  readonly cloud: string[] = []
  bytes = 64
  keys = 0

  add (entry: LiveEntry<V>): void {
    const dots = this.entries.get(entry.key)
    if (dots === undefined) {
      this.entries.set(entry.key, [[entry.text, entry.value]])
      this.keys++
    } else {
      dots.push([entry.text, entry.value])
    }
    this.bytes += entry.bytes
  }

  /** Adds the seen counters of one replica's span: as the version vector when they start at 1. */
  addContext (replica: string, seen: Ranges): void {
    for (const [lo, hi] of seen) {
      if (lo === 1) {
        this.vv[replica] = hi
        this.bytes += replica.length + 24
        continue
      }
      for (let c = lo; c <= hi; c++) this.cloud.push(`${replica}@${c}`)
      this.bytes += (hi - lo + 1) * (replica.length + 24)
    }
  }

  state (): OrSetState<V> {
    return {
      entries: Object.fromEntries([...this.entries].map(([key, dots]) => [key, Object.fromEntries(dots)])),
      context: { vv: this.vv, cloud: this.cloud }
    }
  }
}

/**
 * Splits `delta` into states of at most about `budget` bytes of JSON each
 * (a single entry larger than that still gets a piece of its own).
 */
export function splitDelta<V> (delta: OrSetState<V>, budget: number): Array<OrSetState<V>> {
  const context = CausalContext.from(delta.context)
  const live = new Map<string, Array<LiveEntry<V>>>()
  for (const [key, dots] of Object.entries(delta.entries)) {
    for (const [text, value] of Object.entries(dots)) {
      const dot = parseDot(text)
      context.add(dot)
      const list = live.get(dot.replica) ?? []
      list.push({ key, text, counter: dot.counter, value, bytes: Buffer.byteLength(JSON.stringify(value)) + key.length + text.length + 16 })
      live.set(dot.replica, list)
    }
  }
  const pieces: Array<Piece<V>> = []
  let piece = new Piece<V>()
  const full = (extraBytes: number, extraCloud: number): boolean =>
    piece.bytes + extraBytes > budget || piece.cloud.length + extraCloud > MAX_CLOUD_PER_PIECE || piece.keys >= MAX_KEYS_PER_PIECE
  const cut = (): void => {
    pieces.push(piece)
    piece = new Piece<V>()
  }
  for (const replica of context.replicas()) {
    const max = context.maxCounter(replica)
    const entries = (live.get(replica) ?? []).sort((a, b) => a.counter - b.counter)
    const seenAll = context.seenWithin(replica, 1, max)
    let j = 0
    let lo = 1
    let next = 0
    // Slices end at each live dot, or after a cloud allowance's worth of counters.
    while (lo <= max) {
      const entry = entries[next]
      const hi = entry !== undefined && entry.counter < lo + MAX_CLOUD_PER_PIECE ? entry.counter : Math.min(max, lo + MAX_CLOUD_PER_PIECE - 1)
      while (j < seenAll.length && (seenAll[j] as Range)[1] < lo) j++
      const seen: Ranges = []
      for (let k = j; k < seenAll.length && (seenAll[k] as Range)[0] <= hi; k++) {
        const [a, b] = seenAll[k] as Range
        seen.push([Math.max(a, lo), Math.min(b, hi)])
      }
      const cloudCost = lo === 1 ? 0 : seen.reduce((n, [a, b]) => n + b - a + 1, 0)
      const taken = entry?.counter === hi ? entry : undefined
      if (piece.bytes > 64 && full((taken?.bytes ?? 0) + cloudCost * (replica.length + 24), cloudCost)) cut()
      piece.addContext(replica, seen)
      if (taken !== undefined) {
        piece.add(taken)
        next++
      }
      lo = hi + 1
    }
  }
  if (piece.bytes > 64) pieces.push(piece)
  return pieces.map(p => p.state())
}
