import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createHost } from '../../../src/p2p/host.ts'
import { GOSSIP_TUNING } from '../../../src/p2p/gossip-tuning.ts'
import { networkProtocols } from '../../../src/p2p/protocols.ts'
import { generateSwarmKey, parseSwarmKey } from '../../../src/identity/swarm-key.ts'

describe('gossip tuning', () => {
  it('a node\'s gossipsub sends IHAVE to 3 outside peers and IDONTWANT only from 16 KiB, not the library defaults (6, 512 B)', async () => {
    const { libp2p } = await createHost({
      privateKey: await generateKeyPair('Ed25519'),
      psk: parseSwarmKey(generateSwarmKey()),
      protocols: networkProtocols('tuning'),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      announce: [],
      mdns: false,
      relayServer: false,
      limits: { maxConnections: 300, maxInboundPerAddress: 64, inboundRatePerAddress: 16, maxPendingHandshakes: 64, handshakeTimeoutMs: 5_000, upgradeTimeoutMs: 10_000, pingIntervalMs: 10_000 },
      maxMessageBytes: 1024 * 1024,
      gater: {}
    })
    try {
      const opts = (libp2p.services.pubsub as unknown as { opts: { Dlazy: number, idontwantMinDataSize: number } }).opts
      expect({ Dlazy: opts.Dlazy, idontwantMinDataSize: opts.idontwantMinDataSize }).toEqual({ Dlazy: 3, idontwantMinDataSize: 16 * 1024 })
      expect(GOSSIP_TUNING).toEqual({ Dlazy: 3, idontwantMinDataSize: 16 * 1024 })
    } finally {
      await libp2p.stop()
    }
  })
})
