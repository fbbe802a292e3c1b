import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { exporter } from 'ipfs-unixfs-exporter'
import { EmbeddedStore } from '../../../src/storage/embedded-store.ts'
import { BlockFetcher } from '../../../src/storage/block-fetcher.ts'
import { dagCids, walkDag } from '../../../src/storage/dag-walk.ts'
import { createNodeMetrics } from '../../../src/metrics/node-metrics.ts'
import { silentLogger } from '../../../src/logging/json-logger.ts'
import { CHUNK_SIZE } from '../../../src/storage/unixfs-layout.ts'
import { ContentNotFoundError } from '../../../src/storage/errors.ts'
import { parseCid } from '../../../src/storage/cid-text.ts'

async function * chunks (bytes: Uint8Array, size = 65_536): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
}

async function collect (source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return Buffer.concat(parts)
}

describe('embedded store', () => {
  let dir: string
  let store: EmbeddedStore
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dawn-store-'))
    store = new EmbeddedStore({ dir })
    await store.start()
  })
  afterEach(async () => {
    await store.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const fetcher = (s: EmbeddedStore): BlockFetcher => new BlockFetcher({ store: s, metrics: createNodeMetrics(), log: silentLogger }, { selfId: 'self' })

  it('gives the well-known CIDv1 of the empty file and of one raw chunk', async () => {
    expect((await store.add(chunks(new Uint8Array(0)))).cid.toString()).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
    const one = await store.add(chunks(randomBytes(CHUNK_SIZE)))
    expect(one.cid.toString()).toMatch(/^bafkrei/)
    expect(one.size).toBe(CHUNK_SIZE)
    const two = await store.add(chunks(randomBytes(CHUNK_SIZE + 1)))
    expect(two.cid.toString()).toMatch(/^bafybei/)
  })

  it('round-trips a multi-block file through the verifying fetcher and the unixfs exporter', async () => {
    const bytes = randomBytes(5 * CHUNK_SIZE + 123)
    const { cid, size } = await store.add(chunks(bytes, 100_000))
    expect(size).toBe(bytes.length)
    const source = fetcher(store).session(() => [], { offline: true })
    const entry = await exporter(cid, source)
    expect(entry.size).toBe(BigInt(bytes.length))
    if (entry.type !== 'file') throw new Error(`expected a file, got ${entry.type}`)
    expect((await collect(entry.content())).equals(bytes)).toBe(true)
    const walked = await walkDag(cid, source, AbortSignal.timeout(5000))
    expect(walked.blocks).toBe(7)
    // The link-only walk names the same 7 blocks while reading just the root.
    expect((await dagCids(cid, source, AbortSignal.timeout(5000))).size).toBe(7)
    expect(await store.bytesStored()).toBeGreaterThanOrEqual(bytes.length)
  })

  it('counts stored bytes across a restart and does not double count a repeated add', async () => {
    const bytes = randomBytes(3 * CHUNK_SIZE)
    await store.add(chunks(bytes))
    const stored = await store.bytesStored()
    await store.add(chunks(bytes))
    expect(await store.bytesStored()).toBe(stored)
    await store.stop()
    store = new EmbeddedStore({ dir })
    await store.start()
    expect(await store.bytesStored()).toBe(stored)
  })

  it('reports a block it does not have as not found, offline', async () => {
    const other = parseCid('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
    await expect(fetcher(store).session(() => [], { offline: true }).block(other, AbortSignal.timeout(1000))).rejects.toThrow(ContentNotFoundError)
  })
})
