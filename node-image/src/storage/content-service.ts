import { join } from 'node:path'
import { exporter } from 'ipfs-unixfs-exporter'
import type { CID } from 'multiformats/cid'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from 'libp2p'
import type { Messenger } from '../p2p/messenger.ts'
import type { NodeMetrics } from '../metrics/node-metrics.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { GossipChannel } from '../p2p/gossip-channel.ts'
import type { OpenedEnvelope } from '../p2p/envelope.ts'
import type { AddOptions, AddResult, ContentFacade, ContentReader, ContentStatus, ContentSummary, GetOptions, StorageBackend } from './content-api.ts'
import type { ContentStore } from './content-store.ts'
import { EmbeddedStore } from './embedded-store.ts'
import { LazyKuboStore } from './lazy-kubo-store.ts'
import { BlockExchange } from './block-exchange.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import { BlockFetcher, type BlockSource } from './block-fetcher.ts'
import { cidKey, parseCid } from './cid-text.ts'
import { countingSource } from './counting-source.ts'
import { ContentDirectory, parseManifest, MAX_MANIFEST_ITEMS, type ContentManifest } from './content-manifest.ts'
import { PinSet, MAX_REPLICATION, type PinEntry } from './pin-set.ts'
import { placePin, planReplication, type ReplicationView } from './replication-plan.ts'
import { readContentState, writeContentState } from './content-state-file.ts'
import { dagCids, walkDag } from './dag-walk.ts'
import { ContentDeadlineError, ContentError, ContentNotFoundError, UploadTooLargeError } from './errors.ts'
import { KuboPeering } from './kubo-peering.ts'
import { StoreAvailability } from './store-availability.ts'
import { meshPeriodMs, SMALL_MESH_NODES } from '../timing/mesh-period.ts'

export interface StorageSettings {
  backend: StorageBackend
  kuboApiUrl?: string
  replication: number
  maxUploadBytes: number
  fetchTimeoutMs: number
  blockTimeoutMs: number
  manifestIntervalSeconds: number
  repairIntervalSeconds: number
}

export interface ContentServiceComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  pubsub: GossipSub
  messenger: Messenger
  metrics: NodeMetrics
  log: LogFn
  /** Verified members connected now. */
  verifiedPeers: () => string[]
  isVerifiedBothWays: (peer: string) => boolean
  admission: PeerAdmission
  /** Members in the mesh (connected or not); the manifest's period grows with it. Default: connected ones + 1. */
  meshSize?: () => number
}

export interface ContentServiceInit {
  selfId: string
  dataDir: string
  topic: string
  /** A manifest sent to one member, the one that just joined. */
  manifestProtocol: string
  blockProtocol: string
  storage: StorageSettings
}

/** Replication jobs run a few at a time so one large pin does not starve the rest. */
const MAX_REPLICATION_JOBS = 2
const REPLICATION_TIMEOUT_MS = 30 * 60_000

/**
 * The content layer of one node: adds and reads content by CID, keeps the
 * mesh-wide pin set, and fetches or drops copies so every pin is held on R
 * nodes chosen by rendezvous hashing over the live members.
 */
export class ContentService implements ContentFacade {
  readonly backend: StorageBackend
  readonly maxUploadBytes: number
  readonly defaultReplication: number
  private readonly components: ContentServiceComponents
  private readonly init: ContentServiceInit
  private readonly store: ContentStore
  private readonly exchange?: BlockExchange
  private readonly availability: StoreAvailability
  private readonly fetcher: BlockFetcher
  private readonly channel: GossipChannel
  private readonly directory = new ContentDirectory()
  private readonly pins = new PinSet()
  private readonly held = new Set<string>()
  private readonly jobs = new Map<string, AbortController>()
  private readonly peering?: KuboPeering
  private readonly stateFile: string
  private saving: Promise<void> = Promise.resolve()
  private kuboSelf?: ContentManifest['kubo']
  private manifestTimer?: NodeJS.Timeout
  private repairTimer?: NodeJS.Timeout
  private announceTimer?: NodeJS.Timeout
  private running = false
  /** Uploads in progress: their blocks are not yet in any held DAG, so no collection runs meanwhile. */
  private adding = 0

  constructor (components: ContentServiceComponents, init: ContentServiceInit) {
    this.components = components
    this.init = init
    const { storage } = init
    this.backend = storage.backend
    this.maxUploadBytes = storage.maxUploadBytes
    this.defaultReplication = storage.replication
    const dir = join(init.dataDir, 'content')
    this.stateFile = join(dir, 'state.json')
    if (storage.backend === 'kubo') {
      if (storage.kuboApiUrl === undefined) throw new Error('storage.kuboApiUrl is required with storage.backend kubo')
      this.store = new LazyKuboStore({ apiUrl: storage.kuboApiUrl, timeoutMs: storage.blockTimeoutMs })
    } else {
      this.store = new EmbeddedStore({ dir })
      this.exchange = new BlockExchange({ ...components, store: this.store }, { protocol: init.blockProtocol, timeoutMs: storage.blockTimeoutMs })
    }
    this.fetcher = new BlockFetcher({ store: this.store, ...(this.exchange === undefined ? {} : { exchange: this.exchange }), metrics: components.metrics, log: components.log }, { selfId: init.selfId, blockTimeoutMs: storage.blockTimeoutMs })
    this.channel = new GossipChannel({ ...components, selfId: init.selfId }, { topic: init.topic, type: 'content.manifest', onMessage: env => { this.onManifest(env) }, direct: { protocol: init.manifestProtocol, service: 'content-manifest' } })
    if (this.store.swarm !== undefined) this.peering = new KuboPeering({ swarm: this.store.swarm, log: components.log })
    const { swarm } = this.store
    this.availability = new StoreAvailability({
      log: components.log,
      connect: async (signal) => {
        if (storage.backend !== 'kubo') return
        await this.store.start({ signal })
        if (swarm !== undefined) this.kuboSelf = await swarm.self({ signal })
      }
    }, { name: storage.backend === 'kubo' ? `the Kubo sidecar at ${storage.kuboApiUrl ?? ''}` : 'the embedded store' })
  }

  /** False while the Kubo sidecar has not answered yet; `reason` says why, for /readyz. */
  get storeState (): { available: boolean, reason: string } {
    return { available: this.availability.available, reason: this.availability.reason }
  }

  async start (): Promise<void> {
    // The embedded store is local disk: a failure there is permanent and must stop the node.
    if (this.backend === 'embedded') await this.store.start()
    const state = await readContentState(this.stateFile)
    this.pins.mergeAll(state.pins)
    for (const cid of state.held) this.held.add(cid)
    await this.exchange?.start()
    await this.channel.start()
    this.running = true
    this.scheduleManifest()
    this.repairTimer = setInterval(() => { this.tick() }, this.init.storage.repairIntervalSeconds * 1000)
    this.repairTimer.unref()
    this.availability.start()
    void this.availability.whenAvailable().then(async (available) => {
      if (!available) return
      this.announceSoon()
      await this.refreshMetrics()
    })
  }

  async stop (): Promise<void> {
    this.running = false
    await this.availability.stop()
    clearTimeout(this.manifestTimer)
    clearInterval(this.repairTimer)
    clearTimeout(this.announceTimer)
    for (const job of this.jobs.values()) job.abort()
    await this.channel.stop()
    await this.exchange?.stop()
    await this.saving
    await this.store.stop()
  }

  /**
   * Every member re-gossips its manifest: manifestIntervalSeconds up to SMALL_MESH_NODES
   * members, in proportion beyond (100 s at 100 nodes by default: about one manifest a
   * second mesh-wide).
   */
  private scheduleManifest (): void {
    const size = this.components.meshSize?.() ?? this.components.verifiedPeers().length + 1
    const interval = this.init.storage.manifestIntervalSeconds * 1000
    this.manifestTimer = setTimeout(() => {
      if (!this.running) return
      void this.publishManifest()
      this.scheduleManifest()
    }, meshPeriodMs(size, { minMs: interval, perNodeMs: interval / SMALL_MESH_NODES }))
    this.manifestTimer.unref()
  }

  /**
   * A member was verified: it learns this node's manifest from this node alone, at once
   * (its own manifest, sent to us the same way, moves placement and so runs a repair).
   */
  greet (peer: string): void {
    if (!this.running) return
    void this.channel.sendTo(peer, this.manifestBytes())
  }

  /** This node's state changed: tell the mesh soon. */
  announceSoon (delayMs = 250): void {
    if (!this.running || this.announceTimer !== undefined) return
    this.announceTimer = setTimeout(() => {
      this.announceTimer = undefined
      void this.publishManifest()
      this.repair()
    }, delayMs)
    this.announceTimer.unref()
  }

  async add (source: AsyncIterable<Uint8Array>, opts: AddOptions = {}): Promise<AddResult> {
    this.requireStore()
    const replication = this.replicationOf(opts.replication)
    const limited = countingSource(source, { bytes: this.maxUploadBytes, error: () => new UploadTooLargeError(this.maxUploadBytes) })
    this.adding++
    let added: { cid: CID, size: number }
    try {
      added = await this.store.add(limited.source, opts.signal === undefined ? {} : { signal: opts.signal })
    } finally {
      this.adding--
    }
    const { cid, size } = added
    const key = cidKey(cid)
    const pinned = opts.pin !== false
    if (pinned) {
      await this.store.pin(cid, opts.signal === undefined ? {} : { signal: opts.signal })
      this.held.add(key)
      this.setPin({ cid: key, replication, at: this.nextAt(key), removed: false, size })
    }
    this.components.log('info', 'content added', { cid: key, size, pinned, replication })
    return { cid: key, size, pinned, replication }
  }

  /**
   * The deadline covers finding the content (its root block); once bytes flow,
   * each block has `blockTimeoutMs`, so a large download is not cut short.
   */
  async get (cidText: string, opts: GetOptions = {}): Promise<ContentReader> {
    const cid = parseCid(cidText)
    this.requireStore()
    const timeoutMs = opts.timeoutMs ?? this.init.storage.fetchTimeoutMs
    const deadline = AbortSignal.timeout(timeoutMs)
    const signal = opts.signal === undefined ? deadline : AbortSignal.any([opts.signal, deadline])
    const source = this.source(cid)
    const entry = await this.mapErrors(cid, deadline, timeoutMs, async () => await exporter(cid, source, { signal }))
    if (entry.type !== 'file' && entry.type !== 'raw' && entry.type !== 'identity') throw new ContentError('not-a-file', `${cidKey(cid)} is a ${entry.type}, not a file`)
    return { size: Number(entry.size), content: entry.content({ ...(opts.signal === undefined ? {} : { signal: opts.signal }), blockReadConcurrency: 16 }) }
  }

  async pin (cidText: string, opts: { replication?: number, signal?: AbortSignal } = {}): Promise<ContentStatus> {
    const cid = parseCid(cidText)
    this.requireStore()
    const key = cidKey(cid)
    const replication = this.replicationOf(opts.replication)
    const current = this.pins.get(key)
    if (current === undefined || current.replication !== replication) {
      if (!this.held.has(key)) {
        // Refuse to pin what nobody has: check the root block is reachable first.
        const timeoutMs = this.init.storage.fetchTimeoutMs
        const deadline = AbortSignal.timeout(timeoutMs)
        const signal = opts.signal === undefined ? deadline : AbortSignal.any([opts.signal, deadline])
        await this.mapErrors(cid, deadline, timeoutMs, async () => await this.source(cid).block(cid, signal))
      }
      this.setPin({ cid: key, replication, at: this.nextAt(key), removed: false, ...(current?.size === undefined ? {} : { size: current.size }) })
    }
    return await this.status(key)
  }

  async unpin (cidText: string): Promise<ContentStatus> {
    const key = cidKey(parseCid(cidText))
    const current = this.pins.get(key)
    if (current !== undefined) this.setPin({ ...current, at: this.nextAt(key), removed: true })
    return await this.status(key)
  }

  status (cidText: string): Promise<ContentStatus> {
    return Promise.resolve(this.statusOf(cidKey(parseCid(cidText)), this.view()))
  }

  private statusOf (key: string, view: ReplicationView): ContentStatus {
    const pin = this.pins.get(key)
    if (pin === undefined) {
      return { cid: key, pinned: false, replication: 0, local: this.held.has(key), holders: [], have: view.live.filter(n => view.holds(n, key)), deficit: 0 }
    }
    const placement = placePin(view, pin)
    return { cid: key, pinned: true, replication: pin.replication, local: this.held.has(key), holders: placement.holders, have: placement.have, deficit: placement.deficit }
  }

  async list (): Promise<ContentSummary> {
    this.requireStore()
    const view = this.view()
    const pins = this.pins.active().map(p => this.statusOf(p.cid, view))
    return { backend: this.backend, bytesStored: await this.store.bytesStored(), pins, deficit: pins.reduce((n, p) => n + p.deficit, 0) }
  }

  /** The periodic round: repair, re-dial sidecars we lost, refresh the gauges that cost I/O. */
  private tick (): void {
    this.repair()
    if (this.peering !== undefined && this.availability.available) void this.peering.connect(this.kuboPeers())
    void this.refreshMetrics()
  }

  /** Fetches what this node should hold and drops surplus copies. */
  repair (): void {
    if (!this.running || !this.availability.available) return
    const plan = planReplication(this.view(), this.held)
    this.components.metrics.contentReplicationDeficit.set(plan.deficit)
    for (const cid of plan.fetch) {
      if (this.jobs.size >= MAX_REPLICATION_JOBS) break
      if (!this.jobs.has(cid)) void this.replicate(cid)
    }
    for (const cid of plan.release) void this.release(cid)
  }

  private async replicate (key: string): Promise<void> {
    const job = new AbortController()
    this.jobs.set(key, job)
    const started = performance.now()
    try {
      const cid = parseCid(key)
      const signal = AbortSignal.any([job.signal, AbortSignal.timeout(REPLICATION_TIMEOUT_MS)])
      if (this.store.fetchBlock === undefined) await walkDag(cid, this.source(cid), signal)
      await this.store.pin(cid, { signal })
      if (this.pins.get(key) === undefined) return
      this.held.add(key)
      this.components.log('info', 'content replicated to this node', { cid: key, ms: Math.round(performance.now() - started) })
      this.changed()
    } catch (err) {
      if (this.running) this.components.log('warn', 'replication failed; will retry', { cid: key, error: (err as Error).message })
    } finally {
      this.jobs.delete(key)
    }
  }

  private async release (key: string): Promise<void> {
    if (!this.held.delete(key)) return
    try {
      await this.store.unpin(parseCid(key))
    } catch (err) {
      this.components.log('warn', 'unpin in the store failed', { cid: key, error: (err as Error).message })
    }
    this.components.log('info', 'content released from this node', { cid: key })
    this.changed()
    if (this.store.fetchBlock === undefined) await this.collect(key)
  }

  /**
   * Deletes the blocks of a released DAG that no held DAG shares (the embedded
   * store's garbage collection; Kubo collects its own unpinned blocks).
   */
  private async collect (key: string): Promise<void> {
    if (this.adding > 0 || this.held.has(key) || this.jobs.size > 0) return
    const signal = AbortSignal.timeout(REPLICATION_TIMEOUT_MS)
    const local = this.fetcher.session(() => [], { offline: true })
    const keep = new Set<string>()
    for (const other of this.held) for (const c of await dagCids(parseCid(other), local, signal)) keep.add(c)
    let deleted = 0
    for (const c of await dagCids(parseCid(key), local, signal)) {
      if (keep.has(c) || this.held.has(key) || this.adding > 0) continue
      await this.store.deleteBlock(parseCid(c))
      deleted++
    }
    this.components.log('debug', 'released blocks deleted', { cid: key, blocks: deleted })
  }

  private onManifest (env: OpenedEnvelope): void {
    const manifest = parseManifest(env.body)
    const knownSidecar = this.directory.manifest(env.from)?.kubo?.peerId
    if (!this.directory.update(env.from, manifest, env.ts)) return
    // A sidecar we have not heard of: dial it now rather than at the next tick.
    if (manifest.kubo !== undefined && manifest.kubo.peerId !== knownSidecar) void this.peering?.connect([manifest.kubo])
    if (this.pins.mergeAll(manifest.pins)) this.changed({ announce: false })
    else this.repair()
  }

  private setPin (entry: PinEntry): void {
    this.pins.merge(entry)
    this.changed()
  }

  /** Persist, tell the mesh, and act on the new state. */
  private changed (opts: { announce?: boolean } = {}): void {
    this.saving = this.saving.then(async () => {
      this.pins.prune()
      await writeContentState(this.stateFile, { version: 1, pins: this.pins.entries(), held: [...this.held] })
    }).catch((err: unknown) => { this.components.log('error', 'saving content state failed', { error: (err as Error).message }) })
    if (opts.announce !== false) this.announceSoon(50)
    this.repair()
  }

  private async publishManifest (): Promise<void> {
    if (!this.running) return
    await this.channel.publish(this.manifestBytes())
  }

  private manifestBytes (): Uint8Array {
    const pins = this.pins.entries().slice(0, MAX_MANIFEST_ITEMS)
    const manifest: ContentManifest = { v: 1, backend: this.backend, pins, held: [...this.held].slice(0, MAX_MANIFEST_ITEMS), ...(this.kuboSelf === undefined ? {} : { kubo: this.kuboSelf }) }
    return new TextEncoder().encode(JSON.stringify(manifest))
  }

  private view (): ReplicationView {
    const known = new Set(this.directory.nodes())
    const self = this.init.selfId
    const live = [self, ...this.components.verifiedPeers().filter(p => known.has(p))]
    return {
      self,
      live,
      pins: this.pins.active(),
      holds: (node, cid) => node === self ? this.held.has(cid) : this.directory.holds(node, cid)
    }
  }

  /**
   * Blocks of one DAG: nodes reported holding its root first (in placement order),
   * then every other connected member, whose manifest may not have arrived yet.
   */
  private source (cid: CID): BlockSource {
    const key = cidKey(cid)
    return this.fetcher.session(() => {
      const view = this.view()
      const pin = this.pins.get(key)
      const order = pin === undefined ? view.live : [...placePin(view, pin).holders, ...view.live]
      const holders = view.live.filter(n => view.holds(n, key))
      return [...new Set([...order.filter(n => holders.includes(n)), ...holders, ...order, ...this.components.verifiedPeers()])]
    })
  }

  private kuboPeers (): Array<{ peerId: string, addrs: string[] }> {
    const live = new Set(this.components.verifiedPeers())
    return this.directory.nodes().filter(n => live.has(n)).flatMap(n => {
      const kubo = this.directory.manifest(n)?.kubo
      return kubo === undefined ? [] : [kubo]
    })
  }

  private async mapErrors<T> (cid: CID, deadline: AbortSignal, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof ContentDeadlineError || (deadline.aborted && !(err instanceof ContentError))) {
        const known = this.view().live.some(n => this.directory.holds(n, cidKey(cid)))
        if (!known && this.store.fetchBlock !== undefined) throw new ContentNotFoundError(`no node in the private swarm provided ${cidKey(cid)} within ${timeoutMs} ms`)
        throw new ContentDeadlineError(`${cidKey(cid)} was not read within ${timeoutMs} ms`, { cause: err })
      }
      throw err
    }
  }

  private replicationOf (requested: number | undefined): number {
    const r = requested ?? this.defaultReplication
    if (!Number.isInteger(r) || r < 1 || r > MAX_REPLICATION) throw new ContentError('bad-request', `replication must be an integer from 1 to ${MAX_REPLICATION}`)
    return r
  }

  /** A change must sort after the one it replaces even if clocks disagree. */
  private nextAt (key: string): number {
    const prev = this.pins.latest(key)?.at ?? 0
    return Math.max(Date.now(), prev + 1)
  }

  private requireStore (): void {
    if (!this.availability.available) throw new ContentError('unavailable', this.availability.reason)
  }

  private async refreshMetrics (): Promise<void> {
    const { metrics } = this.components
    metrics.contentPins.set(this.pins.active().length)
    try {
      metrics.contentBytesStored.set(await this.store.bytesStored())
    } catch {
      // The sidecar is briefly away (restarting); the next refresh catches up.
    }
  }
}
