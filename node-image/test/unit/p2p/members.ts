// Test support for unit tests that need real libp2p hosts on loopback with Dawn
// membership credentials: a CA, a certified Messenger per host, a guard.
import { PeerAdmission } from '../../../src/p2p/peer-admission.ts'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { ConnectionGater } from '@libp2p/interface'
import type { Counter, Gauge } from 'prom-client'
import { decodePublicKeyPem, generateSeed } from '../../../src/identity/key-file.ts'
import { peerIdFromSeed } from '../../../src/identity/peer-id.ts'
import { createCa, issueCertificate } from '../../../src/identity/membership.ts'
import { createNodeMetrics, type NodeMetrics } from '../../../src/metrics/node-metrics.ts'
import { Messenger } from '../../../src/p2p/messenger.ts'
import { DenyList } from '../../../src/p2p/deny-list.ts'
import { MembershipGuard, type MembershipGuardInit } from '../../../src/p2p/membership-guard.ts'
import { networkProtocols } from '../../../src/p2p/protocols.ts'
import type { LogFn } from '../../../src/logging/json-logger.ts'

export const NETWORK = 'unit'
export const protocols = networkProtocols(NETWORK)
export type Ca = ReturnType<typeof createCa>
export const newCa = (): Ca => createCa()

export interface Member {
  peerId: string
  seed: Uint8Array
  host: Libp2p
  messenger: Messenger
  metrics: NodeMetrics
  log: LogFn
  denyList: DenyList
  /** With `pubsub`: the host's gossipsub. */
  pubsub?: GossipSub
}

const running: Array<{ stop: () => Promise<void> }> = []

/**
 * A libp2p host on loopback (TCP, Noise, yamux; no identify, ping or connection
 * monitor) whose Messenger holds a certificate from `issuer` and trusts `trusts`
 * (the issuer by default). With `gated`, its connection gater is its deny list;
 * with `pubsub`, it also runs gossipsub (and identify, which gossipsub needs).
 */
export async function startMember (opts: { issuer: Ca, trusts?: Ca, gated?: boolean, pubsub?: boolean }): Promise<Member> {
  const seed = generateSeed()
  const peerId = peerIdFromSeed(seed)
  const certificate = issueCertificate({ caPrivateKeyPem: opts.issuer.privateKeyPem, network: NETWORK, peerId, validForSeconds: 3600 })
  const metrics = createNodeMetrics()
  const log: LogFn = () => {}
  const denyList = new DenyList()
  const messenger = new Messenger({ metrics, log }, {
    network: NETWORK,
    peerId,
    seed,
    certificate,
    caPublicKey: decodePublicKeyPem((opts.trusts ?? opts.issuer).publicKeyPem),
    maxMessageBytes: 256 * 1024,
    replayWindowMs: 120_000
  })
  const gater: ConnectionGater = opts.gated === true ? denyList.gater() : {}
  const host = await createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', seed),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: gater,
    connectionMonitor: { enabled: false },
    ...(opts.pubsub === true ? { services: { identify: identify(), pubsub: gossipsub() } } : {})
  })
  running.push({ stop: async () => { await host.stop() } })
  const pubsub = (host.services as { pubsub?: GossipSub }).pubsub
  return { peerId, seed, host, messenger, metrics, log, denyList, ...(pubsub === undefined ? {} : { pubsub }) }
}

/** Starts the member's MembershipGuard; stopped by stopMembers(). */
export async function startGuard (member: Member, init: Partial<MembershipGuardInit> = {}): Promise<MembershipGuard> {
  const guard = new MembershipGuard({ ...member, libp2p: member.host }, { protocol: protocols.membership, ...init })
  await guard.start()
  running.unshift({ stop: async () => { await guard.stop() } })
  return guard
}

/** Stops every guard, then every host, started since the last call. */
/** The admission a node builds around its guard (small caps, refusals counted in the member's metrics). */
export function admissionFor (member: Member, guard: MembershipGuard): PeerAdmission {
  return new PeerAdmission({
    isVerified: peer => guard.isVerified(peer),
    onRefused: (reason, service) => { member.metrics.streamsRefused.inc({ reason, service }) }
  }, { maxStreamsPerPeer: 8, maxBytesPerPeer: 1024 * 1024 })
}

export async function stopMembers (): Promise<void> {
  for (const part of running.splice(0)) await part.stop()
}

/** Sum of a metric's values whose labels include `labels`. */
export async function metricValue<T extends string> (metric: Counter<T> | Gauge<T>, labels: Partial<Record<T, string>> = {}): Promise<number> {
  const { values } = await metric.get()
  const wanted = Object.entries(labels)
  return values
    .filter(v => wanted.every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want))
    .reduce((sum, v) => sum + v.value, 0)
}

/** Dials `to` from `from` and returns once the connection is open. */
export async function connect (from: Member, to: Member): Promise<void> {
  await from.host.dial(to.host.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) })
}

/** Open connections between two members, as `a` sees them. */
export function connectionsBetween (a: Member, b: Member): number {
  return a.host.getConnections().filter(c => c.remotePeer.toString() === b.peerId).length
}
