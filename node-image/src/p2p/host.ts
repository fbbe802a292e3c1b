import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, type Identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { circuitRelayServer, circuitRelayTransport, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { mdns } from '@libp2p/mdns'
import { hash } from 'node:crypto'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { NetworkProtocols } from './protocols.ts'
import { noiseCrypto } from './noise-crypto.ts'
import { PskProtector } from './psk-protector.ts'
import { InboundLimiter } from './inbound-limiter.ts'
import { libp2pLoggerOption } from './libp2p-logger.ts'
import { GOSSIP_TUNING } from './gossip-tuning.ts'
import { connectionLiveness, type ConnectionLiveness, type ConnectionLivenessInit } from './connection-liveness.ts'

const BACKSTOP = 4

/** Explicit inbound limits; every one of them is a gauge in /metrics. */
export interface InboundLimits {
  maxConnections: number
  maxInboundPerAddress: number
  inboundRatePerAddress: number
  maxPendingHandshakes: number
  handshakeTimeoutMs: number
  upgradeTimeoutMs: number
  /**
   * Every connection is pinged this often (a yamux ping frame each way, see
   * connection-liveness.ts): in a full mesh of N nodes on one machine, N x (N-1) pings per
   * interval, and a ping stalled by a busy event loop drops a healthy connection. A local
   * mesh of many nodes sets it longer (local-mesh/mesh-wiring.ts).
   */
  pingIntervalMs: number
}

export interface HostInit {
  privateKey: PrivateKey
  /** The 32-byte pre-shared key of the private network. */
  psk: Uint8Array
  protocols: NetworkProtocols
  listen: string[]
  announce: string[]
  mdns: boolean
  relayServer: boolean
  limits: InboundLimits
  maxMessageBytes: number
  gater: ConnectionGater
}

/** The libp2p node and the admission parts whose counters the node exports. */
export interface Host {
  libp2p: DawnHost
  protector: PskProtector
  inbound: InboundLimiter
}

// A type alias, not an interface: libp2p's ServiceMap needs an index signature.
export type HostServices = {
  identify: Identify
  ping: Ping
  liveness: ConnectionLiveness
  dht: KadDHT
  pubsub: GossipSub
  relay?: CircuitRelayService
}

export type DawnHost = Libp2p<HostServices>

/** The admission of inbound connections from `limits`: the PSK protector, our per-address limiter and libp2p's backstops. */
export function inboundAdmission (limits: InboundLimits, psk: Uint8Array): { protector: PskProtector, inbound: InboundLimiter, connectionManager: NonNullable<Libp2pOptions['connectionManager']> } {
  return {
    protector: new PskProtector({ psk, handshakeTimeoutMs: limits.handshakeTimeoutMs, maxPending: limits.maxPendingHandshakes }),
    inbound: new InboundLimiter({ maxPerAddress: limits.maxInboundPerAddress, ratePerAddress: limits.inboundRatePerAddress }),
    connectionManager: {
      maxConnections: limits.maxConnections,
      // Backstops behind our own limits (which count what they refuse): the PSK stage
      // evicts its oldest waiter, but a peer past it may still stall in Noise.
      maxIncomingPendingConnections: limits.maxPendingHandshakes * BACKSTOP,
      inboundConnectionThreshold: limits.inboundRatePerAddress * BACKSTOP,
      inboundUpgradeTimeout: limits.upgradeTimeoutMs
    }
  }
}

/**
 * libp2p's defaults at the default interval (a 5 s timeout). A longer interval is for
 * many nodes on few cores, where event loops stall for seconds; a failed ping aborts
 * the connection, and the redials load the machine further until the whole mesh churns
 * (a 20-node local mesh redid 480 handshakes in 3 minutes with a 6.7 s timeout, 40 with
 * 20 s). There a ping may take up to its interval, at most a minute.
 */
export function livenessOptions (pingIntervalMs: number): ConnectionLivenessInit {
  return pingIntervalMs <= 10_000 ? { intervalMs: pingIntervalMs } : { intervalMs: pingIntervalMs, timeout: { minTimeout: Math.min(60_000, pingIntervalMs) } }
}

/** libp2p 3 wiring for a Dawn node. Everything network-specific comes in through `protocols`. */
export async function createHost (init: HostInit): Promise<Host> {
  const { protector, inbound, connectionManager } = inboundAdmission(init.limits, init.psk)
  const services = {
    identify: identify(),
    ping: ping(),
    liveness: connectionLiveness(livenessOptions(init.limits.pingIntervalMs)),
    dht: kadDHT({
      protocol: init.protocols.kad,
      clientMode: false,
      // The default mapper drops private addresses, which leaves a pod network's DHT empty.
      peerInfoMapper: passthroughMapper,
      // With zero peers a query must wait, not return at once: libp2p's random walk
      // (relay discovery on a /p2p-circuit listener) loops on empty results and
      // would starve the event loop.
      allowQueryWithZeroPeers: false
    }),
    pubsub: gossipsub({
      // Envelopes are signed by us (with nonce and timestamp), so gossipsub's own
      // signature would only double the cost; the message id is the envelope hash.
      globalSignaturePolicy: 'StrictNoSign',
      // Every copy a node receives is hashed before the seen-cache drops duplicates;
      // node:crypto's one-shot hash is 2-4x faster than @noble/hashes on these sizes.
      msgIdFn: (msg) => hash('sha256', msg.data, 'buffer'),
      allowPublishToZeroTopicPeers: true,
      emitSelf: false,
      maxInboundDataLength: init.maxMessageBytes + 4096,
      // The IP-colocation penalty graylists peers once ~15 share an address (loopback,
      // NAT, one node per host port), silencing gossip. Membership certificates are
      // our Sybil defence, so the penalty only hurts.
      scoreParams: { IPColocationFactorWeight: 0 },
      ...GOSSIP_TUNING
    }),
    // Only certified members reach the relay (PSK + membership), so relayed calls
    // are not capped at the public-relay defaults of 2 minutes / 128 KiB.
    ...(init.relayServer ? { relay: circuitRelayServer({ reservations: { maxReservations: 1024, applyDefaultLimit: false } }) } : {})
  }
  const libp2p = await createLibp2p({
    ...libp2pLoggerOption(),
    privateKey: init.privateKey,
    addresses: { listen: init.listen, announce: init.announce },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise({ crypto: noiseCrypto })],
    streamMuxers: [yamux()],
    connectionProtector: () => protector,
    connectionGater: { ...init.gater, denyInboundConnection: inbound.denyInboundConnection },
    connectionManager,
    // Liveness is ours (p2p/connection-liveness.ts): the muxer's ping, not a stream per ping.
    connectionMonitor: { enabled: false },
    peerDiscovery: init.mdns ? [mdns()] : [],
    services
  })
  return { libp2p, protector, inbound }
}
