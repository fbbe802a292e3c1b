/**
 * The storage types shared by the OR-Set and its projection join: one stored
 * dot, a key's dots, and the normalized form of whatever is being joined.
 */
import { createHash } from 'node:crypto'
import type { CausalContext, Dot } from './dots.ts'
import { canonicalJson } from './canonical-json.ts'

export class InvalidOrSetStateError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidOrSetStateError'
  }
}

export interface StoredDot<V> {
  dot: Dot
  value: V
  /** canonical JSON of value, computed lazily to break ties between conflicting copies */
  json?: string
  /** hash and size of the value, computed once (a dot's value never changes) */
  digest?: { hash: string, bytes: number }
}

export type DotStore<V> = Map<string, StoredDot<V>>

export interface Ingested<V> {
  entries: Map<string, DotStore<V>>
  /** the source saw `dot` and no longer holds it under `key` */
  removes: (key: string, dot: Dot, text: string) => boolean
  /** unions what the source has seen into `target`; true when anything was new */
  addContextTo: (target: CausalContext) => boolean
}

/** A live dot as anti-entropy sees it. `value` is the stored object: read it, never change it. */
export interface LiveDot<V> {
  key: string
  dot: Dot
  text: string
  value: V
  /** hex SHA-256 of the value's canonical JSON */
  hash: string
  /** UTF-8 length of the value's JSON */
  bytes: number
}

export function digestOf<V> (stored: StoredDot<V>): { hash: string, bytes: number } {
  if (stored.digest === undefined) {
    // Not kept: holding the JSON of every value would double the registry's memory.
    const json = stored.json ?? canonicalJson(stored.value)
    stored.digest = { hash: createHash('sha256').update(json).digest('hex'), bytes: Buffer.byteLength(json) }
  }
  return stored.digest
}

