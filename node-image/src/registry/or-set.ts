/**
 * Delta-state add-wins observed-remove set with values (an "optimized OR-Set" /
 * ORSWOT over a dot store, after Almeida, Shoker & Baquero, "Delta State
 * Replicated Data Types").
 *
 * Every key maps to the dots of the adds that are still live, each carrying the
 * value written by that add. The causal context records every dot ever seen, so
 * a dot that is in the context but not in the entries has been removed (or
 * superseded) and can never come back, whichever stale replica still holds it.
 * Dot strings are `${replica}@${counter}` (see dots.ts for why that is
 * unambiguous).
 */
import { CausalContext, dotToString, parseDot } from './dots.ts'
import type { CausalContextState, Dot } from './dots.ts'
import { byCodeUnit, canonicalJson } from './canonical-json.ts'
import { digestOf, InvalidOrSetStateError, type DotStore, type Ingested, type LiveDot, type StoredDot } from './dot-store.ts'
import { ingestProjection, trimProjection, type OrSetProjection } from './or-set-projection.ts'

export { InvalidOrSetStateError } from './dot-store.ts'
export type { LiveDot } from './dot-store.ts'
export type { OrSetProjection } from './or-set-projection.ts'

export interface OrSetState<V> {
  /** key -> dotString -> value */
  entries: Record<string, Record<string, V>>
  context: CausalContextState
}

export interface OrSetMergeResult {
  /** true when the state changed in any way (entries or context) */
  changed: boolean
  /** keys whose visible value (or presence) changed, sorted */
  keys: string[]
}

/** Read-only questions about the causal context, for range digests. */
export type ContextView = Pick<CausalContext, 'has' | 'replicas' | 'maxCounter' | 'contiguous' | 'cloudOf' | 'seenWithin'>

export function emptyOrSetState<V> (): OrSetState<V> {
  return { entries: {}, context: { vv: {}, cloud: [] } }
}

/** Joins several states or deltas into one (e.g. to gossip one combined delta). */
export function joinOrSetStates<V> (...states: Array<OrSetState<V>>): OrSetState<V> {
  const acc = new OrSet<V>('')
  for (const state of states) acc.merge(state)
  return acc.state()
}

/** Object.fromEntries with a precise type; also safe for a key like "__proto__". */
function record<T> (pairs: Array<[string, T]>): Record<string, T> {
  return Object.fromEntries(pairs)
}

/**
 * Which of several concurrent live dots provides a key's value: the highest
 * counter, ties broken by replica id. Arbitrary but identical on every replica.
 */
function precedes (a: Dot, b: Dot): boolean {
  if (a.counter !== b.counter) return a.counter < b.counter
  return a.replica < b.replica
}

/** Structural equality of JSON values, ignoring key order; far cheaper than serializing both. */
function jsonEqual (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]))
  }
  const ra = a as Record<string, unknown>
  const rb = b as Record<string, unknown>
  const ka = Object.keys(ra).filter((k) => ra[k] !== undefined)
  const kb = Object.keys(rb).filter((k) => rb[k] !== undefined)
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(rb, k) && jsonEqual(ra[k], rb[k]))
}

function jsonOf<V> (stored: StoredDot<V>): string {
  stored.json ??= canonicalJson(stored.value)
  return stored.json
}

function ingest<V> (state: OrSetState<V>): Ingested<V> {
  const { entries, context } = ingestState(state)
  return {
    entries,
    removes: (key, dot, text) => entries.get(key)?.has(text) !== true && context.has(dot),
    addContextTo: target => target.merge(context)
  }
}

/**
 * Joins deltas that this replica issued one key at a time (add, remove) into
 * one. Cheaper than joinOrSetStates: entries and contexts are simply united,
 * which equals the join because no delta's context covers another's live dot.
 */
export function unionDisjointDeltas<V> (deltas: Array<OrSetState<V>>): OrSetState<V> {
  const context = new CausalContext()
  const entries: Array<[string, Record<string, V>]> = []
  for (const delta of deltas) {
    context.merge(CausalContext.from(delta.context))
    for (const [key, dots] of Object.entries(delta.entries)) {
      for (const text of Object.keys(dots)) context.add(parseDot(text))
      entries.push([key, dots])
    }
  }
  entries.sort(([a], [b]) => byCodeUnit(a, b))
  return { entries: record(entries), context: context.toJSON() }
}

function ingestState<V> (state: OrSetState<V>): { entries: Map<string, DotStore<V>>, context: CausalContext } {
  const context = CausalContext.from(state.context)
  const entries = new Map<string, DotStore<V>>()
  const seen = new Set<string>()
  for (const [key, dots] of Object.entries(state.entries)) {
    const store: DotStore<V> = new Map()
    for (const [text, value] of Object.entries(dots)) {
      const dot = parseDot(text)
      const canonical = dotToString(dot)
      // One event cannot be two adds; accepting it would make merges order-dependent.
      if (seen.has(canonical)) throw new InvalidOrSetStateError(`dot "${canonical}" appears more than once`)
      seen.add(canonical)
      // Entries must be covered by their context; fold them in rather than trusting the sender.
      context.add(dot)
      store.set(canonical, { dot, value: structuredClone(value) })
    }
    if (store.size > 0) entries.set(key, store)
  }
  return { entries, context }
}

export class OrSet<V> {
  readonly replica: string
  private readonly store = new Map<string, DotStore<V>>()
  private readonly context: CausalContext

  constructor (replica: string, state?: OrSetState<V>) {
    this.replica = replica
    if (state === undefined) {
      this.context = new CausalContext()
      return
    }
    const ingested = ingestState(state)
    this.context = ingested.context
    for (const [key, dots] of ingested.entries) this.store.set(key, dots)
  }

  /** The counter the next local add will use; continues from whatever this replica has seen of itself. */
  get nextCounter (): number {
    return this.context.maxCounter(this.replica) + 1
  }

  get size (): number {
    return this.store.size
  }

  has (key: string): boolean {
    return this.store.has(key)
  }

  /** Live dot strings for a key, sorted; more than one means concurrent adds. */
  dots (key: string): string[] {
    return [...(this.store.get(key)?.keys() ?? [])].sort(byCodeUnit)
  }

  /**
   * Adds or overwrites `key`. The new dot supersedes every dot currently live
   * for the key, so the returned delta carries those dots in its context.
   */
  add (key: string, value: V): OrSetState<V> {
    const dot: Dot = { replica: this.replica, counter: this.nextCounter }
    const text = dotToString(dot)
    const deltaContext = new CausalContext()
    for (const stored of this.store.get(key)?.values() ?? []) deltaContext.add(stored.dot)
    deltaContext.add(dot)
    this.context.add(dot)
    const copy = structuredClone(value)
    this.store.set(key, new Map([[text, { dot, value: copy }]]))
    return {
      entries: record([[key, record([[text, structuredClone(copy)]])]]),
      context: deltaContext.toJSON()
    }
  }

  /** Removes the observed dots of `key`; undefined when the key is not present. */
  remove (key: string): OrSetState<V> | undefined {
    const dots = this.store.get(key)
    if (dots === undefined) return undefined
    const deltaContext = new CausalContext()
    for (const stored of dots.values()) deltaContext.add(stored.dot)
    this.store.delete(key)
    return { entries: {}, context: deltaContext.toJSON() }
  }

  /** Joins a full state or a delta into this replica; true when anything changed. */
  merge (stateOrDelta: OrSetState<V>): boolean {
    return this.mergeWithChanges(stateOrDelta).changed
  }

  mergeWithChanges (stateOrDelta: OrSetState<V>): OrSetMergeResult {
    return this.join(ingest(stateOrDelta))
  }

  /**
   * Joins a projection of another replica (see OrSetProjection). For a dot it
   * covers, the result is what joining the whole source would give; dots it
   * does not cover are untouched. Throws InvalidOrSetStateError, before any
   * change, when an entry lies outside its span or the ranges are malformed.
   * With `maxCloudGrowth`, the part that would add more non-contiguous
   * counters to the context is left out (`trimmed`).
   */
  mergeProjection (projection: OrSetProjection<V>, opts: { maxCloudGrowth?: number } = {}): OrSetMergeResult & { trimmed: boolean } {
    const ingested = ingestProjection(projection)
    if (opts.maxCloudGrowth === undefined) return { ...this.join(ingested), trimmed: false }
    const trim = trimProjection(projection, r => this.context.contiguous(r), opts.maxCloudGrowth)
    return { ...this.join(trim.trimmed ? ingestProjection(trim.projection) : ingested), trimmed: trim.trimmed }
  }

  /** Every live dot with its key, value digest and size. */
  * liveDots (): Generator<LiveDot<V>> {
    for (const [key, dots] of this.store) {
      for (const [text, stored] of dots) {
        const { hash, bytes } = digestOf(stored)
        yield { key, dot: stored.dot, text, value: stored.value, hash, bytes }
      }
    }
  }

  /** The causal context, read-only. */
  get seen (): ContextView {
    return this.context
  }

  private join (incoming: Ingested<V>): OrSetMergeResult {
    const before = new Map<string, StoredDot<V> | undefined>()
    const touch = (key: string): void => {
      if (!before.has(key)) before.set(key, this.winner(key))
    }
    let entriesChanged = false

    // Our live dots that the other side has seen but no longer holds were removed there.
    for (const [key, mine] of this.store) {
      for (const [text, stored] of mine) {
        if (!incoming.removes(key, stored.dot, text)) continue
        touch(key)
        mine.delete(text)
        entriesChanged = true
      }
    }

    // Their live dots that we have never seen are new adds. This must use our
    // context from before the join, which is why the contexts are merged last.
    for (const [key, theirs] of incoming.entries) {
      for (const [text, stored] of theirs) {
        const mine = this.store.get(key)
        const existing = mine?.get(text)
        if (existing !== undefined) {
          // Same dot, different value only happens through a bug or a forger; keep the
          // canonically greater copy so the outcome does not depend on merge order.
          if (!jsonEqual(stored.value, existing.value) && jsonOf(stored) > jsonOf(existing)) {
            touch(key)
            mine?.set(text, stored)
            entriesChanged = true
          }
          continue
        }
        if (this.context.has(stored.dot)) continue
        touch(key)
        if (mine === undefined) this.store.set(key, new Map([[text, stored]]))
        else mine.set(text, stored)
        entriesChanged = true
      }
    }

    for (const [key, dots] of this.store) if (dots.size === 0) this.store.delete(key)
    const contextChanged = incoming.addContextTo(this.context)

    const keys: string[] = []
    for (const [key, was] of before) {
      const now = this.winner(key)
      if (was?.dot.counter !== now?.dot.counter || was?.dot.replica !== now?.dot.replica || was?.value !== now?.value) {
        keys.push(key)
      }
    }
    return { changed: entriesChanged || contextChanged, keys: keys.sort(byCodeUnit) }
  }

  get (key: string): V | undefined {
    const winner = this.winner(key)
    return winner === undefined ? undefined : structuredClone(winner.value)
  }

  keys (): string[] {
    return [...this.store.keys()].sort(byCodeUnit)
  }

  entries (): Array<[string, V]> {
    return this.keys().map((key) => [key, this.get(key) as V])
  }

  /** Deep copy in canonical form: keys sorted at every level, context compacted. */
  state (): OrSetState<V> {
    return this.canonical((value) => structuredClone(value))
  }

  /** state() without copying the values: for serializing at once, never to keep or change. */
  stateView (): OrSetState<V> {
    return this.canonical((value) => value)
  }

  private canonical (copy: (value: V) => V): OrSetState<V> {
    const entries: Array<[string, Record<string, V>]> = []
    for (const key of this.keys()) {
      const dots = this.store.get(key)
      if (dots === undefined) continue
      const sorted = [...dots.entries()].sort(([a], [b]) => byCodeUnit(a, b))
      entries.push([key, record(sorted.map(([text, stored]): [string, V] => [text, copy(stored.value)]))])
    }
    return { entries: record(entries), context: this.context.toJSON() }
  }

  private winner (key: string): StoredDot<V> | undefined {
    let best: StoredDot<V> | undefined
    for (const stored of this.store.get(key)?.values() ?? []) {
      if (best === undefined || precedes(best.dot, stored.dot)) best = stored
    }
    return best
  }
}
