import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { AgentRegistry } from './agent-registry.ts'
import type { OrSetState } from './or-set.ts'
import type { GossipChannel } from '../p2p/gossip-channel.ts'
import type { Messenger, MessengerComponents } from '../p2p/messenger.ts'
import type { MembershipGuard } from '../p2p/membership-guard.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import type { OpenedEnvelope } from '../p2p/envelope.ts'
import { request, serve } from '../p2p/lp-rpc.ts'
import { inSpan, inRemoteChildSpan } from '../tracing/spans.ts'
import { splitDelta } from './delta-split.ts'
import { answer } from './sync-server.ts'
import { pullFrom, type SessionResult } from './sync-session.ts'
import { SyncHealth, type RegistrySyncStatus } from './sync-health.ts'
import { PullTriggers, SyncScheduler } from './sync-scheduler.ts'
import { bodyBudget, encodeBody, parseRequest, RegistrySyncError, type SyncRequest } from './sync-wire.ts'

export interface RegistrySyncInit {
  protocol: string
  /** Anti-entropy with one random peer this often, besides every (re)connection. */
  intervalMs?: number
  /** Longest wait for one reply. */
  requestTimeoutMs?: number
  /** Sessions a peer triggers (its root differed from ours) start at most this often per peer. */
  minGapMs?: number
  /**
   * Sessions pulling at once, over all peers. One by default: a node that joins
   * verifies many peers at once, and parallel sessions would each fetch the
   * same missing ranges.
   */
  maxConcurrent?: number
  /** Longest session; what it fetched stays applied and the next one goes on from there. */
  sessionTimeoutMs?: number
  /** Largest sync message this node sends; at most, and by default, the messenger's limit. */
  maxMessageBytes?: number
}

export interface RegistrySyncComponents extends MessengerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  messenger: Messenger
  guard: Pick<MembershipGuard, 'verifiedPeers' | 'addEventListener' | 'removeEventListener'>
  admission: PeerAdmission
  registry: AgentRegistry
  channel: () => GossipChannel
}

const decode = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes))

/**
 * Replicates the registry: deltas over gossip for speed, and digest-first
 * anti-entropy (see sync-wire.ts) on every admitted (re)connection and
 * periodically, so a healed partition converges even if gossip was lost while
 * it lasted. Only ranges that differ travel, always in messages under the
 * size limit. A peer whose root differs from ours when it pulls gets pulled
 * from in turn, so one round converges both sides.
 */
export class RegistrySync {
  private readonly components: RegistrySyncComponents
  private readonly init: Required<RegistrySyncInit>
  private readonly health = new SyncHealth()
  private readonly scheduler: SyncScheduler
  private readonly triggers: PullTriggers
  /** largest sync message seen, for the gauge */
  private largest = 0

  constructor (components: RegistrySyncComponents, init: RegistrySyncInit) {
    this.components = components
    const limit = components.messenger.maxMessageBytes
    this.init = { intervalMs: 30_000, requestTimeoutMs: 15_000, minGapMs: 1000, maxConcurrent: 1, sessionTimeoutMs: 60_000, ...init, maxMessageBytes: Math.min(limit, init.maxMessageBytes ?? limit) }
    this.scheduler = new SyncScheduler(async (peer, signal) => { await this.session(peer, signal) }, { minGapMs: this.init.minGapMs, maxConcurrent: this.init.maxConcurrent })
    this.triggers = new PullTriggers(components.guard, this.init.intervalMs, peer => { void this.syncWith(peer) })
  }

  private get budget (): number {
    return bodyBudget(this.init.maxMessageBytes)
  }

  async start (): Promise<void> {
    const { libp2p, messenger, admission, log, metrics } = this.components
    await serve(libp2p, this.init.protocol, admission, async (body, connection) => {
      const from = connection.remotePeer.toString()
      this.countMessage('in', body.length)
      const env = messenger.open(body, { type: 'registry.sync', from }, from)
      if (env === undefined) throw new RegistrySyncError('rejected', 'rejected sync request')
      return await Promise.resolve(inRemoteChildSpan('serve registry.sync', 'server', env.trace, { 'dawn.from': from }, () => this.serveRequest(parseRequest(env.body), from)))
    }, {
      maxBytes: messenger.maxMessageBytes,
      timeoutMs: this.init.requestTimeoutMs,
      service: 'registry-sync',
      onError: (err, connection) => {
        if (err instanceof RegistrySyncError) metrics.registrySyncFailures.inc({ reason: 'bad-request' })
        log('debug', 'serving a registry sync request failed', { peer: connection.remotePeer.toString(), error: err.message })
      }
    })
    this.triggers.start()
  }

  async stop (): Promise<void> {
    this.triggers.stop()
    this.scheduler.stop()
    await this.components.libp2p.unhandle(this.init.protocol).catch(() => {})
  }

  /** Publishes a locally made delta; one too large for a message goes as several that each fit. */
  async publishDelta (delta: OrSetState<unknown>): Promise<void> {
    const budget = bodyBudget(this.components.messenger.maxMessageBytes)
    const body = encodeBody(delta)
    const pieces = body.length <= budget ? [body] : splitDelta(delta, budget).map(encodeBody)
    for (const piece of pieces) await this.components.channel().publish(piece)
  }

  /** Gossip handler for `registry.delta`; throws on a bad delta so gossipsub drops it. */
  handleDelta (env: OpenedEnvelope): void {
    const { ownDelta } = this.components.registry.applyDelta(decode(env.body), env.from)
    if (ownDelta !== undefined) void this.publishDelta(ownDelta)
  }

  /** Pulls from `peer` now (or right after the session already running with it). */
  async syncWith (peer: string): Promise<void> {
    await this.scheduler.now(peer)
  }

  status (): RegistrySyncStatus {
    return this.health.status(this.components.guard.verifiedPeers())
  }

  /** False only when verified peers exist and sync has failed with each for several rounds. */
  healthy (): boolean {
    return this.health.healthy(this.components.guard.verifiedPeers())
  }

  private serveRequest (req: SyncRequest, from: string): Uint8Array {
    const index = this.components.registry.syncIndex()
    // The peer holds something we lack, or lacks something we hold: pull from it too.
    if (req.op === 'replicas' && req.after === undefined && req.root !== index.root) this.scheduler.soon(from)
    return this.seal(encodeBody(answer(index, req, this.budget)))
  }

  private seal (body: Uint8Array): Uint8Array {
    const sealed = this.components.messenger.seal('registry.sync', body)
    if (sealed.length > this.init.maxMessageBytes) throw new RegistrySyncError('internal', `sync message of ${sealed.length} bytes exceeds the limit of ${this.init.maxMessageBytes}`)
    this.countMessage('out', sealed.length)
    return sealed
  }

  private countMessage (direction: 'in' | 'out', bytes: number): void {
    const { metrics } = this.components
    metrics.registrySyncBytes.inc({ direction }, bytes)
    if (bytes > this.largest) {
      this.largest = bytes
      metrics.registrySyncLargestMessage.set(bytes)
    }
  }

  private async ask (peer: string, req: SyncRequest, signal: AbortSignal): Promise<Uint8Array> {
    const { libp2p, messenger } = this.components
    const sealed = this.seal(encodeBody(req))
    const timeout = AbortSignal.timeout(this.init.requestTimeoutMs)
    let reply: Uint8Array
    try {
      reply = await request(libp2p, peerIdFromString(peer), this.init.protocol, sealed, { maxBytes: messenger.maxMessageBytes, signal: AbortSignal.any([signal, timeout]) })
    } catch (err) {
      if (signal.aborted) throw err
      if (timeout.aborted) throw new RegistrySyncError('timeout', `no reply within ${this.init.requestTimeoutMs} ms`, { cause: err })
      throw new RegistrySyncError('unreachable', (err as Error).message, { cause: err })
    }
    this.countMessage('in', reply.length)
    const env = messenger.open(reply, { type: 'registry.sync', from: peer }, peer)
    if (env === undefined) throw new RegistrySyncError('rejected', 'rejected sync reply')
    return env.body
  }

  /** One anti-entropy session with `peer`; never throws (failures are counted, logged and shown in /readyz). */
  private async session (peer: string, stopped: AbortSignal): Promise<void> {
    const { metrics, registry } = this.components
    const started = performance.now()
    const deadline = AbortSignal.timeout(this.init.sessionTimeoutMs)
    const signal = AbortSignal.any([stopped, deadline])
    try {
      const result = await inSpan('registry.sync', 'client', { 'dawn.peer': peer }, async () => await pullFrom(
        async (req, sig) => await this.ask(peer, req, sig),
        { index: () => registry.syncIndex(), merge: projection => registry.mergeProjection(projection, peer) },
        { budget: this.budget, signal }
      ))
      this.succeeded(peer, result, (performance.now() - started) / 1000)
    } catch (err) {
      if (stopped.aborted) return
      const error = err instanceof RegistrySyncError
        ? err
        : deadline.aborted
          ? new RegistrySyncError('timeout', `session did not finish within ${this.init.sessionTimeoutMs} ms`, { cause: err })
          : new RegistrySyncError('internal', (err as Error).message, { cause: err })
      metrics.antiEntropyRuns.inc({ result: 'failed' })
      metrics.registrySyncSeconds.observe({ result: 'failed' }, (performance.now() - started) / 1000)
      this.failed(peer, error)
    }
  }

  private succeeded (peer: string, result: SessionResult, seconds: number): void {
    const { metrics, log } = this.components
    const outcome = result.inSync ? 'in-sync' : result.changed ? 'merged' : 'peer-behind'
    metrics.antiEntropyRuns.inc({ result: outcome })
    metrics.registrySyncSeconds.observe({ result: outcome }, seconds)
    metrics.registrySyncRanges.inc({ level: 'replica' }, result.replicas)
    metrics.registrySyncRanges.inc({ level: 'block' }, result.blocks)
    metrics.registrySyncRanges.inc({ level: 'span' }, result.spans)
    metrics.registrySyncValues.inc(result.values)
    if (result.trimmed > 0) metrics.registrySyncFailures.inc({ reason: 'trimmed' }, result.trimmed)
    this.health.succeeded(peer)
    metrics.registrySyncLastSuccess.set(Date.now() / 1000)
    metrics.registrySyncConsecutiveFailures.set(0)
    if (outcome !== 'in-sync') log('debug', 'anti-entropy session done', { peer, outcome, seconds, ...result })
    if (result.tooLarge > 0) {
      metrics.registrySyncFailures.inc({ reason: 'too-large' }, result.tooLarge)
      this.report(peer, new RegistrySyncError('too-large', `${result.tooLarge} registry record(s) of the peer exceed the message limit of ${this.init.maxMessageBytes} bytes on their own and cannot be synced`), false)
    }
  }

  private failed (peer: string, error: RegistrySyncError): void {
    const { metrics } = this.components
    metrics.registrySyncFailures.inc({ reason: error.reason })
    this.report(peer, error, true)
    metrics.registrySyncConsecutiveFailures.set(this.health.consecutiveFailures)
  }

  private report (peer: string, error: RegistrySyncError, roundFailed: boolean): void {
    if (roundFailed) this.health.failed(peer, error.reason, error.message)
    const { warn, suppressed } = this.health.warnAllowed()
    this.components.log(warn ? 'warn' : 'debug', 'registry anti-entropy failed', { peer, reason: error.reason, error: error.message, ...(suppressed > 0 ? { suppressedSinceLastWarning: suppressed } : {}) })
  }
}
