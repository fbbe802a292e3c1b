import type { CID } from 'multiformats/cid'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import type { ContentStore } from './content-store.ts'
import { BlockProtocolError, PeerLacksBlockError, type BlockExchange } from './block-exchange.ts'
import { verifyBlock } from './verify-block.ts'
import { LruMap } from '../p2p/lru-map.ts'
import { BlockVerificationError, ContentDeadlineError, ContentNotFoundError } from './errors.ts'

const MAX_PENALISED = 4096

export interface BlockFetcherComponents {
  store: ContentStore
  /** Embedded stores fetch from peers over the mesh; Kubo uses bitswap instead. */
  exchange?: BlockExchange
  metrics: NodeMetrics
  log: LogFn
}

export interface BlockFetcherInit {
  selfId: string
  /** How long a peer that sent bad bytes is skipped. */
  penaltyMs?: number
  /** How long Kubo may search the swarm for one block. */
  blockTimeoutMs?: number
}

/** The readable side of a blockstore, as the unixfs exporter and the DAG walk use it. */
export interface BlockSource {
  get: (cid: CID, opts?: { signal?: AbortSignal }) => AsyncGenerator<Uint8Array>
  block: (cid: CID, signal: AbortSignal) => Promise<Uint8Array>
}

/**
 * Gets verified blocks: from the local store, else from Kubo's bitswap, else from
 * the mesh peers a caller names (holders first). A block whose bytes do not hash
 * to its CID is counted, never returned, and its sender is skipped for a while.
 */
export class BlockFetcher {
  private readonly components: BlockFetcherComponents
  private readonly init: BlockFetcherInit
  // Keyed by peers that sent a bad block; bounded, as peer ids are not scarce.
  private readonly penalised = new LruMap<string, number>(MAX_PENALISED)

  constructor (components: BlockFetcherComponents, init: BlockFetcherInit) {
    this.components = components
    this.init = init
    // Every source at zero from the start: a dashboard or alert sees 0, not "no data".
    for (const source of ['local', 'kubo', 'mesh']) components.metrics.contentVerificationFailures.inc({ source }, 0)
  }

  /** A source for one DAG; `candidates` are asked in order, the last peer that answered first. */
  session (candidates: () => string[], opts: { offline?: boolean } = {}): BlockSource {
    let preferred: string | undefined
    const block = async (cid: CID, signal: AbortSignal): Promise<Uint8Array> => {
      const found = await this.fromStore(cid, signal)
      if (found !== undefined) return found
      if (opts.offline === true) throw new ContentNotFoundError(`block ${cid.toString()} is not on this node`)
      const { fetchBlock } = this.components.store
      if (fetchBlock !== undefined) return await this.fromKubo(fetchBlock, cid, signal)
      const peers = this.order(candidates(), preferred)
      const bytes = await this.fromPeers(cid, peers, signal, peer => { preferred = peer })
      return bytes
    }
    return {
      block,
      get: async function * (cid, o) { yield await block(cid, o?.signal ?? AbortSignal.timeout(30_000)) }
    }
  }

  private async fromStore (cid: CID, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const { store, metrics, log } = this.components
    const started = performance.now()
    const bytes = await store.localBlock(cid, { signal })
    if (bytes === undefined) return undefined
    try {
      await verifyBlock(cid, bytes)
    } catch (err) {
      // Bit rot on this node's disk: fetch a good copy instead of serving it.
      metrics.contentVerificationFailures.inc({ source: 'local' })
      log('warn', 'stored block is corrupt; fetching it again', { cid: cid.toString(), error: (err as Error).message })
      await store.deleteBlock(cid)
      return undefined
    }
    metrics.contentFetchSeconds.observe({ source: 'local' }, (performance.now() - started) / 1000)
    return bytes
  }

  private async fromKubo (fetchBlock: NonNullable<ContentStore['fetchBlock']>, cid: CID, signal: AbortSignal): Promise<Uint8Array> {
    const { metrics } = this.components
    const started = performance.now()
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.init.blockTimeoutMs ?? 30_000)])
    let bytes: Uint8Array
    try {
      bytes = await fetchBlock(cid, { signal: deadline })
    } catch (err) {
      if (deadline.aborted) throw new ContentDeadlineError(`block ${cid.toString()} was not found in the private swarm before the deadline`, { cause: err })
      throw err
    }
    try {
      await verifyBlock(cid, bytes)
    } catch (err) {
      metrics.contentVerificationFailures.inc({ source: 'kubo' })
      throw err
    }
    metrics.contentFetchSeconds.observe({ source: 'kubo' }, (performance.now() - started) / 1000)
    return bytes
  }

  private async fromPeers (cid: CID, peers: string[], signal: AbortSignal, onSuccess: (peer: string) => void): Promise<Uint8Array> {
    const { exchange, store, metrics } = this.components
    if (exchange === undefined) throw new ContentNotFoundError(`block ${cid.toString()} is not on this node`)
    const failures: string[] = []
    for (const peer of peers) {
      const started = performance.now()
      let bytes: Uint8Array
      try {
        bytes = await exchange.request(peer, cid, signal)
      } catch (err) {
        if (signal.aborted) break
        // A peer that breaks the block protocol is skipped like one that sends bad bytes.
        if (err instanceof BlockProtocolError) this.penalise(peer, cid, err.message)
        failures.push(err instanceof PeerLacksBlockError ? `${peer}: missing` : `${peer}: ${(err as Error).message}`)
        continue
      }
      try {
        await verifyBlock(cid, bytes)
      } catch (err) {
        if (!(err instanceof BlockVerificationError)) throw err
        metrics.contentVerificationFailures.inc({ source: 'mesh' })
        this.penalise(peer, cid, 'sent a block that does not match its CID')
        failures.push(`${peer}: corrupt block`)
        continue
      }
      metrics.contentFetchSeconds.observe({ source: 'mesh' }, (performance.now() - started) / 1000)
      onSuccess(peer)
      await store.putBlock(cid, bytes, { signal })
      return bytes
    }
    if (signal.aborted) throw new ContentDeadlineError(`block ${cid.toString()} was not fetched before the deadline (${failures.length} peers tried)`)
    throw new ContentNotFoundError(peers.length === 0
      ? `no node in the mesh holds ${cid.toString()}`
      : `no node had a valid copy of block ${cid.toString()} (${failures.join('; ')})`)
  }

  private penalise (peer: string, cid: CID, why: string): void {
    this.penalised.set(peer, Date.now() + (this.init.penaltyMs ?? 10 * 60_000))
    this.components.log('warn', `peer ${why}; skipping the peer`, { peer, cid: cid.toString() })
  }

  /** Penalised peers go last (not away: they may be the only copy left after their disk was fixed). */
  private order (peers: string[], preferred: string | undefined): string[] {
    const now = Date.now()
    for (const [peer, until] of [...this.penalised.entries()]) if (until < now) this.penalised.delete(peer)
    const list = peers.filter(p => p !== this.init.selfId)
    const good = list.filter(p => !this.penalised.has(p))
    const bad = list.filter(p => this.penalised.has(p))
    if (preferred !== undefined && good.includes(preferred)) {
      good.splice(good.indexOf(preferred), 1)
      good.unshift(preferred)
    }
    return [...good, ...bad]
  }
}
