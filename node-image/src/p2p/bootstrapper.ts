import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import type { LogFn } from '../logging/json-logger.ts'
import { backoffDelay } from '../timing/backoff.ts'

export interface BootstrapperInit {
  addrs: string[]
  selfId: string
  /** First retry delay; doubles per failure up to maxBackoffMs. */
  minBackoffMs?: number
  maxBackoffMs?: number
  /**
   * How long one dial may take. Aborting a handshake that is nearly done wastes all of
   * it, and on a busy machine every retry is slower than the last, so this should be the
   * far side's upgrade timeout, not a guess at a quick one (default 10 s).
   */
  dialTimeoutMs?: number
}

interface Target { addr: Multiaddr, peer: string, nextAttempt: number, failures: number }

/**
 * Keeps dialing the bootstrap list until each peer is connected, and again
 * whenever one drops, so a node that starts first or survives a partition
 * rejoins without help. Peers that are not yet up are retried with backoff.
 */
export class Bootstrapper {
  private readonly components: { libp2p: Pick<Libp2p, 'dial' | 'getConnections'>, log: LogFn }
  private readonly targets: Target[]
  private readonly minBackoff: number
  private readonly maxBackoff: number
  private readonly dialTimeout: number
  private timer?: NodeJS.Timeout
  private readonly abort = new AbortController()

  constructor (components: Bootstrapper['components'], init: BootstrapperInit) {
    this.components = components
    this.minBackoff = init.minBackoffMs ?? 500
    this.maxBackoff = init.maxBackoffMs ?? 15_000
    this.dialTimeout = init.dialTimeoutMs ?? 10_000
    this.targets = init.addrs.map(a => multiaddr(a))
      .map(addr => ({ addr, peer: addr.getComponents().findLast(c => c.name === 'p2p')?.value ?? '', nextAttempt: 0, failures: 0 }))
      .filter(t => t.peer !== '' && t.peer !== init.selfId)
  }

  /** True when the bootstrap list names no peer but this node: it is the first node. */
  get isFirstNode (): boolean {
    return this.targets.length === 0
  }

  start (): void {
    const tick = (): void => {
      void this.dialDue().finally(() => {
        if (!this.abort.signal.aborted) this.timer = setTimeout(tick, 500)
      })
    }
    tick()
  }

  stop (): void {
    this.abort.abort()
    clearTimeout(this.timer)
  }

  private async dialDue (): Promise<void> {
    const { libp2p } = this.components
    const connected = new Set(libp2p.getConnections().map(c => c.remotePeer.toString()))
    const now = Date.now()
    await Promise.all(this.targets.map(async t => {
      if (connected.has(t.peer)) { t.failures = 0; return }
      if (t.nextAttempt > now) return
      try {
        await libp2p.dial(t.addr, { signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.dialTimeout)]) })
        t.failures = 0
      } catch (err) {
        t.failures++
        t.nextAttempt = Date.now() + backoffDelay(t.failures, { minMs: this.minBackoff, maxMs: this.maxBackoff })
        if (!this.abort.signal.aborted) this.components.log('debug', 'bootstrap dial failed', { addr: t.addr.toString(), failures: t.failures, error: (err as Error).message })
      }
    }))
  }
}
