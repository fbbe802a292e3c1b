import * as dagPb from '@ipld/dag-pb'
import type { CID } from 'multiformats/cid'
import type { BlockSource } from './block-fetcher.ts'

/**
 * Visits every block of a DAG through `source` (which fetches and verifies what
 * is missing), keeping up to `concurrency` fetches in flight: a sliding window,
 * so one slow block does not hold back the rest. Returns the number of blocks and bytes.
 */
export async function walkDag (root: CID, source: BlockSource, signal: AbortSignal, concurrency = 16): Promise<{ blocks: number, bytes: number }> {
  const seen = new Set<string>([root.toString()])
  const queue: CID[] = [root]
  const running = new Set<Promise<void>>()
  let blocks = 0
  let bytes = 0
  let failure: Error | undefined
  const visit = async (cid: CID): Promise<void> => {
    const block = await source.block(cid, signal)
    blocks++
    bytes += block.byteLength
    if (cid.code !== dagPb.code) return
    for (const link of dagPb.decode(block).Links) {
      const key = link.Hash.toString()
      if (!seen.has(key)) {
        seen.add(key)
        queue.push(link.Hash)
      }
    }
  }
  while ((queue.length > 0 || running.size > 0) && failure === undefined) {
    while (queue.length > 0 && running.size < concurrency) {
      const job: Promise<void> = visit(queue.shift() as CID).catch((err: unknown) => { failure ??= err instanceof Error ? err : new Error(String(err)) }).finally(() => { running.delete(job) })
      running.add(job)
    }
    await Promise.race(running)
  }
  if (failure !== undefined) {
    await Promise.allSettled(running)
    throw failure
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
