import type { CID } from 'multiformats/cid'
import type { StorageBackend } from './content-api.ts'

export interface AbortOptions {
  signal?: AbortSignal
}

export interface KuboSwarmInfo {
  peerId: string
  addrs: string[]
}

/**
 * One node's block store: the embedded filesystem store or the Kubo sidecar.
 * Mesh concerns (who holds what, replication, fetching from peers) sit above it.
 */
export interface ContentStore {
  readonly backend: StorageBackend
  start: (opts?: AbortOptions) => Promise<void>
  stop: () => Promise<void>
  /** Imports a byte stream with the shared DAG settings and keeps every block. */
  add: (source: AsyncIterable<Uint8Array>, opts?: AbortOptions) => Promise<{ cid: CID, size: number }>
  /** A block stored here, or undefined; never touches a network. */
  localBlock: (cid: CID, opts?: AbortOptions) => Promise<Uint8Array | undefined>
  putBlock: (cid: CID, bytes: Uint8Array, opts?: AbortOptions) => Promise<void>
  /** Removes a block found corrupt, so a good copy can take its place. */
  deleteBlock: (cid: CID) => Promise<void>
  /** Keeps the whole DAG; Kubo fetches missing blocks over bitswap, the embedded store needs them already here. */
  pin: (cid: CID, opts?: AbortOptions) => Promise<void>
  unpin: (cid: CID) => Promise<void>
  bytesStored: () => Promise<number>
  /** Only with Kubo: fetch one block over bitswap from the private swarm. */
  fetchBlock?: (cid: CID, opts?: AbortOptions) => Promise<Uint8Array>
  /** Only with Kubo: the sidecar's swarm identity, and dialling other sidecars. */
  swarm?: {
    self: (opts?: AbortOptions) => Promise<KuboSwarmInfo>
    connect: (addr: string, opts?: AbortOptions) => Promise<void>
    peers: (opts?: AbortOptions) => Promise<string[]>
  }
}
