/**
 * What the HTTP API, the `content` agent and the CLI see of the content layer.
 * CIDs travel as strings here; the service parses and checks them.
 */
export type StorageBackend = 'embedded' | 'kubo'

export interface AddOptions {
  /** Pin it mesh-wide (default true), held on `replication` nodes. */
  pin?: boolean
  replication?: number
  signal?: AbortSignal
}

export interface AddResult {
  cid: string
  size: number
  pinned: boolean
  replication: number
}

export interface GetOptions {
  signal?: AbortSignal
  /** Overall deadline; defaults to `storage.fetchTimeoutMs`. */
  timeoutMs?: number
}

/** Returned once the root block is fetched and verified, so a missing CID fails before any byte is sent. */
export interface ContentReader {
  size: number
  content: AsyncIterable<Uint8Array>
}

export interface ContentStatus {
  cid: string
  pinned: boolean
  replication: number
  /** Held completely on this node. */
  local: boolean
  /** Nodes that should hold it, best first (rendezvous order over live nodes). */
  holders: string[]
  /** Live nodes that report holding it completely. */
  have: string[]
  /** How many more live holders replication needs. */
  deficit: number
}

export interface ContentSummary {
  backend: StorageBackend
  bytesStored: number
  pins: ContentStatus[]
  deficit: number
}

export interface ContentFacade {
  readonly backend: StorageBackend
  readonly maxUploadBytes: number
  readonly defaultReplication: number
  add: (source: AsyncIterable<Uint8Array>, opts?: AddOptions) => Promise<AddResult>
  get: (cid: string, opts?: GetOptions) => Promise<ContentReader>
  pin: (cid: string, opts?: { replication?: number, signal?: AbortSignal }) => Promise<ContentStatus>
  unpin: (cid: string) => Promise<ContentStatus>
  status: (cid: string) => Promise<ContentStatus>
  list: () => Promise<ContentSummary>
}
