import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { GOSSIP_TUNING } from '../../../src/p2p/gossip-tuning.ts'
import { generateSwarmKey } from '../../../src/identity/swarm-key.ts'
import { loopbackHost } from '../../support/loopback-host.ts'

describe('gossip tuning', () => {
  it('a node\'s gossipsub names a message by the SHA-256 of its data, sends IHAVE to max(1, a tenth of the outside peers) and IDONTWANT only from 16 KiB, not the library defaults (6, a quarter, 512 B)', async () => {
    const { libp2p } = await loopbackHost(generateSwarmKey(), 'tuning')
    try {
      const opts = (libp2p.services.pubsub as unknown as { opts: { Dlazy: number, gossipFactor: number, idontwantMinDataSize: number } }).opts
      const expected = { Dlazy: 1, gossipFactor: 0.1, idontwantMinDataSize: 16 * 1024 }
      expect({ Dlazy: opts.Dlazy, gossipFactor: opts.gossipFactor, idontwantMinDataSize: opts.idontwantMinDataSize }).toEqual(expected)
      expect(GOSSIP_TUNING).toEqual(expected)
      // The message id is the SHA-256 of the (signed envelope) data, whatever computes it.
      const msgIdFn = (libp2p.services.pubsub as unknown as { msgIdFn: (m: { data: Uint8Array }) => Uint8Array }).msgIdFn
      const data = new TextEncoder().encode('an envelope')
      expect(Buffer.from(msgIdFn({ data })).toString('hex')).toBe(createHash('sha256').update(data).digest('hex'))
    } finally {
      await libp2p.stop()
    }
  })
})
