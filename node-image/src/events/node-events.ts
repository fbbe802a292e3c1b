/**
 * The node's own events on the hub: `node` (readiness), `peer` (verified peers and their
 * route), `registry` (what changed) and `presence` (computed here, see presence.ts), each
 * published only when it changes. Readiness and replica cool-downs have no events of their
 * own, so a slow tick looks at them.
 */
import type { Libp2p } from '@libp2p/interface'
import type { MembershipGuard } from '../p2p/membership-guard.ts'
import type { AgentRegistry } from '../registry/agent-registry.ts'
import type { LogFn } from '../logging/json-logger.ts'
import type { EventHub } from './event-hub.ts'
import { computePresence, routeOf, type ConnectionLike, type PeerRoute, type PresenceEntry } from './presence.ts'

export interface PeerSource {
  verified: () => string[]
  connections: (peerId: string) => ConnectionLike[]
  /** Calls back on verification, departure and any connection opened or closed; returns an unsubscribe. */
  onChange: (listener: (peerId: string, why: 'verified' | 'left' | 'connection') => void) => () => void
}

export interface RegistrySource {
  entries: () => ReadonlyArray<{ nodeId: string, agentId: string }>
  digest: () => string
  has: (nodeId: string, agentId: string) => boolean
  /** Calls back with the changed `nodeId:agentId` keys; returns an unsubscribe. */
  onChange: (listener: (keys: readonly string[]) => void) => () => void
}

export interface NodeEventsComponents {
  hub: Pick<EventHub, 'publish'>
  peers: PeerSource
  registry: RegistrySource
  readiness: () => { ready: boolean, reason: string }
  /** True while calls to the node go last after a failure (routing/replica-choice.ts). */
  coolingDown: (nodeId: string) => boolean
  log?: LogFn
}

export interface NodeEventsInit {
  selfId: string
  /** How often readiness and cool-downs are looked at (default 1 s). */
  tickMs?: number
  /** Registry changes within this window go out as one event (default 50 ms). */
  coalesceMs?: number
}

/** Keys listed in one `registry` event; more sends `truncated: true` (the page reloads the list). */
export const MAX_REGISTRY_KEYS = 256

export interface AgentKey { nodeId: string, agentId: string }

export interface RegistryEventData {
  digest: string
  changed: AgentKey[]
  removed: AgentKey[]
  truncated?: true
}

export class NodeEvents {
  private readonly components: NodeEventsComponents
  private readonly selfId: string
  private readonly tickMs: number
  private readonly coalesceMs: number
  private readonly routes = new Map<string, PeerRoute>()
  private presenceNow = new Map<string, PresenceEntry>()
  private readiness?: { ready: boolean, reason: string }
  private pendingKeys = new Set<string>()
  private pendingOverflow = false
  private flushTimer?: NodeJS.Timeout
  private ticker?: NodeJS.Timeout
  private readonly offs: Array<() => void> = []

  constructor (components: NodeEventsComponents, init: NodeEventsInit) {
    this.components = components
    this.selfId = init.selfId
    this.tickMs = init.tickMs ?? 1000
    this.coalesceMs = init.coalesceMs ?? 50
  }

  start (): void {
    const { peers, registry } = this.components
    for (const peer of peers.verified()) this.routes.set(peer, routeOf(peers.connections(peer)))
    this.presenceNow = this.compute()
    this.readiness = this.components.readiness()
    this.offs.push(peers.onChange((peer, why) => { this.onPeer(peer, why) }))
    this.offs.push(registry.onChange(keys => { this.onRegistry(keys) }))
    this.ticker = setInterval(() => { this.tick() }, this.tickMs)
    this.ticker.unref()
  }

  stop (): void {
    for (const off of this.offs.splice(0)) off()
    clearInterval(this.ticker)
    clearTimeout(this.flushTimer)
    this.flushTimer = undefined
  }

  /** Current presence of every registry entry (publishing any change first, so it matches the stream). */
  presence (): PresenceEntry[] {
    if (this.flushTimer === undefined) this.refreshPresence()
    return [...this.presenceNow.values()]
  }

  private onPeer (peer: string, why: 'verified' | 'left' | 'connection'): void {
    const route = routeOf(this.components.peers.connections(peer))
    if (why === 'left') {
      if (!this.routes.delete(peer)) return
      this.publish('peer', { peerId: peer, verified: false, route })
    } else if (why === 'verified' || this.routes.has(peer)) {
      // A last connection closing is followed by `left`; that event says it.
      if (why === 'connection' && (route === 'none' || this.routes.get(peer) === route)) return
      if (why === 'verified' && this.routes.get(peer) === route) return
      this.routes.set(peer, route)
      this.publish('peer', { peerId: peer, verified: true, route })
    } else {
      return
    }
    this.refreshPresence()
  }

  private onRegistry (keys: readonly string[]): void {
    for (const key of keys) {
      if (this.pendingKeys.size >= MAX_REGISTRY_KEYS) {
        this.pendingOverflow = true
        break
      }
      this.pendingKeys.add(key)
    }
    this.flushTimer ??= setTimeout(() => { this.flushRegistry() }, this.coalesceMs)
  }

  private flushRegistry (): void {
    this.flushTimer = undefined
    const { registry } = this.components
    const data: RegistryEventData = { digest: registry.digest(), changed: [], removed: [] }
    if (this.pendingOverflow) {
      data.truncated = true
    } else {
      for (const key of this.pendingKeys) {
        const colon = key.indexOf(':')
        const agent = { nodeId: key.slice(0, colon), agentId: key.slice(colon + 1) }
        if (registry.has(agent.nodeId, agent.agentId)) data.changed.push(agent)
        else data.removed.push(agent)
      }
    }
    this.pendingKeys = new Set()
    this.pendingOverflow = false
    this.publish('registry', data)
    this.refreshPresence()
  }

  private tick (): void {
    const now = this.components.readiness()
    if (now.ready !== this.readiness?.ready || now.reason !== this.readiness.reason) {
      this.readiness = { ready: now.ready, reason: now.reason }
      this.publish('node', this.readiness)
    }
    // A pending registry event goes first: the page learns of an agent before its presence.
    if (this.flushTimer === undefined) this.refreshPresence()
  }

  private compute (): Map<string, PresenceEntry> {
    const { peers, registry, coolingDown } = this.components
    return computePresence({
      selfId: this.selfId,
      entries: registry.entries(),
      verified: new Set(peers.verified()),
      route: (nodeId) => this.routes.get(nodeId) ?? routeOf(peers.connections(nodeId)),
      coolingDown
    })
  }

  /** Publishes the entries whose state changed or that are new; removals are the registry event's. */
  private refreshPresence (): void {
    const next = this.compute()
    for (const [key, entry] of next) {
      if (this.presenceNow.get(key)?.state !== entry.state) this.publish('presence', entry)
    }
    this.presenceNow = next
  }

  private publish (type: string, data: unknown): void {
    try {
      this.components.hub.publish(type, data)
    } catch (err) {
      this.components.log?.('error', 'event not published', { type, error: (err as Error).message })
    }
  }
}

/** The node's parts as the event sources above. */
export function nodeEventSources (parts: {
  guard: Pick<MembershipGuard, 'verifiedPeers' | 'addEventListener' | 'removeEventListener'>
  libp2p: Pick<Libp2p, 'getConnections' | 'addEventListener' | 'removeEventListener'>
  registry: Pick<AgentRegistry, 'keys' | 'digest' | 'has' | 'addEventListener' | 'removeEventListener'>
}): { peers: PeerSource, registry: RegistrySource } {
  const { guard, libp2p, registry } = parts
  // Presence is recomputed every tick, and only needs who hosts what: registry.keys(), not
  // entries(), which clones every agent card (tool schemas included). While a mesh forms that
  // ran on every change. The keys change only with the digest, so they are kept until it does.
  let keys: { digest: string, list: AgentKey[] } | undefined
  const entryKeys = (): AgentKey[] => {
    const digest = registry.digest()
    if (keys?.digest !== digest) keys = { digest, list: registry.keys() }
    return keys.list
  }
  const connectionsOf = (peerId: string): ConnectionLike[] => libp2p.getConnections().filter(c => c.remotePeer.toString() === peerId)
  return {
    peers: {
      verified: () => guard.verifiedPeers(),
      connections: connectionsOf,
      onChange: (listener) => {
        const verified = (evt: CustomEvent<string>): void => { listener(evt.detail, 'verified') }
        const left = (evt: CustomEvent<string>): void => { listener(evt.detail, 'left') }
        const connection = (evt: CustomEvent<{ remotePeer: { toString: () => string } }>): void => { listener(evt.detail.remotePeer.toString(), 'connection') }
        guard.addEventListener('peer:verified', verified)
        guard.addEventListener('peer:left', left)
        libp2p.addEventListener('connection:open', connection)
        libp2p.addEventListener('connection:close', connection)
        return () => {
          guard.removeEventListener('peer:verified', verified)
          guard.removeEventListener('peer:left', left)
          libp2p.removeEventListener('connection:open', connection)
          libp2p.removeEventListener('connection:close', connection)
        }
      }
    },
    registry: {
      entries: entryKeys,
      digest: () => registry.digest(),
      has: (nodeId, agentId) => registry.has(nodeId, agentId),
      onChange: (listener) => {
        const change = (evt: CustomEvent<{ keys: string[] }>): void => { listener(evt.detail.keys) }
        registry.addEventListener('change', change)
        return () => { registry.removeEventListener('change', change) }
      }
    }
  }
}
