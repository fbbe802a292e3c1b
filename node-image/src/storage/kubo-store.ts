import { create, type KuboRPCClient } from 'kubo-rpc-client'
import { multiaddr } from '@multiformats/multiaddr'
import { CID } from 'multiformats/cid'
import type { AbortOptions, ContentStore, KuboSwarmInfo } from './content-store.ts'
import { KUBO_ADD_OPTIONS } from './unixfs-layout.ts'
import { countingSource } from './counting-source.ts'

export interface KuboStoreInit {
  /** The sidecar's RPC API, e.g. http://127.0.0.1:5001 (loopback only: the API controls the store). */
  apiUrl: string
  /** Per-request deadline for calls that do not carry their own signal. */
  timeoutMs?: number
}

/** Query parameter that keeps a Kubo command off the network (global `--offline`). */
const OFFLINE = new URLSearchParams({ offline: 'true' })

/** The store of a node with a Kubo sidecar; blocks move between sidecars over bitswap. */
export class KuboStore implements ContentStore {
  readonly backend = 'kubo' as const
  private readonly client: KuboRPCClient
  private readonly timeoutMs: number

  constructor (init: KuboStoreInit) {
    this.client = create({ url: init.apiUrl })
    this.timeoutMs = init.timeoutMs ?? 30_000
  }

  /** Fails fast when the sidecar is not there, instead of at the first upload. */
  async start (opts: AbortOptions = {}): Promise<void> {
    await this.client.id(this.signal(opts))
  }

  async stop (): Promise<void> {}

  async add (source: AsyncIterable<Uint8Array>, opts: AbortOptions = {}): Promise<{ cid: CID, size: number }> {
    const counted = countingSource(source)
    const result = await this.client.add(counted.source, { ...KUBO_ADD_OPTIONS, pin: false, ...this.signal(opts) })
    return { cid: CID.asCID(result.cid) ?? CID.parse(result.cid.toString()), size: counted.bytes() }
  }

  async localBlock (cid: CID, opts: AbortOptions = {}): Promise<Uint8Array | undefined> {
    try {
      return await this.client.block.get(cid, { ...this.signal(opts), searchParams: OFFLINE })
    } catch (err) {
      if (opts.signal?.aborted === true) throw err
      return undefined
    }
  }

  async fetchBlock (cid: CID, opts: AbortOptions = {}): Promise<Uint8Array> {
    return await this.client.block.get(cid, this.signal(opts))
  }

  async putBlock (cid: CID, bytes: Uint8Array, opts: AbortOptions = {}): Promise<void> {
    await this.client.block.put(bytes, { format: cid.code === 0x55 ? 'raw' : 'dag-pb', mhtype: 'sha2-256', version: 1, ...this.signal(opts) })
  }

  async deleteBlock (cid: CID): Promise<void> {
    for await (const result of this.client.block.rm(cid, { force: true, signal: AbortSignal.timeout(this.timeoutMs) })) {
      if (result.error != null) throw result.error
    }
  }

  async pin (cid: CID, opts: AbortOptions = {}): Promise<void> {
    await this.client.pin.add(cid, { recursive: true, ...this.signal(opts) })
  }

  async unpin (cid: CID): Promise<void> {
    try {
      await this.client.pin.rm(cid, { recursive: true, signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err) {
      if (!/not pinned/i.test((err as Error).message)) throw err
    }
  }

  async bytesStored (): Promise<number> {
    const stat = await this.client.repo.stat({ signal: AbortSignal.timeout(this.timeoutMs) })
    return Number(stat.repoSize)
  }

  readonly swarm = {
    self: async (opts: AbortOptions = {}): Promise<KuboSwarmInfo> => {
      const id = await this.client.id(this.signal(opts))
      const peerId = id.id.toString()
      return { peerId, addrs: id.addresses.map(a => a.toString()).filter(a => !a.includes('/p2p-circuit')).map(a => a.includes('/p2p/') ? a : `${a}/p2p/${peerId}`) }
    },
    connect: async (addr: string, opts: AbortOptions = {}): Promise<void> => {
      await this.client.swarm.connect(multiaddr(addr), this.signal(opts))
    },
    peers: async (opts: AbortOptions = {}): Promise<string[]> => {
      return (await this.client.swarm.peers(this.signal(opts))).map(p => p.peer.toString())
    }
  }

  private signal (opts: AbortOptions): { signal: AbortSignal } {
    return { signal: opts.signal ?? AbortSignal.timeout(this.timeoutMs) }
  }
}
