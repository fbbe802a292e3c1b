import { describe, expect, it } from 'vitest'
import { GOSSIP_TUNING } from '../../../src/p2p/gossip-tuning.ts'
import { generateSwarmKey } from '../../../src/identity/swarm-key.ts'
import { loopbackHost } from '../../support/loopback-host.ts'

describe('gossip tuning', () => {
  it('a node\'s gossipsub sends IHAVE to 3 outside peers and IDONTWANT only from 16 KiB, not the library defaults (6, 512 B)', async () => {
    const { libp2p } = await loopbackHost(generateSwarmKey(), 'tuning')
    try {
      const opts = (libp2p.services.pubsub as unknown as { opts: { Dlazy: number, idontwantMinDataSize: number } }).opts
      expect({ Dlazy: opts.Dlazy, idontwantMinDataSize: opts.idontwantMinDataSize }).toEqual({ Dlazy: 3, idontwantMinDataSize: 16 * 1024 })
      expect(GOSSIP_TUNING).toEqual({ Dlazy: 3, idontwantMinDataSize: 16 * 1024 })
    } finally {
      await libp2p.stop()
    }
  })
})
