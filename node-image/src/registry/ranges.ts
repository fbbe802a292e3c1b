/**
 * Sets of dot counters as sorted inclusive ranges: `[[1, 64], [70, 70]]`.
 * A normalized list is sorted, non-overlapping and non-adjacent, so equal sets
 * have equal lists. Anti-entropy sends counters in this form because a
 * replica's history is mostly long runs.
 */
export type Range = [number, number]
export type Ranges = Range[]

/** Sorts and coalesces; drops nothing (an inverted range is the caller's bug and is kept out). */
export function normalizeRanges (ranges: readonly Range[]): Ranges {
  const sorted = ranges.filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0])
  const out: Array<[number, number]> = []
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1]
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi)
    else out.push([lo, hi])
  }
  return out
}

/** True for a list that normalizeRanges would return unchanged, with positive safe-integer bounds. */
export function isNormalized (ranges: readonly Range[]): boolean {
  let prev = -1
  for (const [lo, hi] of ranges) {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo < 1 || hi < lo || lo <= prev + 1) return false
    prev = hi
  }
  return true
}

/** Ranges of a sorted list of distinct counters. */
export function rangesOfSorted (counters: readonly number[]): Ranges {
  const out: Array<[number, number]> = []
  for (const c of counters) {
    const last = out[out.length - 1]
    if (last !== undefined && c === last[1] + 1) last[1] = c
    else out.push([c, c])
  }
  return out
}

export function rangesContain (ranges: readonly Range[], counter: number): boolean {
  let lo = 0
  let hi = ranges.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const r = ranges[mid] as Range
    if (counter < r[0]) hi = mid - 1
    else if (counter > r[1]) lo = mid + 1
    else return true
  }
  return false
}

/** Every counter of `inner` is in `outer` (both normalized). */
export function rangesWithin (inner: readonly Range[], outer: readonly Range[]): boolean {
  let j = 0
  for (const [lo, hi] of inner) {
    while (j < outer.length && (outer[j] as Range)[1] < lo) j++
    const o = outer[j]
    if (o === undefined || o[0] > lo || o[1] < hi) return false
  }
  return true
}

/** `a` minus `b` (both normalized). */
export function subtractRanges (a: readonly Range[], b: readonly Range[]): Ranges {
  const out: Array<[number, number]> = []
  let j = 0
  for (const [lo0, hi] of a) {
    let lo = lo0
    while (j < b.length && (b[j] as Range)[1] < lo) j++
    let k = j
    while (lo <= hi) {
      const cut = b[k]
      if (cut === undefined || cut[0] > hi) {
        out.push([lo, hi])
        break
      }
      if (cut[0] > lo) out.push([lo, cut[0] - 1])
      lo = Math.max(lo, cut[1] + 1)
      k++
    }
  }
  return out
}

export function unionRanges (a: readonly Range[], b: readonly Range[]): Ranges {
  return normalizeRanges([...a, ...b])
}

/** The part of `ranges` inside [lo, hi]. */
export function clipRanges (ranges: readonly Range[], lo: number, hi: number): Ranges {
  const out: Ranges = []
  for (const [a, b] of ranges) {
    if (b < lo || a > hi) continue
    out.push([Math.max(a, lo), Math.min(b, hi)])
  }
  return out
}

export function countRanges (ranges: readonly Range[]): number {
  let n = 0
  for (const [lo, hi] of ranges) n += hi - lo + 1
  return n
}

/** First index of `sorted` (ascending) whose value is >= `value`. */
export function lowerBound<T extends number | string> (sorted: readonly T[], value: T): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((sorted[mid] as T) < value) lo = mid + 1
    else hi = mid
  }
  return lo
}
