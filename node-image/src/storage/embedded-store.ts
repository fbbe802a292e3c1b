import { join } from 'node:path'
import { readdir, readFile, stat } from 'node:fs/promises'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import { importer } from 'ipfs-unixfs-importer'
import type { CID } from 'multiformats/cid'
import type { AbortOptions, ContentStore } from './content-store.ts'
import { importerOptions } from './unixfs-layout.ts'
import { countingSource } from './counting-source.ts'

export interface EmbeddedStoreInit {
  /** Blocks live in `<dir>/blocks`, one file per block (blockstore-fs). */
  dir: string
}

/**
 * The store of a node run without a Kubo sidecar: IPFS's own unixfs importer
 * and filesystem blockstore, so CIDs match Kubo's and blocks survive restarts.
 */
export class EmbeddedStore implements ContentStore {
  readonly backend = 'embedded' as const
  private readonly blocks: FsBlockstore
  private readonly blocksDir: string
  /** blockstore-fs's own layout, so a block is read with one readFile (see localBlock). */
  private readonly layout = new NextToLast()
  private stored = 0

  constructor (init: EmbeddedStoreInit) {
    this.blocksDir = join(init.dir, 'blocks')
    this.blocks = new FsBlockstore(this.blocksDir, { shardingStrategy: this.layout })
  }

  async start (): Promise<void> {
    await this.blocks.open()
    this.stored = await directoryBytes(this.blocksDir)
  }

  async stop (): Promise<void> {
    await this.blocks.close()
  }

  async add (source: AsyncIterable<Uint8Array>, opts: AbortOptions = {}): Promise<{ cid: CID, size: number }> {
    const counted = countingSource(source)
    const sink = { put: async (cid: CID, bytes: Uint8Array) => { await this.putBlock(cid, bytes, opts); return cid } }
    let root: CID | undefined
    for await (const entry of importer([{ content: counted.source }], sink, { ...importerOptions(), signal: opts.signal } as Parameters<typeof importer>[2])) root = entry.cid
    if (root === undefined) throw new Error('importer produced no root')
    return { cid: root, size: counted.bytes() }
  }

  /**
   * One readFile, not has() then a 64 KiB-chunked read stream: serving and reading
   * blocks is the hot path of every fetch, and an absent block costs one failed open.
   */
  async localBlock (cid: CID, opts: AbortOptions = {}): Promise<Uint8Array | undefined> {
    const { dir, file } = this.layout.encode(cid)
    try {
      return await readFile(join(this.blocksDir, dir, file), opts.signal === undefined ? {} : { signal: opts.signal })
    } catch (err) {
      // Absent, or deleted by a collection while we read: the same thing.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw err
    }
  }

  async putBlock (cid: CID, bytes: Uint8Array, opts: AbortOptions = {}): Promise<void> {
    if (await this.blocks.has(cid, opts)) return
    await this.blocks.put(cid, bytes, opts)
    this.stored += bytes.byteLength
  }

  async deleteBlock (cid: CID): Promise<void> {
    const bytes = await this.localBlock(cid)
    if (bytes === undefined) return
    await this.blocks.delete(cid)
    this.stored -= bytes.byteLength
  }

  // Pins are the content service's state file; this store keeps every block (no GC yet).
  async pin (): Promise<void> {}
  async unpin (): Promise<void> {}

  bytesStored (): Promise<number> {
    return Promise.resolve(this.stored)
  }
}

async function directoryBytes (dir: string): Promise<number> {
  let total = 0
  let entries
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw err
  }
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith('.data')) total += (await stat(join(e.parentPath, e.name))).size
  }
  return total
}
