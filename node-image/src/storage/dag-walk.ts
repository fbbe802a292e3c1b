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

/**
 * The CIDs of a DAG as far as `source` has it, reading only the dag-pb nodes
 * (raw leaves are named by their parents). Missing blocks end that branch.
 */
export async function dagCids (root: CID, source: BlockSource, signal: AbortSignal): Promise<Set<string>> {
  const found = new Set<string>()
  const queue: CID[] = [root]
  for (let cid = queue.pop(); cid !== undefined; cid = queue.pop()) {
    if (found.has(cid.toString())) continue
    found.add(cid.toString())
    if (cid.code !== dagPb.code) continue
    let block: Uint8Array
    try {
      block = await source.block(cid, signal)
    } catch {
      continue
    }
    for (const link of dagPb.decode(block).Links) queue.push(link.Hash)
  }
  return found
}
