/**
 * One room's history in memory: records in the one order every node computes
 * (the order key), deduplicated by id (author, incarnation, seq), and each
 * replica's held seqs as ranges, which is all anti-entropy compares. Records
 * are immutable, so two versions of one id can only come from an author that
 * signed both (equivocation): every node keeps the one whose signature sorts
 * lower, so all converge on it.
 */
import { createHash } from 'node:crypto'
import { clipRanges, lowerBound, normalizeRanges, rangesContain, type Ranges } from '../registry/ranges.ts'
import { messageId, orderKey, replicaOf, RoomMessageRejectedError, type RoomMessage } from './room-message.ts'

export interface LogEntry {
  msg: RoomMessage
  id: string
  key: string
  /** unix ms when this node first held it */
  receivedAt: number
}

export type AddOutcome = 'added' | 'duplicate' | 'replaced'

export interface RetentionInit {
  maxMessages: number
  maxAgeMs: number
  /** one author's share of maxMessages */
  authorShare: number
}

export class RoomLog {
  readonly room: string
  private readonly byId = new Map<string, LogEntry>()
  /** order keys, sorted */
  private readonly keys: string[] = []
  private readonly byKey = new Map<string, LogEntry>()
  private readonly bySeq = new Map<string, Map<number, LogEntry>>()
  /** per replica: seqs held now or pruned (so peers never re-send them) */
  private readonly held = new Map<string, Ranges>()
  private readonly perAuthor = new Map<string, number>()
  private cachedRoot?: string

  constructor (room: string) {
    this.room = room
  }

  get size (): number {
    return this.keys.length
  }

  get (id: string): LogEntry | undefined {
    return this.byId.get(id)
  }

  /** True when this id is held now or was pruned. */
  holds (replica: string, seq: number): boolean {
    return rangesContain(this.held.get(replica) ?? [], seq)
  }

  /**
   * Adds a verified record. A record already held is a no-op; another version
   * of a held id replaces it only when its signature sorts lower, and throws
   * `equivocation` otherwise.
   */
  add (msg: RoomMessage, receivedAt: number): { outcome: AddOutcome, entry: LogEntry, replaced?: LogEntry } {
    if (msg.room !== this.room) throw new RoomMessageRejectedError('unknown-room', `record of ${msg.room} offered to ${this.room}`)
    const id = messageId(msg)
    const old = this.byId.get(id)
    if (old !== undefined) {
      if (old.msg.sig === msg.sig) return { outcome: 'duplicate', entry: old }
      if (!(msg.sig < old.msg.sig)) throw new RoomMessageRejectedError('equivocation', `${msg.author} signed two versions of ${id}; keeping the other`)
      this.remove(old)
      const entry = this.insert(msg, id, old.receivedAt)
      return { outcome: 'replaced', entry, replaced: old }
    }
    const replica = replicaOf(msg)
    if (this.holds(replica, msg.seq)) return { outcome: 'duplicate', entry: { msg, id, key: orderKey(msg), receivedAt } }
    const entry = this.insert(msg, id, receivedAt)
    this.held.set(replica, normalizeRanges([...(this.held.get(replica) ?? []), [msg.seq, msg.seq]]))
    this.cachedRoot = undefined
    return { outcome: 'added', entry }
  }

  /** Marks seqs as held whose records this node dropped before (compacted history from its own disk). */
  adoptHeld (replica: string, ranges: Ranges): void {
    this.held.set(replica, normalizeRanges([...(this.held.get(replica) ?? []), ...ranges]))
    this.cachedRoot = undefined
  }

  /** Up to `limit` entries before the order key `before` (or the newest), newest first. */
  page (limit: number, before?: string): LogEntry[] {
    const end = before === undefined ? this.keys.length : lowerBound(this.keys, before)
    const out: LogEntry[] = []
    for (let i = end - 1; i >= 0 && out.length < limit; i--) out.push(this.byKey.get(this.keys[i] as string) as LogEntry)
    return out
  }

  /** Every entry, oldest first. */
  entries (): LogEntry[] {
    return this.keys.map(k => this.byKey.get(k) as LogEntry)
  }

  get newestKey (): string | undefined {
    return this.keys[this.keys.length - 1]
  }

  /** Replicas with their held ranges, sorted by replica. */
  replicas (): Array<{ replica: string, ranges: Ranges }> {
    return [...this.held.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([replica, ranges]) => ({ replica, ranges }))
  }

  rangesOf (replica: string): Ranges {
    return this.held.get(replica) ?? []
  }

  /** Held ranges of `replica` inside [lo, hi]. */
  heldWithin (replica: string, lo: number, hi: number): Ranges {
    return clipRanges(this.rangesOf(replica), lo, hi)
  }

  /** Records of `replica` with lo <= seq <= hi, by seq. */
  within (replica: string, lo: number, hi: number): LogEntry[] {
    const seqs = this.bySeq.get(replica)
    if (seqs === undefined) return []
    const out: LogEntry[] = []
    if (hi - lo < seqs.size) {
      for (let s = lo; s <= hi; s++) {
        const e = seqs.get(s)
        if (e !== undefined) out.push(e)
      }
      return out
    }
    for (const e of seqs.values()) if (e.msg.seq >= lo && e.msg.seq <= hi) out.push(e)
    return out.sort((a, b) => a.msg.seq - b.msg.seq)
  }

  /** sha256 over the sorted `replica:ranges` lines: equal on two nodes exactly when they hold the same ids. */
  root (): string {
    if (this.cachedRoot !== undefined) return this.cachedRoot
    const h = createHash('sha256')
    for (const { replica, ranges } of this.replicas()) h.update(`${replica}:${JSON.stringify(ranges)}\n`)
    this.cachedRoot = h.digest('hex')
    return this.cachedRoot
  }

  /**
   * Drops what retention no longer keeps: older than maxAgeMs, past maxMessages
   * (oldest first), and an author's oldest past its share. Dropped ids stay
   * held. Returns the dropped entries.
   */
  prune (retention: RetentionInit, now: number): LogEntry[] {
    const dropped: LogEntry[] = []
    const cutoff = now - retention.maxAgeMs
    while (this.keys.length > 0) {
      const oldest = this.byKey.get(this.keys[0] as string) as LogEntry
      if (oldest.msg.hlc.ms >= cutoff && this.keys.length <= retention.maxMessages) break
      this.remove(oldest)
      dropped.push(oldest)
    }
    const share = Math.max(1, Math.floor(retention.maxMessages * retention.authorShare))
    for (const [author, count] of [...this.perAuthor]) {
      let excess = count - share
      for (let i = 0; excess > 0 && i < this.keys.length;) {
        const e = this.byKey.get(this.keys[i] as string) as LogEntry
        if (e.msg.author !== author) { i++; continue }
        this.remove(e)
        dropped.push(e)
        excess--
      }
    }
    return dropped
  }

  private insert (msg: RoomMessage, id: string, receivedAt: number): LogEntry {
    const entry: LogEntry = { msg, id, key: orderKey(msg), receivedAt }
    this.byId.set(id, entry)
    this.byKey.set(entry.key, entry)
    this.keys.splice(lowerBound(this.keys, entry.key), 0, entry.key)
    const replica = replicaOf(msg)
    let seqs = this.bySeq.get(replica)
    if (seqs === undefined) this.bySeq.set(replica, seqs = new Map<number, LogEntry>())
    seqs.set(msg.seq, entry)
    this.perAuthor.set(msg.author, (this.perAuthor.get(msg.author) ?? 0) + 1)
    return entry
  }

  private remove (entry: LogEntry): void {
    this.byId.delete(entry.id)
    this.byKey.delete(entry.key)
    const i = lowerBound(this.keys, entry.key)
    if (this.keys[i] === entry.key) this.keys.splice(i, 1)
    this.bySeq.get(replicaOf(entry.msg))?.delete(entry.msg.seq)
    const n = (this.perAuthor.get(entry.msg.author) ?? 1) - 1
    if (n <= 0) this.perAuthor.delete(entry.msg.author)
    else this.perAuthor.set(entry.msg.author, n)
  }
}

