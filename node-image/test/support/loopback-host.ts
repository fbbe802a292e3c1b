import { generateKeyPair } from '@libp2p/crypto/keys'
import { createHost, type Host } from '../../src/p2p/host.ts'
import { networkProtocols } from '../../src/p2p/protocols.ts'
import { parseSwarmKey } from '../../src/identity/swarm-key.ts'

/** A Dawn libp2p host (host.ts: PSK, Noise, yamux, gossipsub) on loopback with the node's default inbound limits. */
export async function loopbackHost (swarmKey: string, network = 'interop'): Promise<Host> {
  return await createHost({
    privateKey: await generateKeyPair('Ed25519'),
    psk: parseSwarmKey(swarmKey),
    protocols: networkProtocols(network),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    announce: [],
    mdns: false,
    relayServer: false,
    limits: { maxConnections: 300, maxInboundPerAddress: 64, inboundRatePerAddress: 16, maxPendingHandshakes: 64, handshakeTimeoutMs: 5_000, upgradeTimeoutMs: 10_000, pingIntervalMs: 10_000 },
    maxMessageBytes: 1024 * 1024,
    gater: {}
  })
}
