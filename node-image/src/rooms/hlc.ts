/**
 * A hybrid logical clock (Kulkarni et al.): wall-clock milliseconds plus a
 * counter, so stamps never go backwards, follow every stamp this node has seen,
 * and stay close to real time. Room messages are ordered by it.
 */
export interface Hlc {
  /** unix milliseconds */
  ms: number
  /** tie-breaker within one millisecond */
  c: number
}

/** The counter has five digits in an order key; past that the clock borrows the next millisecond. */
export const MAX_COUNTER = 99_999
/** Thirteen digits of milliseconds last until the year 2286. */
export const MAX_MS = 9_999_999_999_999

export function compareHlc (a: Hlc, b: Hlc): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.c - b.c
}

export function maxHlc (a: Hlc, b: Hlc): Hlc {
  return compareHlc(a, b) >= 0 ? a : b
}

export interface HybridClockInit {
  now?: () => number
  /** The high-water mark a previous run persisted; the clock never issues a stamp at or below it. */
  after?: Hlc
}

export class HybridClock {
  private readonly now: () => number
  private last: Hlc

  constructor (init: HybridClockInit = {}) {
    this.now = init.now ?? Date.now
    this.last = init.after ?? { ms: 0, c: 0 }
  }

  /** A fresh stamp for a local event, above every stamp issued or observed. */
  tick (): Hlc {
    const wall = Math.floor(this.now())
    this.last = wall > this.last.ms ? { ms: wall, c: 0 } : bump(this.last)
    return this.last
  }

  /**
   * Folds in a stamp from a peer, so the next local stamp sorts after it. The
   * caller has already refused stamps too far in the future.
   */
  observe (remote: Hlc): void {
    if (compareHlc(remote, this.last) > 0) this.last = { ms: remote.ms, c: remote.c }
  }

  /** The highest stamp issued or observed (persisted across restarts). */
  get highWater (): Hlc {
    return this.last
  }
}

function bump (h: Hlc): Hlc {
  return h.c >= MAX_COUNTER ? { ms: h.ms + 1, c: 0 } : { ms: h.ms, c: h.c + 1 }
}
