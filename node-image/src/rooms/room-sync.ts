/**
 * Room anti-entropy: on every admitted (re)connection and periodically with
 * one random peer, pull what the peer holds and this node lacks (see
 * room-sync-wire.ts). A peer that pulls from us with a different root is
 * pulled from in turn, so one round converges both sides. Scheduling and
 * health reuse the registry's (one session per peer, minimum gap, health for
 * /readyz detail that never gates readiness).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { LogFn } from '../logging/json-logger.ts'
import type { Messenger } from '../p2p/messenger.ts'
import type { MembershipGuard } from '../p2p/membership-guard.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import { request, serve } from '../p2p/lp-rpc.ts'
import { PullTriggers, SyncScheduler } from '../registry/sync-scheduler.ts'
import { SyncHealth, type RegistrySyncStatus } from '../registry/sync-health.ts'
import { bodyBudget, encodeBody } from '../registry/sync-wire.ts'
import type { Accepted, RoomBook } from './room-book.ts'
import { RoomLog } from './room-log.ts'
import type { RoomMetrics } from './room-metrics.ts'
import { answerRoomSync } from './room-sync-answer.ts'
import { pullRooms } from './room-sync-pull.ts'
import { parseRoomSyncRequest, RoomSyncError, type RoomSyncRequest } from './room-sync-wire.ts'

export interface RoomSyncInit {
  protocol: string
  intervalMs?: number
  requestTimeoutMs?: number
  minGapMs?: number
  sessionTimeoutMs?: number
}

export interface RoomSyncComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  messenger: Messenger
  guard: Pick<MembershipGuard, 'verifiedPeers' | 'addEventListener' | 'removeEventListener'>
  admission: PeerAdmission
  book: RoomBook
  metrics: RoomMetrics
  log: LogFn
  /** a record newly held through sync */
  onAccepted: (a: Accepted) => void
}

export class RoomSync {
  private readonly components: RoomSyncComponents
  private readonly init: Required<RoomSyncInit>
  private readonly health = new SyncHealth()
  private readonly scheduler: SyncScheduler
  private readonly triggers: PullTriggers

  constructor (components: RoomSyncComponents, init: RoomSyncInit) {
    this.components = components
    this.init = { intervalMs: 30_000, requestTimeoutMs: 15_000, minGapMs: 1000, sessionTimeoutMs: 60_000, ...init }
    this.scheduler = new SyncScheduler(async (peer, signal) => { await this.session(peer, signal) }, { minGapMs: this.init.minGapMs, maxConcurrent: 1 })
    this.triggers = new PullTriggers(components.guard, this.init.intervalMs, peer => { void this.syncWith(peer) })
  }

  private get budget (): number {
    return bodyBudget(this.components.messenger.maxMessageBytes)
  }

  async start (): Promise<void> {
    const { libp2p, messenger, admission, log, metrics } = this.components
    await serve(libp2p, this.init.protocol, admission, async (body, connection) => {
      const from = connection.remotePeer.toString()
      const env = messenger.open(body, { type: 'room.sync', from }, from)
      if (env === undefined) throw new RoomSyncError('rejected', 'rejected room sync request')
      return await Promise.resolve(this.serveRequest(parseRoomSyncRequest(env.body), from))
    }, {
      maxBytes: messenger.maxMessageBytes,
      timeoutMs: this.init.requestTimeoutMs,
      service: 'room-sync',
      onError: (err, connection) => {
        if (err instanceof RoomSyncError) metrics.syncFailures.inc({ reason: `served-${err.reason}` })
        log('debug', 'serving a room sync request failed', { peer: connection.remotePeer.toString(), error: err.message })
      }
    })
    this.triggers.start()
  }

  async stop (): Promise<void> {
    this.triggers.stop()
    this.scheduler.stop()
    await this.components.libp2p.unhandle(this.init.protocol).catch(() => {})
  }

  async syncWith (peer: string): Promise<void> {
    await this.scheduler.now(peer)
  }

  status (): RegistrySyncStatus {
    return this.health.status(this.components.guard.verifiedPeers())
  }

  private serveRequest (req: RoomSyncRequest, from: string): Uint8Array {
    const { book } = this.components
    // The asker holds something we lack, or lacks something we hold: pull from it too.
    if (req.op === 'replicas' && req.after === undefined && book.sharedWith(req.room, from) && req.root !== (book.room(req.room) ?? new RoomLog(req.room)).root()) this.scheduler.soon(from)
    return this.seal(encodeBody(answerRoomSync(book, req, from, this.budget)))
  }

  private seal (body: Uint8Array): Uint8Array {
    const sealed = this.components.messenger.seal('room.sync', body)
    if (sealed.length > this.components.messenger.maxMessageBytes) throw new RoomSyncError('internal', `room sync message of ${sealed.length} bytes exceeds the limit`)
    return sealed
  }

  private async ask (peer: string, req: RoomSyncRequest, signal: AbortSignal): Promise<Uint8Array> {
    const { libp2p, messenger } = this.components
    const timeout = AbortSignal.timeout(this.init.requestTimeoutMs)
    let reply: Uint8Array
    try {
      reply = await request(libp2p, peerIdFromString(peer), this.init.protocol, this.seal(encodeBody(req)), { maxBytes: messenger.maxMessageBytes, signal: AbortSignal.any([signal, timeout]) })
    } catch (err) {
      if (signal.aborted) throw err
      if (timeout.aborted) throw new RoomSyncError('timeout', `no reply within ${this.init.requestTimeoutMs} ms`, { cause: err })
      throw new RoomSyncError('unreachable', (err as Error).message, { cause: err })
    }
    const env = messenger.open(reply, { type: 'room.sync', from: peer }, peer)
    if (env === undefined) throw new RoomSyncError('rejected', 'rejected room sync reply')
    return env.body
  }

  /** One session with `peer`; never throws (failures are counted and logged). */
  private async session (peer: string, stopped: AbortSignal): Promise<void> {
    const { metrics, book, log } = this.components
    const deadline = AbortSignal.timeout(this.init.sessionTimeoutMs)
    try {
      const result = await pullRooms(async (req, sig) => await this.ask(peer, req, sig), book, peer, {
        accepted: a => { metrics.accepted.inc({ source: 'sync' }); this.components.onAccepted(a) },
        rejected: reason => { metrics.rejected.inc({ reason, source: 'sync' }) }
      }, AbortSignal.any([stopped, deadline]))
      metrics.syncRuns.inc({ result: result.rooms === 0 ? 'in-sync' : 'merged' })
      this.health.succeeded(peer)
      if (result.rooms > 0) log('debug', 'room anti-entropy session done', { peer, ...result })
    } catch (err) {
      if (stopped.aborted) return
      const error = err instanceof RoomSyncError
        ? err
        : deadline.aborted ? new RoomSyncError('timeout', 'session did not finish in time', { cause: err }) : new RoomSyncError('internal', (err as Error).message, { cause: err })
      metrics.syncRuns.inc({ result: 'failed' })
      metrics.syncFailures.inc({ reason: error.reason })
      this.health.failed(peer, error.reason === 'forbidden' ? 'rejected' : error.reason, error.message)
      const { warn } = this.health.warnAllowed()
      log(warn ? 'warn' : 'debug', 'room anti-entropy failed', { peer, reason: error.reason, error: error.message })
    }
  }
}
