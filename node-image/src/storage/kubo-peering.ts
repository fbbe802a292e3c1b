import type { LogFn } from '../logging/json-logger.ts'
import type { ContentStore, KuboSwarmInfo } from './content-store.ts'

export interface KuboPeeringComponents {
  swarm: NonNullable<ContentStore['swarm']>
  log: LogFn
}

const RETRY_MS = 15_000
const DIAL_TIMEOUT_MS = 5_000

/**
 * Keeps this node's Kubo sidecar connected to the sidecars the other members
 * announce, so bitswap finds blocks without any public bootstrap or DHT.
 */
export class KuboPeering {
  private readonly components: KuboPeeringComponents
  private readonly lastTry = new Map<string, number>()
  private busy = false

  constructor (components: KuboPeeringComponents) {
    this.components = components
  }

  async connect (peers: KuboSwarmInfo[]): Promise<void> {
    if (this.busy || peers.length === 0) return
    this.busy = true
    try {
      const connected = new Set(await this.components.swarm.peers({ signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) }))
      const now = Date.now()
      for (const peer of peers) {
        if (connected.has(peer.peerId) || now - (this.lastTry.get(peer.peerId) ?? 0) < RETRY_MS) continue
        this.lastTry.set(peer.peerId, now)
        await this.dial(peer)
      }
    } catch (err) {
      this.components.log('debug', 'kubo peering round failed', { error: (err as Error).message })
    } finally {
      this.busy = false
    }
  }

  private async dial (peer: KuboSwarmInfo): Promise<void> {
    const errors: string[] = []
    for (const addr of peer.addrs) {
      try {
        await this.components.swarm.connect(addr, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
        this.components.log('info', 'kubo sidecar connected to a peer sidecar', { peer: peer.peerId, addr })
        this.lastTry.delete(peer.peerId)
        return
      } catch (err) {
        errors.push(`${addr}: ${(err as Error).message}`)
      }
    }
    this.components.log('warn', 'kubo sidecar could not reach a peer sidecar', { peer: peer.peerId, errors })
  }
}
