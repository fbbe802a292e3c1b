import Type from 'typebox'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Libp2p } from 'libp2p'
import type { AgentRegistry } from './agent-registry.ts'
import type { GossipChannel } from '../p2p/gossip-channel.ts'
import type { Messenger, MessengerComponents } from '../p2p/messenger.ts'
import type { MembershipGuard } from '../p2p/membership-guard.ts'
import type { PeerAdmission } from '../p2p/peer-admission.ts'
import type { OpenedEnvelope } from '../p2p/envelope.ts'
import { request, serve } from '../p2p/lp-rpc.ts'
import { compileParser } from '../validation/schema-error.ts'
import { inSpan, inRemoteChildSpan } from '../tracing/spans.ts'

const SyncBody = Type.Object({
  digest: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  state: Type.Optional(Type.Unknown())
}, { additionalProperties: false })

const parseSyncBody = compileParser(SyncBody, 'registry sync message')

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
const decode = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes))

export interface RegistrySyncInit {
  protocol: string
  /** Anti-entropy with one random peer this often, besides every (re)connection. */
  intervalMs?: number
}

export interface RegistrySyncComponents extends MessengerComponents {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>
  messenger: Messenger
  guard: Pick<MembershipGuard, 'verifiedPeers' | 'addEventListener' | 'removeEventListener'>
  admission: PeerAdmission
  registry: AgentRegistry
  channel: () => GossipChannel
}

/**
 * Replicates the registry: deltas over gossip for speed, full-state anti-entropy
 * on every admitted (re)connection so a healed partition converges even if
 * gossip was lost while it lasted.
 */
export class RegistrySync {
  private readonly components: RegistrySyncComponents
  private readonly init: Required<RegistrySyncInit>
  private timer?: NodeJS.Timeout

  constructor (components: RegistrySyncComponents, init: RegistrySyncInit) {
    this.components = components
    this.init = { intervalMs: 30_000, ...init }
  }

  async start (): Promise<void> {
    const { libp2p, messenger, guard, admission } = this.components
    await serve(libp2p, this.init.protocol, admission, (body, connection) => {
      const from = connection.remotePeer.toString()
      const env = messenger.open(body, { type: 'registry.sync', from }, from)
      if (env === undefined) throw new Error('rejected sync request')
      return Promise.resolve(inRemoteChildSpan('serve registry.sync', 'server', env.trace, { 'dawn.from': from }, () => {
        const theirs = parseSyncBody(decode(env.body))
        if (theirs.state !== undefined) this.merge(theirs.state, from)
        const digest = this.components.registry.digest()
        return messenger.seal('registry.sync', encode(digest === theirs.digest ? { digest } : { digest, state: this.components.registry.state() }))
      }))
    }, {
      maxBytes: messenger.maxMessageBytes,
      timeoutMs: 10_000,
      service: 'registry-sync',
      onError: (err, connection) => { this.components.log('debug', 'registry sync request failed', { peer: connection.remotePeer.toString(), error: err.message }) }
    })
    guard.addEventListener('peer:verified', this.onVerified)
    this.timer = setInterval(() => {
      const peers = guard.verifiedPeers()
      const peer = peers[Math.floor(Math.random() * peers.length)]
      if (peer !== undefined) void this.syncWith(peer)
    }, this.init.intervalMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.components.guard.removeEventListener('peer:verified', this.onVerified)
    await this.components.libp2p.unhandle(this.init.protocol).catch(() => {})
  }

  /** Publishes a locally made delta. */
  async publishDelta (delta: unknown): Promise<void> {
    await this.components.channel().publish(encode(delta))
  }

  /** Gossip handler for `registry.delta`; throws on a bad delta so gossipsub drops it. */
  handleDelta (env: OpenedEnvelope): void {
    const { ownDelta } = this.components.registry.applyDelta(decode(env.body), env.from)
    if (ownDelta !== undefined) void this.publishDelta(ownDelta)
  }

  private readonly onVerified = (evt: CustomEvent<string>): void => {
    void this.syncWith(evt.detail)
  }

  /** One anti-entropy round: send our state, merge theirs if it differs. */
  async syncWith (peer: string, signal: AbortSignal = AbortSignal.timeout(10_000)): Promise<void> {
    const { metrics, log } = this.components
    try {
      await inSpan('registry.sync', 'client', { 'dawn.peer': peer }, async () => { await this.exchange(peer, signal) })
    } catch (err) {
      metrics.antiEntropyRuns.inc({ result: 'failed' })
      log('debug', 'anti-entropy failed', { peer, error: (err as Error).message })
    }
  }

  private async exchange (peer: string, signal: AbortSignal): Promise<void> {
    const { libp2p, messenger, registry, metrics } = this.components
    const req = messenger.seal('registry.sync', encode({ digest: registry.digest(), state: registry.state() }))
    const reply = await request(libp2p, peerIdFromString(peer), this.init.protocol, req, { maxBytes: messenger.maxMessageBytes, signal })
    const env = messenger.open(reply, { type: 'registry.sync', from: peer }, peer)
    if (env === undefined) throw new Error('rejected sync reply')
    const theirs = parseSyncBody(decode(env.body))
    if (theirs.state !== undefined) this.merge(theirs.state, peer)
    metrics.antiEntropyRuns.inc({ result: theirs.state === undefined ? 'in-sync' : 'merged' })
  }

  private merge (state: unknown, from: string): void {
    const { ownDelta } = this.components.registry.mergeState(state, from)
    if (ownDelta !== undefined) void this.publishDelta(ownDelta)
  }
}
