import { byCodeUnit } from './canonical-json.ts'
import { clipRanges, normalizeRanges, type Ranges } from './ranges.ts'

/**
 * Dots and causal contexts for the delta-state CRDTs in this directory.
 *
 * A dot names one event: the `counter`-th event issued by `replica`. Replica ids
 * look like `<peerId>.<incarnation>` and therefore contain '.', so the string form
 * of a dot is `${replica}@${counter}` and is parsed at the LAST '@': the counter
 * is a plain decimal integer (no '@'), so the split is unambiguous even for a
 * replica id that itself contains '@'.
 */

export interface Dot {
  replica: string
  counter: number
}

export interface CausalContextState {
  /** replica -> highest counter such that every counter 1..n has been seen */
  vv: Record<string, number>
  /** seen dots that are not (yet) contiguous with `vv`, sorted by compareDots */
  cloud: string[]
}

export class InvalidDotError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidDotError'
  }
}

const COUNTER = /^[1-9][0-9]{0,15}$/

export function dotToString (dot: Dot): string {
  return `${dot.replica}@${dot.counter}`
}

export function parseDot (text: string): Dot {
  const at = text.lastIndexOf('@')
  const replica = text.slice(0, at)
  const digits = text.slice(at + 1)
  if (at < 1 || !COUNTER.test(digits)) {
    throw new InvalidDotError(`malformed dot "${text}"`)
  }
  const counter = Number(digits)
  if (!Number.isSafeInteger(counter)) {
    throw new InvalidDotError(`dot counter out of range in "${text}"`)
  }
  return { replica, counter }
}

/** Total order on dots: by replica (code unit order), then by counter numerically. */
export function compareDots (a: Dot, b: Dot): number {
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1
  return a.counter - b.counter
}

/**
 * A set of seen dots, stored as a version vector plus a cloud of the dots that
 * are not contiguous with it. Kept compacted after every mutation so that two
 * contexts holding the same dots have the same representation (the digest
 * depends on it).
 */
export class CausalContext {
  private readonly vv = new Map<string, number>()
  private readonly cloud = new Map<string, Set<number>>()

  static from (state?: CausalContextState): CausalContext {
    const ctx = new CausalContext()
    if (state === undefined) return ctx
    for (const [replica, max] of Object.entries(state.vv)) {
      if (!Number.isSafeInteger(max) || max < 0) {
        throw new InvalidDotError(`version vector entry for "${replica}" is not a non-negative integer`)
      }
      if (max > 0) ctx.vv.set(replica, Math.max(max, ctx.vv.get(replica) ?? 0))
    }
    for (const text of state.cloud) ctx.addToCloud(parseDot(text))
    ctx.compact()
    return ctx
  }

  has (dot: Dot): boolean {
    if (dot.counter <= (this.vv.get(dot.replica) ?? 0)) return true
    return this.cloud.get(dot.replica)?.has(dot.counter) ?? false
  }

  /** Adds a dot; returns true when it was not already known. */
  add (dot: Dot): boolean {
    if (this.has(dot)) return false
    this.addToCloud(dot)
    this.compactReplica(dot.replica)
    return true
  }

  /** Unions `other` into this context; returns true when anything was new. */
  merge (other: CausalContext): boolean {
    let changed = false
    for (const [replica, max] of other.vv) {
      if (max > (this.vv.get(replica) ?? 0)) {
        this.vv.set(replica, max)
        changed = true
      }
    }
    for (const [replica, counters] of other.cloud) {
      for (const counter of counters) {
        const dot = { replica, counter }
        if (!this.has(dot)) {
          this.addToCloud(dot)
          changed = true
        }
      }
    }
    if (changed) this.compact()
    return changed
  }

  /**
   * The highest counter known for a replica, including cloud dots, so a replica
   * that learns about its own later events (e.g. from a peer) never reuses a dot.
   */
  maxCounter (replica: string): number {
    let max = this.vv.get(replica) ?? 0
    for (const counter of this.cloud.get(replica) ?? []) max = Math.max(max, counter)
    return max
  }

  /** The highest n such that every counter 1..n of `replica` has been seen. */
  contiguous (replica: string): number {
    return this.vv.get(replica) ?? 0
  }

  /** Seen counters of `replica` above the contiguous prefix, ascending. */
  cloudOf (replica: string): number[] {
    return [...(this.cloud.get(replica) ?? [])].sort((a, b) => a - b)
  }

  /** The seen counters of `replica` within [lo, hi], as normalized ranges. */
  seenWithin (replica: string, lo: number, hi: number): Ranges {
    const vv = this.vv.get(replica) ?? 0
    const counters = this.cloud.get(replica)
    const parts: Array<[number, number]> = vv >= lo ? [[lo, Math.min(vv, hi)]] : []
    if (counters !== undefined) for (const c of counters) if (c >= lo && c <= hi) parts.push([c, c])
    return clipRanges(normalizeRanges(parts), lo, hi)
  }

  /**
   * Adds every counter lo..hi of `replica`; true when any was new. Cheap when the
   * range touches the contiguous prefix; otherwise each counter lands in the
   * cloud, so callers add ranges in ascending order.
   */
  addRange (replica: string, lo: number, hi: number): boolean {
    if (hi < lo) return false
    const vv = this.vv.get(replica) ?? 0
    let changed = false
    if (lo <= vv + 1) {
      if (hi > vv) {
        this.vv.set(replica, hi)
        changed = true
      }
    } else {
      for (let c = lo; c <= hi; c++) {
        if (!this.has({ replica, counter: c })) {
          this.addToCloud({ replica, counter: c })
          changed = true
        }
      }
    }
    if (changed) this.compactReplica(replica)
    return changed
  }

  /** Every replica this context mentions, in either the vv or the cloud. */
  replicas (): string[] {
    return [...new Set([...this.vv.keys(), ...this.cloud.keys()])].sort()
  }

  clone (): CausalContext {
    const copy = new CausalContext()
    for (const [replica, max] of this.vv) copy.vv.set(replica, max)
    for (const [replica, counters] of this.cloud) copy.cloud.set(replica, new Set(counters))
    return copy
  }

  equals (other: CausalContext): boolean {
    if (this.vv.size !== other.vv.size || this.cloud.size !== other.cloud.size) return false
    for (const [replica, max] of this.vv) if (other.vv.get(replica) !== max) return false
    for (const [replica, counters] of this.cloud) {
      const theirs = other.cloud.get(replica)
      if (theirs === undefined || theirs.size !== counters.size) return false
      for (const counter of counters) if (!theirs.has(counter)) return false
    }
    return true
  }

  /** Canonical JSON form: vv keys sorted, cloud sorted by compareDots. */
  toJSON (): CausalContextState {
    const vv = Object.fromEntries([...this.vv.entries()].sort(([a], [b]) => byCodeUnit(a, b)))
    const cloud: Dot[] = []
    for (const [replica, counters] of this.cloud) {
      for (const counter of counters) cloud.push({ replica, counter })
    }
    cloud.sort(compareDots)
    return { vv, cloud: cloud.map(dotToString) }
  }

  private addToCloud (dot: Dot): void {
    let counters = this.cloud.get(dot.replica)
    if (counters === undefined) {
      counters = new Set()
      this.cloud.set(dot.replica, counters)
    }
    counters.add(dot.counter)
  }

  private compact (): void {
    for (const replica of [...this.cloud.keys()]) this.compactReplica(replica)
  }

  /** Folds cloud dots that became contiguous into the vv and drops covered ones. */
  private compactReplica (replica: string): void {
    const counters = this.cloud.get(replica)
    if (counters === undefined) return
    let max = this.vv.get(replica) ?? 0
    while (counters.has(max + 1)) {
      counters.delete(max + 1)
      max++
    }
    for (const counter of counters) if (counter <= max) counters.delete(counter)
    if (max > 0) this.vv.set(replica, max)
    if (counters.size === 0) this.cloud.delete(replica)
  }
}
