import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { CID } from 'multiformats/cid'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import type { ContentStore } from './content-store.ts'
import { BlockChannel } from './block-channel.ts'
import { BlockServer } from './block-server.ts'
import { BlockExchangeError, MAX_OUTSTANDING, PeerLacksBlockError } from './block-frames.ts'

export { BlockExchangeError, BlockProtocolError, PeerLacksBlockError } from './block-frames.ts'

export interface BlockExchangeComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  admission: PeerAdmission
  /** Whether `peer` proved membership and accepted ours: the only peers asked, and read from. */
  isVerifiedBothWays: (peer: string) => boolean
  store: Pick<ContentStore, 'localBlock'>
  metrics: Pick<NodeMetrics, 'contentBlocksServed'>
  log: LogFn
}

export interface BlockExchangeInit {
  protocol: string
  /** How long a peer may take to answer one block. */
  timeoutMs: number
  /** Requests in flight per peer (default 16, at most MAX_OUTSTANDING); the holder serves as many at once. */
  window?: number
  /** A channel with nothing outstanding closes after this long (default 5 s); the holder waits 12× longer. */
  idleMs?: number
}

const DEFAULT_WINDOW = 16
const DEFAULT_IDLE_MS = 5000

/**
 * Block transfer between embedded stores: one stream per peer, many pipelined
 * requests on it (block-channel.ts, block-server.ts). The receiver checks each
 * block's hash, not the sender, so a node never trusts what it is sent.
 */
export class BlockExchange {
  private readonly components: BlockExchangeComponents
  private readonly init: BlockExchangeInit
  private readonly server: BlockServer
  /** At most one per verified peer; a channel removes itself when it closes. */
  private readonly channels = new Map<string, { opening: Promise<BlockChannel>, channel?: BlockChannel }>()
  private stopped = false

  constructor (components: BlockExchangeComponents, init: BlockExchangeInit) {
    this.components = components
    this.init = init
    this.server = new BlockServer(components, { protocol: init.protocol, window: this.window, idleMs: this.idleMs * 12, timeoutMs: init.timeoutMs })
  }

  private get window (): number {
    return Math.min(this.init.window ?? DEFAULT_WINDOW, MAX_OUTSTANDING)
  }

  private get idleMs (): number {
    return this.init.idleMs ?? DEFAULT_IDLE_MS
  }

  async start (): Promise<void> {
    this.stopped = false
    await this.server.start()
  }

  async stop (): Promise<void> {
    this.stopped = true
    await this.server.stop()
    const open = [...this.channels.values()]
    this.channels.clear()
    for (const c of await Promise.allSettled(open.map(async e => await e.opening))) if (c.status === 'fulfilled') c.value.close()
  }

  /** The peer's bytes for `cid`, unverified: the caller checks the hash. */
  async request (peer: string, cid: CID, signal: AbortSignal): Promise<Uint8Array> {
    const channel = await this.channel(peer, signal)
    let block: Uint8Array | undefined
    try {
      block = await channel.request(cid, signal)
    } catch (err) {
      if (signal.aborted || err instanceof BlockExchangeError) throw err
      throw new BlockExchangeError(`block request to ${peer} failed: ${(err as Error).message}`, { cause: err })
    }
    if (block === undefined) throw new PeerLacksBlockError(peer)
    return block
  }

  private async channel (peer: string, signal: AbortSignal): Promise<BlockChannel> {
    const existing = this.channels.get(peer)
    if (existing !== undefined && existing.channel?.closed !== true) return await existing.opening
    if (this.stopped) throw new BlockExchangeError('block exchange stopped')
    const isMember = (): boolean => this.components.isVerifiedBothWays(peer)
    // Nothing is asked of, or read from, a peer that has not proved membership.
    if (!isMember()) throw new BlockExchangeError(`${peer} is not a verified member`)
    const entry: { opening: Promise<BlockChannel>, channel?: BlockChannel } = { opening: this.open(peer, isMember, signal) }
    this.channels.set(peer, entry)
    entry.opening.then(channel => {
      entry.channel = channel
      if (channel.closed && this.channels.get(peer) === entry) this.channels.delete(peer)
    }, () => {
      if (this.channels.get(peer) === entry) this.channels.delete(peer)
    })
    return await entry.opening
  }

  private async open (peer: string, isMember: () => boolean, signal: AbortSignal): Promise<BlockChannel> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.init.timeoutMs)])
    let stream
    try {
      stream = await this.components.libp2p.dialProtocol(peerIdFromString(peer), this.init.protocol, { signal: deadline, runOnLimitedConnection: true })
    } catch (err) {
      throw new BlockExchangeError(`opening a block stream to ${peer} failed: ${(err as Error).message}`, { cause: err })
    }
    const channel: BlockChannel = new BlockChannel(stream, {
      peer,
      window: this.window,
      timeoutMs: this.init.timeoutMs,
      idleMs: this.idleMs,
      isMember,
      onClose: () => { if (this.channels.get(peer)?.channel === channel) this.channels.delete(peer) }
    })
    return channel
  }
}
