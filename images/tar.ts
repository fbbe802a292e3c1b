// A deterministic tar writer: the bytes depend only on the entries given, never on the
// host (no owner names, times, atime/ctime or device numbers), so the same inputs give
// the same layer digest on any machine. POSIX ustar; a PAX header only for a path or
// link target too long (or not ASCII) for the ustar fields. Entries are written in the
// order given: callers pass them through normalise() first.
import { createHash, type Hash } from 'node:crypto'
import { open, rename, rm, type FileHandle } from 'node:fs/promises'
import { posix } from 'node:path'

export type Entry =
  | { type: 'dir', path: string, mode: number }
  | { type: 'file', path: string, mode: number, size: number, source: string }
  | { type: 'file', path: string, mode: number, size: number, data: Buffer }
  | { type: 'symlink', path: string, target: string }

export interface TarResult { digest: string, size: number }

const BLOCK = 512
const CHUNK = 1 << 20

/** Buffers small writes (29k files in node_modules) and hashes everything written. */
class Sink {
  private readonly buf = Buffer.allocUnsafe(CHUNK)
  private used = 0
  readonly hash: Hash = createHash('sha256')
  size = 0
  private readonly fh: FileHandle
  constructor (fh: FileHandle) { this.fh = fh }

  async write (data: Buffer): Promise<void> {
    this.hash.update(data)
    this.size += data.length
    if (data.length >= CHUNK) { await this.flush(); await this.fh.write(data); return }
    if (this.used + data.length > CHUNK) await this.flush()
    data.copy(this.buf, this.used)
    this.used += data.length
  }

  async flush (): Promise<void> {
    if (this.used > 0) await this.fh.write(this.buf, 0, this.used)
    this.used = 0
  }
}

const octal = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0'

function field (b: Buffer, offset: number, width: number, value: string | Buffer): void {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  if (v.length > width) throw new Error(`tar: field too long: ${v.toString()}`)
  v.copy(b, offset)
}

const isAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s)

/** Splits a long path into ustar's prefix (155 bytes) and name (100 bytes) at a slash, if it can. */
function ustarName (path: string): { name: string, prefix: string } | undefined {
  if (!isAscii(path)) return undefined
  if (path.length <= 100) return { name: path, prefix: '' }
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    if (i <= 155 && path.length - i - 1 <= 100 && path.length - i - 1 > 0) return { prefix: path.slice(0, i), name: path.slice(i + 1) }
  }
  return undefined
}

function header (o: { name: string, prefix: string, mode: number, size: number, mtime: number, type: string, link: string }): Buffer {
  const b = Buffer.alloc(BLOCK)
  field(b, 0, 100, o.name)
  field(b, 100, 8, octal(o.mode, 8))
  field(b, 108, 8, octal(0, 8)) // uid: numeric owner 0, no user names
  field(b, 116, 8, octal(0, 8)) // gid
  field(b, 124, 12, octal(o.size, 12))
  field(b, 136, 12, octal(o.mtime, 12))
  field(b, 148, 8, '        ') // checksum is computed over spaces here
  field(b, 156, 1, o.type)
  field(b, 157, 100, o.link)
  field(b, 257, 6, 'ustar\0')
  field(b, 263, 2, '00')
  field(b, 329, 8, octal(0, 8)) // devmajor
  field(b, 337, 8, octal(0, 8)) // devminor
  field(b, 345, 155, o.prefix)
  let sum = 0
  for (const byte of b) sum += byte
  field(b, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ')
  return b
}

/** A PAX record: "<length> <key>=<value>\n", where length counts the whole record. */
function paxRecord (key: string, value: string): string {
  const body = ` ${key}=${value}\n`
  let len = Buffer.byteLength(body)
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body)
  return `${len}${body}`
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK)

async function writeEntry (sink: Sink, e: Entry, mtime: number): Promise<void> {
  const path = e.type === 'dir' ? `${e.path}/` : e.path
  const link = e.type === 'symlink' ? e.target : ''
  const size = e.type === 'file' ? e.size : 0
  let split = ustarName(path)
  let pax = ''
  if (split === undefined) { pax += paxRecord('path', path); split = { name: path.slice(-100).replace(/[^\x20-\x7e]/g, '_'), prefix: '' } }
  if (link.length > 100 || !isAscii(link)) pax += paxRecord('linkpath', link)
  if (pax !== '') {
    const data = Buffer.from(pax, 'utf8')
    await sink.write(header({ name: 'PaxHeader', prefix: '', mode: 0o644, size: data.length, mtime, type: 'x', link: '' }))
    await sink.write(data)
    await sink.write(padding(data.length))
  }
  const type = e.type === 'dir' ? '5' : e.type === 'symlink' ? '2' : '0'
  const mode = e.type === 'symlink' ? 0o777 : e.mode
  await sink.write(header({ ...split, mode, size, mtime, type, link: link.length > 100 || !isAscii(link) ? '' : link }))
  if (e.type !== 'file') return
  if ('data' in e) {
    await sink.write(e.data)
  } else {
    await copyFile(sink, e.source, e.size)
  }
  await sink.write(padding(size))
}

/** Copies exactly `size` bytes; a file that changed since it was listed fails the build instead of corrupting the tar. */
async function copyFile (sink: Sink, source: string, size: number): Promise<void> {
  const fh = await open(source, 'r')
  try {
    let done = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size - done, 1)))
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null)
      if (bytesRead === 0) break
      done += bytesRead
      if (done > size) break
      await sink.write(chunk.subarray(0, bytesRead))
    }
    if (done !== size) throw new Error(`tar: ${source} changed while it was archived (expected ${size} bytes)`)
  } finally {
    await fh.close()
  }
}

/**
 * Writes `entries` as a tar to `out` (atomically: a temporary file renamed into place)
 * and returns its sha256 digest and size. `mtime` is every entry's modification time.
 */
export async function writeTar (entries: Entry[], out: string, opts: { mtime: number, signal?: AbortSignal }): Promise<TarResult> {
  const tmp = `${out}.tmp-${process.pid}`
  const fh = await open(tmp, 'w')
  try {
    const sink = new Sink(fh)
    for (const e of entries) {
      opts.signal?.throwIfAborted()
      await writeEntry(sink, e, opts.mtime)
    }
    await sink.write(Buffer.alloc(2 * BLOCK)) // end-of-archive marker
    await sink.flush()
    await fh.close()
    await rename(tmp, out)
    return { digest: `sha256:${sink.hash.digest('hex')}`, size: sink.size }
  } catch (err) {
    await fh.close().catch(() => undefined)
    await rm(tmp, { force: true })
    throw err
  }
}

/** Paths without a leading slash, parents added, duplicates rejected, parents before children. */
export function normalise (entries: Entry[]): Entry[] {
  const byPath = new Map<string, Entry>()
  const add = (e: Entry): void => {
    const path = posix.normalize(e.path).replace(/^\/+/, '').replace(/\/+$/, '')
    if (path === '' || path === '.' || path.startsWith('..')) throw new Error(`bad path in image: ${e.path}`)
    const prev = byPath.get(path)
    if (prev !== undefined) {
      if (prev.type === 'dir' && e.type === 'dir') return // a parent added implicitly, or the same dir twice
      throw new Error(`two entries for /${path} in one layer`)
    }
    byPath.set(path, { ...e, path })
  }
  for (const e of entries) add(e)
  for (const path of [...byPath.keys()]) {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) add({ type: 'dir', path: path.slice(0, i), mode: 0o755 })
  }
  // Component-wise byte order is depth-first: "usr" < "usr/local" < "usr-x".
  const keyed = [...byPath.values()].map(e => ({ e, parts: e.path.split('/').map(p => Buffer.from(p)) }))
  keyed.sort((a, b) => {
    const n = Math.min(a.parts.length, b.parts.length)
    for (let i = 0; i < n; i++) {
      const c = Buffer.compare(a.parts[i] ?? Buffer.alloc(0), b.parts[i] ?? Buffer.alloc(0))
      if (c !== 0) return c
    }
    return a.parts.length - b.parts.length
  })
  return keyed.map(k => k.e)
}
