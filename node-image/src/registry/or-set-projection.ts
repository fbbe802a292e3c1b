import { dotToString, parseDot } from './dots.ts'
import { InvalidOrSetStateError, type DotStore, type Ingested } from './dot-store.ts'
import { isNormalized, rangesContain, rangesOfSorted, rangesWithin, subtractRanges, unionRanges, type Range, type Ranges } from './ranges.ts'

/**
 * A projection of a source replica onto some of its dots: per replica, the
 * counters the source has seen (its context there) and the ones still live
 * there, plus the values of (some of) the live ones. Joining it is exact for
 * every dot it covers and leaves every other dot alone, because the join
 * decides each dot on its own (see mergeProjection).
 */
export interface OrSetProjection<V> {
  spans: Array<{ replica: string, seen: Ranges, live: Ranges }>
  /** key -> dotString -> value; every dot must be in its replica's `live` */
  entries: Record<string, Record<string, V>>
}

export function ingestProjection<V> (projection: OrSetProjection<V>): Ingested<V> {
  const spans = new Map<string, { seen: Ranges, live: Ranges }>()
  for (const { replica, seen, live } of projection.spans) {
    if (spans.has(replica)) throw new InvalidOrSetStateError(`replica "${replica}" has two spans`)
    if (!isNormalized(seen) || !isNormalized(live)) throw new InvalidOrSetStateError(`ranges of "${replica}" are not sorted, disjoint positive ranges`)
    if (!rangesWithin(live, seen)) throw new InvalidOrSetStateError(`live dots of "${replica}" were not seen`)
    spans.set(replica, { seen, live })
  }
  const entries = new Map<string, DotStore<V>>()
  const valued = new Map<string, number[]>()
  const seenDots = new Set<string>()
  for (const [key, dots] of Object.entries(projection.entries)) {
    const store: DotStore<V> = new Map()
    for (const [text, value] of Object.entries(dots)) {
      const dot = parseDot(text)
      const canonical = dotToString(dot)
      if (seenDots.has(canonical)) throw new InvalidOrSetStateError(`dot "${canonical}" appears more than once`)
      seenDots.add(canonical)
      const span = spans.get(dot.replica)
      if (span === undefined || !rangesContain(span.live, dot.counter)) throw new InvalidOrSetStateError(`dot "${canonical}" is outside the projection's live ranges`)
      store.set(canonical, { dot, value: structuredClone(value) })
      const counters = valued.get(dot.replica)
      if (counters === undefined) valued.set(dot.replica, [dot.counter])
      else counters.push(dot.counter)
    }
    if (store.size > 0) entries.set(key, store)
  }
  return {
    entries,
    // A live dot sent without its value is left alone, like a dot outside the projection.
    removes: (_key, dot) => {
      const span = spans.get(dot.replica)
      return span !== undefined && rangesContain(span.seen, dot.counter) && !rangesContain(span.live, dot.counter)
    },
    addContextTo: target => {
      let changed = false
      for (const [replica, { seen, live }] of spans) {
        const withValues = rangesOfSorted((valued.get(replica) ?? []).sort((a, b) => a - b))
        for (const [lo, hi] of unionRanges(subtractRanges(seen, live), withValues)) {
          if (target.addRange(replica, lo, hi)) changed = true
        }
      }
      return changed
    }
  }
}


/**
 * Cuts a projection so that joining it adds at most `maxGrowth` counters to the
 * cloud of the target's context (seen counters that are not contiguous), given
 * the target's contiguous prefix per replica. Any sub-projection is still exact
 * for what it keeps, so the cut part is simply left for a later round. Without
 * this, one missing live dot ahead of a long dead run would turn the run into
 * millions of cloud entries.
 */
export function trimProjection<V> (projection: OrSetProjection<V>, contiguous: (replica: string) => number, maxGrowth: number): { projection: OrSetProjection<V>, trimmed: boolean } {
  const cutAt = new Map<string, number>()
  let growth = 0
  for (const { replica, seen, live } of projection.spans) {
    const valued: number[] = []
    for (const dots of Object.values(projection.entries)) {
      for (const text of Object.keys(dots)) {
        const dot = parseDot(text)
        if (dot.replica === replica) valued.push(dot.counter)
      }
    }
    let prefix = contiguous(replica)
    for (const [lo, hi] of unionRanges(subtractRanges(seen, live), rangesOfSorted(valued.sort((a, b) => a - b)))) {
      if (lo <= prefix + 1) {
        prefix = Math.max(prefix, hi)
      } else if (growth + hi - lo + 1 <= maxGrowth) {
        growth += hi - lo + 1
      } else {
        cutAt.set(replica, lo + maxGrowth - growth)
        growth = maxGrowth
        break
      }
    }
  }
  if (cutAt.size === 0) return { projection, trimmed: false }
  const below = (replica: string, counter: number): boolean => counter < (cutAt.get(replica) ?? Infinity)
  const clip = (ranges: Ranges, replica: string): Ranges => {
    const cut = cutAt.get(replica)
    return cut === undefined ? ranges : ranges.filter(([lo]) => lo < cut).map(([lo, hi]): Range => [lo, Math.min(hi, cut - 1)])
  }
  const entries: Record<string, Record<string, V>> = {}
  for (const [key, dots] of Object.entries(projection.entries)) {
    const kept = Object.entries(dots).filter(([text]) => {
      const dot = parseDot(text)
      return below(dot.replica, dot.counter)
    })
    if (kept.length > 0) entries[key] = Object.fromEntries(kept)
  }
  return {
    projection: { entries, spans: projection.spans.map(({ replica, seen, live }) => ({ replica, seen: clip(seen, replica), live: clip(live, replica) })) },
    trimmed: true
  }
}
