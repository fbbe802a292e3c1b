import { join } from 'node:path'
import { readdir, stat } from 'node:fs/promises'
import { FsBlockstore } from 'blockstore-fs'
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
  private stored = 0

  constructor (init: EmbeddedStoreInit) {
    this.blocksDir = join(init.dir, 'blocks')
    this.blocks = new FsBlockstore(this.blocksDir)
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

  async localBlock (cid: CID, opts: AbortOptions = {}): Promise<Uint8Array | undefined> {
    if (!(await this.blocks.has(cid, opts))) return undefined
    const parts: Uint8Array[] = []
    try {
      for await (const part of this.blocks.get(cid, opts)) parts.push(part)
    } catch (err) {
      // Deleted between has() and get(): same as absent.
      if ((err as Error).name === 'NotFoundError') return undefined
      throw err
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts)
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
