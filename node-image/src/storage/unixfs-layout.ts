/**
 * How files become DAGs. Both backends must cut and link the same way, or the
 * same bytes get two CIDs: CIDv1, raw leaves, 256 KiB fixed chunks, balanced
 * layout with 174 links per node (Kubo's defaults for `add --cid-version=1`).
 */
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import type { ImporterOptions } from 'ipfs-unixfs-importer'

export const CHUNK_SIZE = 262_144
export const MAX_LINKS_PER_NODE = 174
/** No honest block of ours is larger than a chunk; dag-pb nodes with 174 links are ~8 KiB. */
export const MAX_BLOCK_BYTES = 1024 * 1024

export function importerOptions (): ImporterOptions {
  return {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: MAX_LINKS_PER_NODE })
  }
}

/** The same settings as Kubo RPC `add` parameters. */
export const KUBO_ADD_OPTIONS = {
  cidVersion: 1,
  rawLeaves: true,
  chunker: `size-${CHUNK_SIZE}`,
  trickle: false
} as const
