import type { MultiaddrConnection } from '@libp2p/interface'
import { LruMap } from './lru-map.ts'

export interface InboundLimiterInit {
  /** Connections open at once from one remote IP address. */
  maxPerAddress: number
  /** New connections per second from one remote IP address. */
  ratePerAddress: number
}

export type InboundRefusal = 'per-address' | 'rate'

/** Addresses whose rate is tracked at once; an evicted one starts a fresh second. */
const RATE_ADDRESSES = 8192

/**
 * Caps, per remote IP, the connections open at once and the new connections
 * per second, from the moment the socket is accepted (before the PSK
 * handshake), and counts every refusal. libp2p's own per-host rate limit sits
 * behind this one as a backstop and counts nothing. The open-count map holds
 * only addresses with an open connection, so the connection limit bounds it.
 */
export class InboundLimiter {
  readonly refused: Record<InboundRefusal, number> = { 'per-address': 0, rate: 0 }
  private readonly init: InboundLimiterInit
  private readonly open = new Map<string, number>()
  private readonly recent = new LruMap<string, { second: number, count: number }>(RATE_ADDRESSES)

  constructor (init: InboundLimiterInit) {
    this.init = init
  }

  /** A connection gater's `denyInboundConnection`: true refuses the socket. */
  readonly denyInboundConnection = (maConn: MultiaddrConnection): boolean => {
    const address = hostOf(maConn)
    if (address === undefined) return false
    // A socket already gone would never fire 'close' to release its count.
    if (maConn.status !== 'open') return true
    const second = Math.floor(Date.now() / 1000)
    const rate = this.recent.get(address)
    const count = rate?.second === second ? rate.count + 1 : 1
    this.recent.set(address, { second, count })
    if (count > this.init.ratePerAddress) return this.refuse('rate')
    const openNow = this.open.get(address) ?? 0
    if (openNow >= this.init.maxPerAddress) return this.refuse('per-address')
    this.open.set(address, openNow + 1)
    maConn.addEventListener('close', () => { this.release(address) }, { once: true })
    return false
  }

  get addresses (): number {
    return this.open.size
  }

  private refuse (reason: InboundRefusal): true {
    this.refused[reason]++
    return true
  }

  private release (address: string): void {
    const count = (this.open.get(address) ?? 1) - 1
    if (count <= 0) this.open.delete(address)
    else this.open.set(address, count)
  }
}

function hostOf (maConn: MultiaddrConnection): string | undefined {
  for (const c of maConn.remoteAddr.getComponents()) {
    if (c.name === 'ip4' || c.name === 'ip6') return c.value
  }
  return undefined
}
