import type { CID } from 'multiformats/cid'
import type { AbortOptions, ContentStore, KuboSwarmInfo } from './content-store.ts'
import type { KuboStore, KuboStoreInit } from './kubo-store.ts'

/**
 * The Kubo store, with kubo-rpc-client (and its IPLD codecs) imported on first use: a
 * node with the embedded store never loads them (~8 MiB per idle node). Same contract as
 * KuboStore, fetchBlock and swarm included, so callers see no difference.
 */
export class LazyKuboStore implements ContentStore {
  readonly backend = 'kubo' as const
  private readonly init: KuboStoreInit
  private loading?: Promise<KuboStore>

  constructor (init: KuboStoreInit) {
    this.init = init
  }

  private async store (): Promise<KuboStore> {
    this.loading ??= import('./kubo-store.ts').then(m => new m.KuboStore(this.init))
    return await this.loading
  }

  async start (opts?: AbortOptions): Promise<void> { await (await this.store()).start(opts) }
  async stop (): Promise<void> { if (this.loading !== undefined) await (await this.loading).stop() }
  async add (source: AsyncIterable<Uint8Array>, opts?: AbortOptions): Promise<{ cid: CID, size: number }> { return await (await this.store()).add(source, opts) }
  async localBlock (cid: CID, opts?: AbortOptions): Promise<Uint8Array | undefined> { return await (await this.store()).localBlock(cid, opts) }
  async fetchBlock (cid: CID, opts?: AbortOptions): Promise<Uint8Array> { return await (await this.store()).fetchBlock(cid, opts) }
  async putBlock (cid: CID, bytes: Uint8Array, opts?: AbortOptions): Promise<void> { await (await this.store()).putBlock(cid, bytes, opts) }
  async deleteBlock (cid: CID): Promise<void> { await (await this.store()).deleteBlock(cid) }
  async pin (cid: CID, opts?: AbortOptions): Promise<void> { await (await this.store()).pin(cid, opts) }
  async unpin (cid: CID): Promise<void> { await (await this.store()).unpin(cid) }
  async bytesStored (): Promise<number> { return await (await this.store()).bytesStored() }

  readonly swarm = {
    self: async (opts?: AbortOptions): Promise<KuboSwarmInfo> => await (await this.store()).swarm.self(opts),
    connect: async (addr: string, opts?: AbortOptions): Promise<void> => { await (await this.store()).swarm.connect(addr, opts) },
    peers: async (opts?: AbortOptions): Promise<string[]> => await (await this.store()).swarm.peers(opts)
  }
}
