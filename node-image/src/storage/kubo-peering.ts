import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { LogFn } from '../logging/json-logger.ts'
import { LruMap } from '../p2p/lru-map.ts'
import type { ContentStore, KuboSwarmInfo } from './content-store.ts'

export interface KuboPeeringComponents {
  swarm: NonNullable<ContentStore['swarm']>
  log: LogFn
}

const RETRY_MS = 15_000
/** Sidecars remembered for retry pacing. */
const MAX_SIDECARS = 4096
const DIAL_TIMEOUT_MS = 5_000

export interface KuboDialPlan {
  /** Addresses to hand to Kubo, each ending in `/p2p/<the announced id>`. */
  addrs: string[]
  /** What was left out, and why (for a debug log). */
  dropped: Array<{ addr: string, reason: string }>
}

/**
 * The addresses of an announced sidecar that Kubo may dial. A manifest comes from
 * a member, but its addresses are only its word: an address naming another peer
 * id, or relaying through one, would have our sidecar connect to whoever that is.
 * So an address is kept only when its one `/p2p/` component, at the end, is the
 * announced peer id (compared as peer ids, so encodings do not matter); one
 * without `/p2p/` gets it appended. No valid announced id, no addresses.
 */
export function kuboDialAddrs (peer: KuboSwarmInfo): KuboDialPlan {
  const plan: KuboDialPlan = { addrs: [], dropped: [] }
  let announced: string
  try {
    announced = peerIdFromString(peer.peerId).toString()
  } catch {
    plan.dropped = peer.addrs.map(addr => ({ addr, reason: 'announced peer id is not a peer id' }))
    return plan
  }
  for (const addr of peer.addrs) {
    const checked = check(addr, announced)
    if ('reason' in checked) plan.dropped.push({ addr, reason: checked.reason })
    else if (!plan.addrs.includes(checked.dial)) plan.addrs.push(checked.dial)
  }
  return plan
}

/** The address to dial for `addr`, or why it must not be dialled as `announced`. */
function check (addr: string, announced: string): { dial: string } | { reason: string } {
  let parsed
  try {
    parsed = multiaddr(addr)
  } catch {
    return { reason: 'not a multiaddr' }
  }
  const components = parsed.getComponents()
  if (components.some(c => c.name === 'p2p-circuit')) return { reason: 'relayed through another peer' }
  const ids = components.filter(c => c.name === 'p2p')
  if (ids.length === 0) return { dial: parsed.encapsulate(`/p2p/${announced}`).toString() }
  const last = components[components.length - 1]
  if (ids.length > 1 || last?.name !== 'p2p') return { reason: 'p2p component not at the end' }
  try {
    if (peerIdFromString(last.value ?? '').toString() !== announced) return { reason: 'names another peer id' }
  } catch {
    return { reason: 'p2p component is not a peer id' }
  }
  return { dial: parsed.toString() }
}

/**
 * Keeps this node's Kubo sidecar connected to the sidecars the other members
 * announce, so bitswap finds blocks without any public bootstrap or DHT.
 */
export class KuboPeering {
  private readonly components: KuboPeeringComponents
  private readonly lastTry = new LruMap<string, number>(MAX_SIDECARS)
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
    const { addrs, dropped } = kuboDialAddrs(peer)
    if (dropped.length > 0) this.components.log('debug', 'kubo peer addresses dropped', { peer: peer.peerId, dropped })
    if (addrs.length === 0) return
    const errors: string[] = []
    for (const addr of addrs) {
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
