import { afterEach, describe, expect, it, vi } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { multiaddrConnectionPair } from '@libp2p/utils'
import type { MultiaddrConnection } from '@libp2p/interface'
import { InboundLimiter } from '../../../src/p2p/inbound-limiter.ts'

/** An inbound socket from `ip`, as libp2p hands it to the gater. */
function from (ip: string): MultiaddrConnection {
  const [, inbound] = multiaddrConnectionPair({ inbound: { remoteAddr: multiaddr(`/ip4/${ip}/tcp/4001`) } })
  return inbound
}

describe('InboundLimiter', () => {
  afterEach(() => { vi.useRealTimers() })

  it('caps open connections per address and frees a slot when one closes', async () => {
    const limiter = new InboundLimiter({ maxPerAddress: 2, ratePerAddress: 100 })
    const [a, b, c] = [from('127.0.0.2'), from('127.0.0.2'), from('127.0.0.2')]
    expect(limiter.denyInboundConnection(a)).toBe(false)
    expect(limiter.denyInboundConnection(b)).toBe(false)
    expect(limiter.denyInboundConnection(c)).toBe(true)
    expect(limiter.denyInboundConnection(from('127.0.0.3'))).toBe(false) // another address is not affected
    expect(limiter.refused).toEqual({ 'per-address': 1, rate: 0 })
    await a.close()
    expect(limiter.denyInboundConnection(from('127.0.0.2'))).toBe(false)
    expect(limiter.addresses).toBe(2)
  })

  it('caps new connections per second per address, and the next second starts fresh', () => {
    vi.useFakeTimers({ now: Date.UTC(2030, 0, 1, 0, 0, 0, 100) })
    const limiter = new InboundLimiter({ maxPerAddress: 100, ratePerAddress: 3 })
    const verdicts = Array.from({ length: 5 }, () => limiter.denyInboundConnection(from('127.0.0.9')))
    expect(verdicts).toEqual([false, false, false, true, true])
    expect(limiter.refused).toEqual({ 'per-address': 0, rate: 2 })
    vi.setSystemTime(Date.UTC(2030, 0, 1, 0, 0, 1, 100))
    expect(limiter.denyInboundConnection(from('127.0.0.9'))).toBe(false)
  })

  it('refuses a socket that is already closed (it could never release its count)', async () => {
    const limiter = new InboundLimiter({ maxPerAddress: 1, ratePerAddress: 100 })
    const gone = from('127.0.0.4')
    await gone.close()
    expect(limiter.denyInboundConnection(gone)).toBe(true)
    expect(limiter.denyInboundConnection(from('127.0.0.4'))).toBe(false)
  })
})
