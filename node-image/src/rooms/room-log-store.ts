/**
 * Room history on disk, under `<dataDir>/rooms/`:
 * - `state.json` (atomic writes): the incarnation, the clean-shutdown flag and
 *   the clock's high-water mark;
 * - `<sha256(room)[:16]>/room.json` names the room; `seg-<n>.jsonl` holds one
 *   accepted record per line, appended in batches and never rewritten.
 * Appends are not fsynced: after an unclean stop the node takes a fresh
 * incarnation, so a seq that reached the mesh but not the disk is never reused.
 * A torn last line is cut off on load.
 */
import { createHash, randomBytes } from 'node:crypto'
import { appendFile, mkdir, open, readdir, readFile, rename, stat, truncate, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { writeFileAtomic } from '../storage/atomic-file.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { MAX_COUNTER, MAX_MS, type Hlc } from './hlc.ts'
import { ROOM_ID } from './room-message.ts'
import { isNormalized, type Range, type Ranges } from '../registry/ranges.ts'

const StateSchema = Type.Object({
  version: Type.Literal(1),
  peerId: Type.String(),
  incarnation: Type.String({ pattern: '^[0-9a-f]{8,32}$' }),
  cleanShutdown: Type.Boolean(),
  hlc: Type.Object({ ms: Type.Integer({ minimum: 0, maximum: MAX_MS }), c: Type.Integer({ minimum: 0, maximum: MAX_COUNTER }) })
})
const checkState = Compile(StateSchema)
const RoomFileSchema = Type.Object({ room: Type.String({ pattern: ROOM_ID }) })
const checkRoomFile = Compile(RoomFileSchema)

export interface StoredLine {
  /** unix ms when this node first held the record */
  r: number
  /** the record as written; verified again on load */
  m: unknown
}

/** Seqs a room held before compaction dropped their pruned records, per replica. */
export type HeldRanges = Record<string, Ranges>

export interface LoadedRoom {
  room: string
  lines: StoredLine[]
  held: HeldRanges
}

export interface LoadedRooms {
  incarnation: string
  /** true when the last run did not stop cleanly (the incarnation is fresh) */
  recovered: boolean
  hlc: Hlc
  rooms: LoadedRoom[]
}

export interface RoomLogStoreInit {
  dataDir: string
  peerId: string
  log: LogFn
  /** a segment is closed once it reaches this size */
  segmentBytes?: number
}

interface RoomFiles {
  dir: string
  segment: number
  size: number
  pending: string[]
  flushing?: Promise<void>
}

export function freshIncarnation (): string {
  return randomBytes(4).toString('hex')
}

export class RoomLogStore {
  private readonly init: Required<RoomLogStoreInit>
  private readonly root: string
  private readonly files = new Map<string, RoomFiles>()
  private incarnation = freshIncarnation()
  private failed = false

  constructor (init: RoomLogStoreInit) {
    this.init = { segmentBytes: 4 * 1024 * 1024, ...init }
    this.root = join(init.dataDir, 'rooms')
  }

  /** Reads everything, cuts torn lines, and marks the store as in use (unclean until `close`). */
  async load (): Promise<LoadedRooms> {
    await mkdir(this.root, { recursive: true })
    const state = await this.readState()
    const recovered = state !== undefined && !state.cleanShutdown
    if (state !== undefined && state.cleanShutdown && state.peerId === this.init.peerId) this.incarnation = state.incarnation
    if (recovered) this.init.log('info', 'rooms were not shut down cleanly; using a fresh incarnation', { previous: state.incarnation, incarnation: this.incarnation })
    const rooms: LoadedRooms['rooms'] = []
    for (const name of (await readdir(this.root, { withFileTypes: true })).filter(d => d.isDirectory()).map(d => d.name).sort()) {
      const loaded = await this.loadRoom(join(this.root, name))
      if (loaded !== undefined) rooms.push(loaded)
    }
    const hlc = state?.hlc ?? { ms: 0, c: 0 }
    await this.writeState(hlc, false)
    return { incarnation: this.incarnation, recovered, hlc, rooms }
  }

  /** Queues one record line; lines are written in order, in batches. */
  append (room: string, line: StoredLine): void {
    if (this.failed) return
    const files = this.filesOf(room)
    files.pending.push(JSON.stringify(line) + '\n')
    files.flushing ??= this.flush(room, files)
  }

  /** Resolves once every queued line is on disk (or failed and was logged). */
  async flushed (): Promise<void> {
    await Promise.all([...this.files.values()].map(async f => { await f.flushing }))
  }

  /**
   * Replaces a room's segments with one holding only `lines` (what retention
   * kept). The new segment is complete and synced before the old ones go; a
   * crash in between leaves both, and the log drops the duplicates on load.
   */
  async compact (room: string, lines: StoredLine[], held: HeldRanges): Promise<void> {
    const files = this.filesOf(room)
    await files.flushing
    const dir = join(this.root, dirName(room))
    const old = await segmentsOf(dir)
    const next = (old[old.length - 1] ?? 0) + 1
    const body = [{ held }, ...lines].map(l => JSON.stringify(l) + '\n').join('')
    const tmp = `${segmentFile(dir, next)}.tmp`
    const handle = await open(tmp, 'w', 0o600)
    try {
      await handle.writeFile(body)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, segmentFile(dir, next))
    for (const n of old) await unlink(segmentFile(dir, n))
    files.segment = next
    files.size = Buffer.byteLength(body)
  }

  async saveState (hlc: Hlc): Promise<void> {
    await this.writeState(hlc, false)
  }

  /** Flushes, then records a clean shutdown so the next run keeps this incarnation. */
  async close (hlc: Hlc): Promise<void> {
    await this.flushed()
    await this.writeState(hlc, true)
  }

  private filesOf (room: string): RoomFiles {
    let files = this.files.get(room)
    if (files === undefined) {
      files = { dir: join(this.root, dirName(room)), segment: 0, size: Infinity, pending: [] }
      this.files.set(room, files)
    }
    return files
  }

  private async flush (room: string, files: RoomFiles): Promise<void> {
    try {
      while (files.pending.length > 0) {
        const batch = files.pending.splice(0).join('')
        if (files.segment === 0) await this.openRoom(room, files)
        if (files.size >= this.init.segmentBytes) {
          files.segment++
          files.size = 0
        }
        await appendFile(segmentFile(files.dir, files.segment), batch, { mode: 0o600 })
        files.size += Buffer.byteLength(batch)
      }
    } catch (err) {
      // The records stay in memory and in the mesh; anti-entropy brings them back after a restart.
      this.failed = true
      this.init.log('error', 'writing room history failed; history is no longer saved', { room, error: (err as Error).message })
    } finally {
      files.flushing = undefined
    }
  }

  private async openRoom (room: string, files: RoomFiles): Promise<void> {
    await mkdir(files.dir, { recursive: true })
    const segments = await segmentsOf(files.dir)
    if (segments.length === 0) await writeFile(join(files.dir, 'room.json'), JSON.stringify({ room }), { mode: 0o600 })
    const last = segments[segments.length - 1] ?? 1
    files.segment = last
    files.size = await stat(segmentFile(files.dir, last)).then(s => s.size, () => 0)
  }

  private async loadRoom (dir: string): Promise<LoadedRoom | undefined> {
    let room: string
    try {
      const meta: unknown = JSON.parse(await readFile(join(dir, 'room.json'), 'utf8'))
      if (!checkRoomFile.Check(meta) || dirName(meta.room) !== dir.slice(dir.length - 16)) throw new Error('room.json does not name this directory\'s room')
      room = meta.room
    } catch (err) {
      this.init.log('warn', 'skipping a room directory without a usable room.json', { dir, error: (err as Error).message })
      return undefined
    }
    const lines: StoredLine[] = []
    const held: HeldRanges = {}
    const segments = await segmentsOf(dir)
    for (const [i, n] of segments.entries()) {
      const file = segmentFile(dir, n)
      const text = await readFile(file, 'utf8')
      const parts = text.split('\n')
      const tail = parts.pop() ?? ''
      let bad = 0
      for (const part of parts) {
        const line = parseLine(part)
        if (line === undefined) bad++
        else if ('held' in line) Object.assign(held, line.held)
        else lines.push(line)
      }
      // Only the newest segment can end in a half-written line.
      if (tail !== '' && i === segments.length - 1) {
        await truncate(file, Buffer.byteLength(text) - Buffer.byteLength(tail))
        this.init.log('info', 'cut a torn last line from room history', { file, bytes: Buffer.byteLength(tail) })
      }
      if (bad > 0) this.init.log('warn', 'skipped unreadable lines in room history', { file, lines: bad })
    }
    return { room, lines, held }
  }

  private async readState (): Promise<Static<typeof StateSchema> | undefined> {
    try {
      const value: unknown = JSON.parse(await readFile(join(this.root, 'state.json'), 'utf8'))
      if (checkState.Check(value)) return value
      this.init.log('warn', 'rooms state.json is not usable; starting a fresh incarnation')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.init.log('warn', 'cannot read rooms state.json; starting a fresh incarnation', { error: (err as Error).message })
    }
    return undefined
  }

  private async writeState (hlc: Hlc, cleanShutdown: boolean): Promise<void> {
    await writeFileAtomic(join(this.root, 'state.json'), JSON.stringify({ version: 1, peerId: this.init.peerId, incarnation: this.incarnation, cleanShutdown, hlc }))
  }
}

function dirName (room: string): string {
  return createHash('sha256').update(room).digest('hex').slice(0, 16)
}

function segmentFile (dir: string, n: number): string {
  return join(dir, `seg-${String(n).padStart(6, '0')}.jsonl`)
}

async function segmentsOf (dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[])
  return names.map(n => /^seg-(\d{6})\.jsonl$/.exec(n)?.[1]).filter((n): n is string => n !== undefined).map(Number).sort((a, b) => a - b)
}

function parseLine (text: string): StoredLine | { held: HeldRanges } | undefined {
  try {
    const value = JSON.parse(text) as unknown
    if (typeof value !== 'object' || value === null) return undefined
    const { r, m, held } = value as { r?: unknown, m?: unknown, held?: unknown }
    if (held !== undefined) return parseHeld(held)
    return typeof r === 'number' && Number.isSafeInteger(r) ? { r, m } : undefined
  } catch {
    return undefined
  }
}

function parseHeld (value: unknown): { held: HeldRanges } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const held: HeldRanges = {}
  for (const [replica, ranges] of Object.entries(value)) {
    if (!Array.isArray(ranges) || !ranges.every(r => Array.isArray(r) && r.length === 2) || !isNormalized(ranges as Range[])) return undefined
    held[replica] = ranges as Ranges
  }
  return { held }
}
