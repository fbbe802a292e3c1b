import * as dagPb from '@ipld/dag-pb'
import type { CID } from 'multiformats/cid'
import type { BlockSource } from './block-fetcher.ts'

/**
 * Visits every block of a DAG through `source` (which fetches and verifies what
 * is missing), a few blocks at a time. Returns the number of blocks and bytes.
 */
export async function walkDag (root: CID, source: BlockSource, signal: AbortSignal, concurrency = 8): Promise<{ blocks: number, bytes: number }> {
  const seen = new Set<string>()
  let queue: CID[] = [root]
  let blocks = 0
  let bytes = 0
  while (queue.length > 0) {
    const next: CID[] = []
    for (let i = 0; i < queue.length; i += concurrency) {
      const batch = queue.slice(i, i + concurrency).filter(c => !seen.has(c.toString()))
      for (const c of batch) seen.add(c.toString())
      const fetched = await Promise.all(batch.map(async c => ({ cid: c, block: await source.block(c, signal) })))
      for (const { cid, block } of fetched) {
        blocks++
        bytes += block.byteLength
        if (cid.code === dagPb.code) for (const link of dagPb.decode(block).Links) next.push(link.Hash)
      }
    }
    queue = next
  }
  return { blocks, bytes }
}
