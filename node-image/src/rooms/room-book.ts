/**
 * The rooms this node holds: the network room and its own DM rooms, each a
 * RoomLog, kept on disk by RoomLogStore. It is the one place records enter
 * (verified, deduplicated, persisted, pruned) and the one place this node
 * writes its own (signed, with a fresh seq and stamp, idempotent on the
 * page's nonce). No networking here.
 */
import type { LogFn } from '../logging/json-logger.ts'
import type { MembershipCertificate } from '../identity/membership.ts'
import type { NodeSigner } from '../identity/node-signer.ts'
import { LruMap } from '../p2p/lru-map.ts'
import { HybridClock, maxHlc, type Hlc } from './hlc.ts'
import { RoomLog, type AddOutcome, type LogEntry } from './room-log.ts'
import { RoomLogStore } from './room-log-store.ts'
import { ROOM_LIMITS } from './room-limits.ts'
import type { BoxIds } from './dm-seal.ts'
import { dmParties, networkRoom, RoomMessageRejectedError, RoomMessageVerifier, signRoomMessage, type RoomFile, type RoomMessage } from './room-message.ts'

export interface RoomBookInit {
  network: string
  selfId: string
  signer: NodeSigner
  cert: MembershipCertificate
  caPublicKey: Uint8Array
  dataDir: string
  retention: { maxMessages: number, maxAgeDays: number }
  log: LogFn
  now?: () => number
}

/** What the page sends. A DM seals its text and files once its id is known (`seal`). */
export interface Draft {
  nonce: string
  nick: string
  kind: 'text' | 'file'
  text: string
  files?: RoomFile[]
  seal?: (ids: BoxIds) => string
}

export interface Accepted {
  outcome: AddOutcome
  entry: LogEntry
}

/** The room cannot take this node's message (unknown, not ours, or full). */
export class RoomUnavailableError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'RoomUnavailableError'
  }
}

const SAVE_DELAY_MS = 5000

export class RoomBook {
  readonly networkRoom: string
  private readonly init: RoomBookInit
  private readonly now: () => number
  private readonly verifier: RoomMessageVerifier
  private readonly store: RoomLogStore
  private readonly logs = new Map<string, RoomLog>()
  /** own nonces -> message id, per room (idempotent posts; rebuilt from the log on load) */
  private readonly nonces = new Map<string, LruMap<string, string>>()
  private readonly seqs = new Map<string, number>()
  private clock: HybridClock
  private inc = ''
  private saveTimer?: NodeJS.Timeout

  constructor (init: RoomBookInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.networkRoom = networkRoom(init.network)
    this.verifier = new RoomMessageVerifier({ network: init.network, caPublicKey: init.caPublicKey, now: this.now })
    this.store = new RoomLogStore({ dataDir: init.dataDir, peerId: init.selfId, log: init.log })
    this.clock = new HybridClock({ now: this.now })
  }

  get replica (): string {
    return `${this.init.selfId}.${this.inc}`
  }

  /** Loads history from disk, verifying every record again; returns how many were refused. */
  async open (): Promise<{ loaded: number, refused: number }> {
    const loaded = await this.store.load()
    this.inc = loaded.incarnation
    let high: Hlc = loaded.hlc
    let count = 0
    let refused = 0
    const compact: string[] = []
    for (const { room, lines, held } of loaded.rooms) {
      if (!this.mayHold(room)) continue
      let log: RoomLog
      try {
        log = this.openRoom(room)
      } catch (err) {
        this.init.log('warn', 'skipping stored room history', { room, error: (err as Error).message })
        continue
      }
      for (const line of lines) {
        try {
          const msg = this.verifier.verify(line.m)
          if (msg.room !== room) throw new RoomMessageRejectedError('unknown-room', 'record is filed under another room')
          this.add(msg, line.r, false)
          high = maxHlc(high, msg.hlc)
          count++
        } catch (err) {
          if (!(err instanceof RoomMessageRejectedError)) throw err
          if (err.reason !== 'equivocation') refused++
        }
      }
      // After the records: a held seq would make its record look like a duplicate.
      for (const [replica, ranges] of Object.entries(held)) log.adoptHeld(replica, ranges)
      // Segments more than half pruned (or superseded) are rewritten with what is kept.
      if (log.size * 2 < lines.length) compact.push(room)
    }
    for (const room of compact) {
      const log = this.logs.get(room)
      if (log !== undefined) await this.store.compact(room, log.entries().map(e => ({ r: e.receivedAt, m: e.msg })), Object.fromEntries(log.replicas().map(r => [r.replica, r.ranges])))
    }
    this.clock = new HybridClock({ now: this.now, after: high })
    if (!this.logs.has(this.networkRoom)) this.logs.set(this.networkRoom, new RoomLog(this.networkRoom))
    if (refused > 0) this.init.log('warn', 'refused records in stored room history', { refused })
    return { loaded: count, refused }
  }

  async close (): Promise<void> {
    clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    await this.store.close(this.clock.highWater)
  }

  /** Rooms held now, network room first. */
  rooms (): RoomLog[] {
    return [...this.logs.values()].sort((a, b) => (a.room === this.networkRoom ? -1 : b.room === this.networkRoom ? 1 : a.room < b.room ? -1 : 1))
  }

  room (room: string): RoomLog | undefined {
    return this.logs.get(room)
  }

  /** The network room, and DM rooms of which this node is an end. */
  mayHold (room: string): boolean {
    if (room === this.networkRoom) return true
    const parties = dmParties(room)
    return parties !== undefined && parties[0] < parties[1] && parties.includes(this.init.selfId)
  }

  /** A room `peer` may read from this node: the network room and the DM of the two. */
  sharedWith (room: string, peer: string): boolean {
    return room === this.networkRoom || (this.mayHold(room) && (dmParties(room)?.includes(peer) ?? false))
  }

  /** Opens (creates) a room this node may hold. */
  openRoom (room: string): RoomLog {
    const existing = this.logs.get(room)
    if (existing !== undefined) return existing
    if (!this.mayHold(room)) throw new RoomUnavailableError(`this node is not in ${room}`)
    if (this.logs.size >= ROOM_LIMITS.maxRooms) throw new RoomUnavailableError(`this node already holds ${ROOM_LIMITS.maxRooms} rooms`)
    const log = new RoomLog(room)
    this.logs.set(room, log)
    return log
  }

  /** Verifies and adds a record from a peer. Throws RoomMessageRejectedError. */
  accept (value: unknown): Accepted {
    const msg = this.verifier.verify(value)
    if (!this.mayHold(msg.room)) throw new RoomMessageRejectedError('unknown-room', `this node does not hold ${msg.room}`)
    if (!this.logs.has(msg.room)) {
      try {
        this.openRoom(msg.room)
      } catch (err) {
        throw new RoomMessageRejectedError('unknown-room', (err as Error).message)
      }
    }
    const accepted = this.add(msg, this.now(), true)
    this.clock.observe(msg.hlc)
    this.scheduleSave()
    return accepted
  }

  /** Writes this node's message, or returns the one already written for this nonce. */
  write (room: string, draft: Draft): Accepted {
    const log = this.openRoom(room)
    const known = this.nonces.get(room)?.get(draft.nonce)
    const prior = known === undefined ? undefined : log.get(known)
    if (prior !== undefined) return { outcome: 'duplicate', entry: prior }
    const seq = (this.seqs.get(room) ?? 0) + 1
    const sealed = draft.seal?.({ network: this.init.network, room, author: this.init.selfId, inc: this.inc, seq })
    const msg = signRoomMessage({
      v: 1,
      network: this.init.network,
      room,
      author: this.init.selfId,
      inc: this.inc,
      seq,
      hlc: this.clock.tick(),
      nonce: draft.nonce,
      nick: draft.nick,
      kind: draft.kind,
      text: sealed === undefined ? draft.text : '',
      ...(draft.files === undefined || sealed !== undefined ? {} : { files: draft.files }),
      ...(sealed === undefined ? {} : { sealed }),
      cert: this.init.cert
    }, this.init.signer)
    // Through the same checks as a peer's record: what this node sends, it would accept.
    const checked = this.verifier.verify(msg)
    const accepted = this.add(checked, this.now(), true)
    this.scheduleSave()
    return accepted
  }

  private add (msg: RoomMessage, receivedAt: number, persist: boolean): Accepted {
    const log = this.logs.get(msg.room) ?? this.openRoom(msg.room)
    const { outcome, entry } = log.add(msg, receivedAt)
    if (outcome === 'duplicate') return { outcome, entry }
    if (persist) this.store.append(msg.room, { r: receivedAt, m: msg })
    if (msg.author === this.init.selfId) {
      let nonces = this.nonces.get(msg.room)
      if (nonces === undefined) this.nonces.set(msg.room, nonces = new LruMap<string, string>(ROOM_LIMITS.maxNonces))
      nonces.set(msg.nonce, entry.id)
      if (msg.inc === this.inc) this.seqs.set(msg.room, Math.max(this.seqs.get(msg.room) ?? 0, msg.seq))
    }
    const { maxMessages, maxAgeDays } = this.init.retention
    log.prune({ maxMessages, maxAgeMs: maxAgeDays * 86_400_000, authorShare: ROOM_LIMITS.authorShare }, this.now())
    return { outcome, entry }
  }

  private scheduleSave (): void {
    if (this.saveTimer !== undefined) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined
      void this.store.saveState(this.clock.highWater).catch((err: unknown) => {
        this.init.log('warn', 'saving the rooms state failed', { error: (err as Error).message })
      })
    }, SAVE_DELAY_MS)
    this.saveTimer.unref()
  }
}
