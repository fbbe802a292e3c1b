import Type, { type Static } from 'typebox'

export const MAX_REPLICATION = 64
/** Pins and unpins remembered at once; peers gossip their pin sets, so this bounds what they can make us hold. */
export const MAX_PIN_ENTRIES = 65_536

export const PinEntry = Type.Object({
  cid: Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-z2-7]+$', description: 'CIDv1 base32' }),
  replication: Type.Integer({ minimum: 1, maximum: MAX_REPLICATION }),
  /** Last change, unix ms: the latest change wins (last-writer-wins map). */
  at: Type.Integer({ minimum: 0 }),
  removed: Type.Boolean(),
  size: Type.Optional(Type.Integer({ minimum: 0 }))
}, { additionalProperties: false })
export type PinEntry = Static<typeof PinEntry>

/** How long an unpin is remembered, so a node that was away cannot resurrect the pin. */
const TOMBSTONE_MS = 7 * 24 * 3600_000

/**
 * The mesh-wide pin set: a last-writer-wins map from CID to its pin. Merging is
 * commutative and idempotent, so nodes converge whatever order manifests arrive in.
 */
export class PinSet {
  /** New CIDs refused because the set was full. */
  refused = 0
  private readonly pins = new Map<string, PinEntry>()
  private readonly max: number

  constructor (max = MAX_PIN_ENTRIES) {
    this.max = max
  }

  /** Applies one entry; true when it changed the set. */
  merge (entry: PinEntry): boolean {
    const current = this.pins.get(entry.cid)
    if (current !== undefined && !wins(entry, current)) return false
    if (current === undefined && this.pins.size >= this.max && !this.evictTombstone()) {
      this.refused++
      return false
    }
    this.pins.set(entry.cid, { ...entry })
    return true
  }

  get size (): number {
    return this.pins.size
  }

  /** Makes room by forgetting the oldest unpin; live pins are never dropped. */
  private evictTombstone (): boolean {
    let oldest: PinEntry | undefined
    for (const e of this.pins.values()) if (e.removed && (oldest === undefined || e.at < oldest.at)) oldest = e
    if (oldest === undefined) return false
    this.pins.delete(oldest.cid)
    return true
  }

  mergeAll (entries: Iterable<PinEntry>): boolean {
    let changed = false
    for (const e of entries) changed = this.merge(e) || changed
    return changed
  }

  get (cid: string): PinEntry | undefined {
    const e = this.pins.get(cid)
    return e === undefined || e.removed ? undefined : e
  }

  /** The latest change for a CID, an unpin included. */
  latest (cid: string): PinEntry | undefined {
    return this.pins.get(cid)
  }

  /** Live pins, sorted by CID. */
  active (): PinEntry[] {
    return [...this.pins.values()].filter(e => !e.removed).sort((a, b) => a.cid < b.cid ? -1 : 1)
  }

  /** Everything including unpins, for gossip and the state file. */
  entries (): PinEntry[] {
    return [...this.pins.values()]
  }

  /** Forgets unpins older than the tombstone window. */
  prune (now = Date.now()): void {
    for (const [cid, e] of this.pins) if (e.removed && now - e.at > TOMBSTONE_MS) this.pins.delete(cid)
  }
}

/** Later wins; at the same instant an unpin wins, then the higher replication. */
function wins (a: PinEntry, b: PinEntry): boolean {
  if (a.at !== b.at) return a.at > b.at
  if (a.removed !== b.removed) return a.removed
  return a.replication > b.replication
}
