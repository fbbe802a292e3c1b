import type { MultiaddrConnection } from '@libp2p/interface'

export interface InboundLimiterInit {
  /** Connections open at once from one remote IP address. */
  maxPerAddress: number
}

/**
 * Caps the connections one IP address holds open, from the moment the socket is
 * accepted (before the PSK handshake). libp2p itself only rate-limits per host
 * and caps pending and total connections. The map holds only addresses with an
 * open connection, so it is bounded by the connection limits.
 */
export class InboundLimiter {
  refused = 0
  private readonly maxPerAddress: number
  private readonly open = new Map<string, number>()

  constructor (init: InboundLimiterInit) {
    this.maxPerAddress = init.maxPerAddress
  }

  /** A connection gater's `denyInboundConnection`: true refuses the socket. */
  readonly denyInboundConnection = (maConn: MultiaddrConnection): boolean => {
    const address = hostOf(maConn)
    if (address === undefined) return false
    // A socket already gone would never fire 'close' to release its count.
    if (maConn.status !== 'open') return true
    const count = this.open.get(address) ?? 0
    if (count >= this.maxPerAddress) {
      this.refused++
      return true
    }
    this.open.set(address, count + 1)
    maConn.addEventListener('close', () => { this.release(address) }, { once: true })
    return false
  }

  get addresses (): number {
    return this.open.size
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
