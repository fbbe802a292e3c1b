/**
 * Rooms and direct messages between the people on the nodes of a network:
 * the room book (history, on disk), live gossip, anti-entropy, receipts and
 * typing, and the operations the HTTP API offers the page. Built
 * js-libp2p style: `rooms(init)(components)` returns a startable service.
 */
import type { GossipSub } from '@libp2p/gossipsub'
import type { Libp2p } from 'libp2p'
import type { MembershipCertificate } from '../identity/membership.ts'
import { NodeSigner } from '../identity/node-signer.ts'
import type { MembershipGuard } from '../p2p/membership-guard.ts'
import type { Messenger, MessengerComponents } from '../p2p/messenger.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import type { RegistrySyncStatus } from '../registry/sync-health.ts'
import { RoomBook, type Accepted } from './room-book.ts'
import { RateLimiter, ROOM_LIMITS, type RateInit } from './room-limits.ts'
import { RoomLive } from './room-live.ts'
import { createRoomMetrics, type RoomMetrics } from './room-metrics.ts'
import { dmParties, dmRoom, FILE_TYPE_PATTERN, RoomMessageRejectedError, type RoomFile } from './room-message.ts'
import { RoomReceipts, type Receipt } from './room-receipts.ts'
import { RoomSync } from './room-sync.ts'
import { messageView, type Opened, type RoomMessageView } from './room-view.ts'
import { DmSealer } from './dm-seal.ts'
import { DmPush } from './dm-push.ts'
import type { LogEntry } from './room-log.ts'
import { searchRoom, type SearchQuery } from './room-search.ts'
import { publicKeyFromPeerId } from '../identity/peer-id.ts'

export interface RoomsInit {
  network: string
  selfId: string
  /** the node's 32-byte Ed25519 seed: it signs the node's messages */
  seed: Uint8Array
  cert: MembershipCertificate
  caPublicKey: Uint8Array
  dataDir: string
  retention: { maxMessages: number, maxAgeDays: number }
  protocols: { roomsTopic: string, roomReceiptsTopic: string, roomTypingTopic: string, roomSync: string, dmPush: string }
  syncIntervalMs?: number
  /** What this node's page may post; default ROOM_LIMITS.postRate. */
  pageRate?: RateInit
}

/** Where live events go (the node's event stream); absent, nothing is pushed. */
export interface EventSink {
  publish: (type: string, data: unknown) => void
}

export interface RoomsComponents extends MessengerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  messenger: Messenger
  pubsub: GossipSub
  guard: Pick<MembershipGuard, 'verifiedPeers' | 'addEventListener' | 'removeEventListener'>
  admission: PeerAdmission
  events?: EventSink
}

export interface RoomSummary {
  room: string
  kind: 'network' | 'dm'
  /** the other end of a DM */
  peer?: string
  messages: number
  lastOrderKey?: string
  /** others' messages after what this node's page has seen (at most 999) */
  unread: number
  root: string
}

export interface PostBody {
  nonce: string
  nick?: string
  text?: string
  files?: RoomFile[]
}

/** The page sends faster than the node accepts; retry after `retryAfterMs`. */
export class RoomRateLimitedError extends Error {
  readonly retryAfterMs: number
  constructor (retryAfterMs: number) {
    super(`too many messages; retry in ${retryAfterMs} ms`)
    this.name = 'RoomRateLimitedError'
    this.retryAfterMs = retryAfterMs
  }
}

/** No such room on this node. */
export class RoomNotFoundError extends Error {
  constructor (room: string) {
    super(`no room ${room.slice(0, 200)} on this node`)
    this.name = 'RoomNotFoundError'
  }
}

/** What the HTTP routes use. */
export interface RoomsApi {
  list: () => RoomSummary[]
  messages: (room: string, opts: { before?: string, limit: number }) => RoomMessageView[]
  digest: (room: string) => { room: string, root: string, messages: number, replicas: Array<{ replica: string, ranges: Array<[number, number]> }> }
  post: (room: string, body: PostBody) => { id: string, orderKey: string, created: boolean }
  seen: (room: string, upTo: string) => void
  typing: (room: string, nick: string) => boolean
  openDm: (nodeId: string) => { room: string }
  search: (room: string, query: SearchQuery) => RoomMessageView[]
}

export function rooms (init: RoomsInit): (components: RoomsComponents) => RoomsService {
  return components => new RoomsService(components, init)
}

export class RoomsService implements RoomsApi {
  private readonly components: RoomsComponents
  private readonly init: RoomsInit
  private readonly signer: NodeSigner
  private readonly book: RoomBook
  private readonly receipts: RoomReceipts
  private readonly metrics: RoomMetrics
  private readonly live: RoomLive
  private readonly sync: RoomSync
  private readonly sealer: DmSealer
  private readonly push: DmPush
  private readonly postRate: RateLimiter
  private readonly typingSent = new Map<string, number>()
  private readonly dmReceipts = new Map<string, NodeJS.Timeout>()

  constructor (components: RoomsComponents, init: RoomsInit) {
    this.postRate = new RateLimiter(init.pageRate ?? ROOM_LIMITS.postRate)
    this.components = components
    this.init = init
    this.signer = new NodeSigner(init.seed, init.selfId)
    this.metrics = createRoomMetrics(components.metrics.registry)
    this.book = new RoomBook({ network: init.network, selfId: init.selfId, signer: this.signer, cert: init.cert, caPublicKey: init.caPublicKey, dataDir: init.dataDir, retention: init.retention, log: components.log })
    this.receipts = new RoomReceipts({ selfId: init.selfId })
    this.sealer = new DmSealer({ selfId: init.selfId, seed: init.seed })
    const { metrics, log, messenger } = components
    this.live = new RoomLive({
      metrics,
      log,
      messenger,
      pubsub: components.pubsub,
      book: this.book,
      receipts: this.receipts,
      roomMetrics: this.metrics,
      onAccepted: a => { this.accepted(a) },
      onReceipt: (node, r) => { this.emit('room.receipt', receiptEvent(node, r)) },
      onTyping: (node, room, nick) => { this.emit('room.typing', { room, node, nick, at: Date.now() }) }
    }, { selfId: init.selfId, topics: { messages: init.protocols.roomsTopic, receipts: init.protocols.roomReceiptsTopic, typing: init.protocols.roomTypingTopic } })
    this.sync = new RoomSync({
      libp2p: components.libp2p,
      messenger,
      guard: components.guard,
      admission: components.admission,
      book: this.book,
      metrics: this.metrics,
      log,
      onAccepted: a => { this.accepted(a) }
    }, { protocol: init.protocols.roomSync, ...(init.syncIntervalMs === undefined ? {} : { intervalMs: init.syncIntervalMs }) })
    this.push = new DmPush({
      libp2p: components.libp2p,
      messenger,
      admission: components.admission,
      book: this.book,
      metrics: this.metrics,
      log,
      onAccepted: a => { this.accepted(a) },
      onReceipt: (node, r) => { if (this.receipts.apply(node, r)) this.emit('room.receipt', receiptEvent(node, r)) }
    }, { selfId: init.selfId, protocol: init.protocols.dmPush })
  }

  async start (): Promise<void> {
    const { loaded, refused } = await this.book.open()
    if (refused > 0) this.metrics.rejected.inc({ reason: 'malformed', source: 'disk' }, refused)
    this.components.log('info', 'rooms loaded', { messages: loaded, rooms: this.book.rooms().length })
    this.updateGauge()
    await this.live.start()
    await this.sync.start()
    await this.push.start()
    this.components.guard.addEventListener('peer:verified', this.onVerified)
  }

  async stop (): Promise<void> {
    this.components.guard.removeEventListener('peer:verified', this.onVerified)
    for (const t of this.dmReceipts.values()) clearTimeout(t)
    this.dmReceipts.clear()
    await this.push.stop()
    await this.sync.stop()
    await this.live.stop()
    await this.book.close()
    this.signer.forget()
    this.sealer.forget()
  }

  get networkRoom (): string {
    return this.book.networkRoom
  }

  syncStatus (): RegistrySyncStatus {
    return this.sync.status()
  }

  /** Pulls from `peer` now (tests and the CLI). */
  async syncWith (peer: string): Promise<void> {
    await this.sync.syncWith(peer)
  }

  list (): RoomSummary[] {
    return this.book.rooms().map(log => {
      const parties = dmParties(log.room)
      const seen = this.receipts.seenUpTo(log.room)
      let unread = 0
      for (const e of log.page(999)) {
        if (seen !== undefined && e.key <= seen) break
        if (e.msg.author !== this.init.selfId) unread++
      }
      const newest = log.newestKey
      return {
        room: log.room,
        kind: parties === undefined ? 'network' as const : 'dm' as const,
        ...(parties === undefined ? {} : { peer: parties[0] === this.init.selfId ? parties[1] : parties[0] }),
        messages: log.size,
        ...(newest === undefined ? {} : { lastOrderKey: newest }),
        unread,
        root: log.root()
      }
    })
  }

  messages (room: string, opts: { before?: string, limit: number }): RoomMessageView[] {
    const log = this.book.room(room)
    if (log === undefined) throw new RoomNotFoundError(room)
    return log.page(Math.min(opts.limit, ROOM_LIMITS.maxPage), opts.before).map(e => this.view(e))
  }

  /** Newest first; DMs are searched in their opened text. */
  search (room: string, query: SearchQuery): RoomMessageView[] {
    const log = this.book.room(room)
    if (log === undefined) throw new RoomNotFoundError(room)
    return searchRoom(log.entries(), query, e => this.view(e))
  }

  digest (room: string): ReturnType<RoomsApi['digest']> {
    const log = this.book.room(room)
    if (log === undefined) throw new RoomNotFoundError(room)
    return { room, root: log.root(), messages: log.size, replicas: log.replicas() }
  }

  /** Writes this node's message; the same nonce again returns the first one (`created: false`). */
  post (room: string, body: PostBody): { id: string, orderKey: string, created: boolean } {
    const peer = this.otherEnd(room)
    if (room !== this.book.networkRoom && peer === undefined) throw new RoomNotFoundError(room)
    const files = body.files?.map(cleanFile) ?? []
    if (files.length === 0 && (body.text ?? '') === '') throw new RoomMessageRejectedError('malformed', 'a message needs text or files')
    const wait = this.postRate.take('post')
    if (wait > 0) {
      this.metrics.rateLimited.inc({ limit: 'post' })
      throw new RoomRateLimitedError(wait)
    }
    const plain: Opened = { kind: files.length === 0 ? 'text' : 'file', text: body.text ?? '', files }
    const accepted = this.book.write(room, {
      nonce: body.nonce,
      nick: body.nick ?? '',
      kind: plain.kind,
      text: plain.text,
      ...(files.length === 0 ? {} : { files }),
      ...(peer === undefined ? {} : { seal: ids => this.sealer.seal(ids, plain) })
    })
    if (accepted.outcome !== 'duplicate') {
      this.metrics.accepted.inc({ source: 'local' })
      this.accepted(accepted)
      if (peer === undefined) void this.live.publish(accepted.entry.msg)
      else this.push.push(peer, accepted.entry.msg)
    }
    return { id: accepted.entry.id, orderKey: accepted.entry.key, created: accepted.outcome !== 'duplicate' }
  }

  seen (room: string, upTo: string): void {
    if (this.book.room(room) === undefined) throw new RoomNotFoundError(room)
    if (this.receipts.markSeen(room, upTo)) this.receiptSoon(room)
  }

  /** Sends a typing notice unless one went out for this room within the last 3 s; true when sent. */
  typing (room: string, nick: string): boolean {
    if (room !== this.book.networkRoom) throw new RoomNotFoundError(room)
    const now = Date.now()
    if (now - (this.typingSent.get(room) ?? 0) < ROOM_LIMITS.typingGapMs) return false
    this.typingSent.set(room, now)
    void this.live.typing(room, nick)
    return true
  }

  /** Opens (creates) the DM room with `nodeId`; its history syncs with that node only. */
  openDm (nodeId: string): { room: string } {
    try {
      publicKeyFromPeerId(nodeId)
    } catch {
      throw new RoomMessageRejectedError('malformed', 'nodeId is not an Ed25519 peer id')
    }
    if (nodeId === this.init.selfId) throw new RoomMessageRejectedError('malformed', 'a node cannot open a DM with itself')
    const room = dmRoom(this.init.selfId, nodeId)
    this.book.openRoom(room)
    return { room }
  }

  private otherEnd (room: string): string | undefined {
    const parties = dmParties(room)
    if (parties === undefined || !this.book.mayHold(room)) return undefined
    return parties[0] === this.init.selfId ? parties[1] : parties[0]
  }

  /** Network room receipts go by gossip; a DM room's to its other end only, debounced the same way. */
  private receiptSoon (room: string): void {
    const peer = this.otherEnd(room)
    if (peer === undefined) {
      this.live.receiptSoon(room)
      return
    }
    if (this.dmReceipts.has(room)) return
    const timer = setTimeout(() => {
      this.dmReceipts.delete(room)
      const log = this.book.room(room)
      if (log !== undefined) this.push.receipt(peer, this.receipts.own(log))
    }, 250)
    timer.unref()
    this.dmReceipts.set(room, timer)
  }

  private view (e: LogEntry): RoomMessageView {
    return messageView(e, this.receipts.deliveryOf(e.msg, e.key), entry => this.sealer.open(entry.msg, entry.msg.sealed ?? ''))
  }

  private readonly onVerified = (evt: CustomEvent<string>): void => {
    // A newly verified peer learns how far this node has got, from this node alone: a gossip
    // broadcast on every join reached every member (the largest share of a forming mesh's gossip)
    // and could reach the newcomer before it had joined the topic's mesh.
    const log = this.book.room(this.book.networkRoom)
    if (log !== undefined) this.push.receipt(evt.detail, this.receipts.own(log))
  }

  private accepted (a: Accepted): void {
    this.updateGauge()
    this.receiptSoon(a.entry.msg.room)
    const e = a.entry
    this.emit('room.message', this.view(e))
  }

  private updateGauge (): void {
    let network = 0
    let dm = 0
    for (const log of this.book.rooms()) {
      if (log.room === this.book.networkRoom) network += log.size
      else dm += log.size
    }
    this.metrics.messages.set({ room: 'network' }, network)
    this.metrics.messages.set({ room: 'dm' }, dm)
  }

  private emit (type: string, data: unknown): void {
    try {
      this.components.events?.publish(type, data)
    } catch (err) {
      this.components.log('warn', 'publishing a room event failed', { type, error: (err as Error).message })
    }
  }
}

function receiptEvent (node: string, r: Receipt): { room: string, node: string, delivered: Record<string, number>, seenUpTo?: string, at: number } {
  return { room: r.room, node, delivered: Object.fromEntries(r.delivered), ...(r.seenUpTo === undefined ? {} : { seenUpTo: r.seenUpTo }), at: r.hlc.ms }
}

const FILE_TYPE = new RegExp(FILE_TYPE_PATTERN)

/** A file name is shown and offered as a download name only: no control characters or path separators. */
function cleanFile (f: RoomFile): RoomFile {
  // eslint-disable-next-line no-control-regex
  const name = f.name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(0, ROOM_LIMITS.maxFileName)
  return { cid: f.cid, name: name === '' ? 'file' : name, size: f.size, type: FILE_TYPE.test(f.type) ? f.type : 'application/octet-stream' }
}
