import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { NodeEvents, MAX_REGISTRY_KEYS, nodeEventSources, type PeerSource, type RegistrySource } from '../../../src/events/node-events.ts'
import { routeOf, type ConnectionLike } from '../../../src/events/presence.ts'
import { ReplicaChooser } from '../../../src/routing/replica-choice.ts'

const SELF = 'self'
const tcp = multiaddr('/ip4/127.0.0.1/tcp/4001')
const circuit = multiaddr('/ip4/127.0.0.1/tcp/4002/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo/p2p-circuit')

/** Peers, connections, registry and readiness a test sets by hand. */
class World {
  published: Array<{ type: string, data: unknown }> = []
  verified = new Set<string>()
  conns = new Map<string, ConnectionLike[]>()
  agents = new Map<string, { nodeId: string, agentId: string }>()
  cooling = new Set<string>()
  ready = { ready: false, reason: 'starting' }
  private peerListener?: (peer: string, why: 'verified' | 'left' | 'connection') => void
  private registryListener?: (keys: readonly string[]) => void

  readonly peers: PeerSource = {
    verified: () => [...this.verified],
    connections: (p) => this.conns.get(p) ?? [],
    onChange: (l) => { this.peerListener = l; return () => { this.peerListener = undefined } }
  }

  readonly registry: RegistrySource = {
    entries: () => [...this.agents.values()],
    digest: () => `digest-${this.agents.size}`,
    has: (n, a) => this.agents.has(`${n}:${a}`),
    onChange: (l) => { this.registryListener = l; return () => { this.registryListener = undefined } }
  }

  events (): NodeEvents {
    return new NodeEvents({
      hub: { publish: (type, data) => { this.published.push({ type, data }) } },
      peers: this.peers,
      registry: this.registry,
      readiness: () => this.ready,
      coolingDown: (n) => this.cooling.has(n)
    }, { selfId: SELF, tickMs: 1000, coalesceMs: 50 })
  }

  connect (peer: string, limited = false): void {
    this.conns.set(peer, [...(this.conns.get(peer) ?? []), limited ? { status: 'open', limits: { bytes: 1n }, remoteAddr: circuit } : { status: 'open', remoteAddr: tcp }])
    this.peerListener?.(peer, 'connection')
  }

  verify (peer: string): void {
    this.verified.add(peer)
    this.peerListener?.(peer, 'verified')
  }

  leave (peer: string): void {
    this.conns.delete(peer)
    this.peerListener?.(peer, 'connection')
    this.verified.delete(peer)
    this.peerListener?.(peer, 'left')
  }

  addAgent (nodeId: string, agentId: string): void {
    this.agents.set(`${nodeId}:${agentId}`, { nodeId, agentId })
    this.registryListener?.([`${nodeId}:${agentId}`])
  }

  removeAgent (nodeId: string, agentId: string): void {
    this.agents.delete(`${nodeId}:${agentId}`)
    this.registryListener?.([`${nodeId}:${agentId}`])
  }

  take (): Array<{ type: string, data: unknown }> {
    return this.published.splice(0)
  }
}

const running: NodeEvents[] = []
afterEach(() => {
  for (const e of running.splice(0)) e.stop()
  vi.useRealTimers()
})

function start (world: World): NodeEvents {
  const events = world.events()
  events.start()
  running.push(events)
  return events
}

describe('routeOf', () => {
  it('is direct with any direct open connection, relayed with only relayed ones (limited, or a circuit without limits), none otherwise', () => {
    expect(routeOf([])).toBe('none')
    expect(routeOf([{ status: 'closed', remoteAddr: tcp }])).toBe('none')
    expect(routeOf([{ status: 'open', limits: {}, remoteAddr: circuit }])).toBe('relayed')
    expect(routeOf([{ status: 'open', remoteAddr: circuit }])).toBe('relayed')
    expect(routeOf([{ status: 'open', limits: {}, remoteAddr: circuit }, { status: 'open', remoteAddr: tcp }])).toBe('direct')
  })
})

describe('ReplicaChooser.coolingDown', () => {
  it('is true from a failure until the cool-down ends or a success', () => {
    let now = 0
    const chooser = new ReplicaChooser({ coolDownMs: 5000, now: () => now })
    expect(chooser.coolingDown('b')).toBe(false)
    chooser.failed('b')
    expect(chooser.coolingDown('b')).toBe(true)
    now = 5000
    expect(chooser.coolingDown('b')).toBe(false)
    chooser.failed('b')
    chooser.succeeded('b')
    expect(chooser.coolingDown('b')).toBe(false)
  })
})

describe('NodeEvents', () => {
  it('publishes a peer event on verification, on a route change and on departure, and not for unverified peers', () => {
    const w = new World()
    start(w)
    w.connect('b', true)
    expect(w.take()).toEqual([])
    w.verify('b')
    w.connect('b')
    w.leave('b')
    expect(w.take()).toEqual([
      { type: 'peer', data: { peerId: 'b', verified: true, route: 'relayed' } },
      { type: 'peer', data: { peerId: 'b', verified: true, route: 'direct' } },
      { type: 'peer', data: { peerId: 'b', verified: false, route: 'none' } }
    ])
  })

  it('coalesces registry changes into one event with changed and removed, then the new presence', () => {
    vi.useFakeTimers()
    const w = new World()
    w.verified.add('b')
    w.conns.set('b', [{ status: 'open', remoteAddr: tcp }])
    w.addAgent('b', 'old')
    start(w)
    w.addAgent('b', 'weather')
    w.addAgent(SELF, 'local')
    w.removeAgent('b', 'old')
    expect(w.take()).toEqual([])
    vi.advanceTimersByTime(50)
    expect(w.take()).toEqual([
      { type: 'registry', data: { digest: 'digest-2', changed: [{ nodeId: 'b', agentId: 'weather' }, { nodeId: SELF, agentId: 'local' }], removed: [{ nodeId: 'b', agentId: 'old' }] } },
      { type: 'presence', data: { agentId: 'weather', nodeId: 'b', state: 'online' } },
      { type: 'presence', data: { agentId: 'local', nodeId: SELF, state: 'online' } }
    ])
  })

  it('says truncated instead of listing more than the cap', () => {
    vi.useFakeTimers()
    const w = new World()
    start(w)
    for (let i = 0; i <= MAX_REGISTRY_KEYS; i++) w.addAgent(SELF, `a${i}`)
    vi.advanceTimersByTime(50)
    expect(w.take()[0]).toEqual({ type: 'registry', data: { digest: `digest-${MAX_REGISTRY_KEYS + 1}`, changed: [], removed: [], truncated: true } })
  })

  it('moves presence online -> degraded (relayed) -> degraded (cooling) -> unreachable, one event per change', () => {
    vi.useFakeTimers()
    const w = new World()
    w.agents.set('b:echo', { nodeId: 'b', agentId: 'echo' })
    const events = start(w)
    expect(events.presence()).toEqual([{ agentId: 'echo', nodeId: 'b', state: 'unreachable' }])
    w.connect('b', true)
    w.verify('b')
    expect(w.take().filter(e => e.type === 'presence')).toEqual([{ type: 'presence', data: { agentId: 'echo', nodeId: 'b', state: 'degraded' } }])
    w.connect('b')
    expect(w.take().filter(e => e.type === 'presence')).toEqual([{ type: 'presence', data: { agentId: 'echo', nodeId: 'b', state: 'online' } }])
    // A cool-down has no event of its own: the tick finds it.
    w.cooling.add('b')
    vi.advanceTimersByTime(1000)
    expect(w.take()).toEqual([{ type: 'presence', data: { agentId: 'echo', nodeId: 'b', state: 'degraded' } }])
    vi.advanceTimersByTime(1000)
    expect(w.take()).toEqual([])
    w.cooling.delete('b')
    w.leave('b')
    expect(w.take().filter(e => e.type === 'presence')).toEqual([{ type: 'presence', data: { agentId: 'echo', nodeId: 'b', state: 'unreachable' } }])
  })

  it('publishes readiness when it changes, from the tick', () => {
    vi.useFakeTimers()
    const w = new World()
    start(w)
    vi.advanceTimersByTime(1000)
    expect(w.take()).toEqual([])
    w.ready = { ready: true, reason: 'joined the mesh' }
    vi.advanceTimersByTime(1000)
    vi.advanceTimersByTime(1000)
    expect(w.take()).toEqual([{ type: 'node', data: { ready: true, reason: 'joined the mesh' } }])
  })
})

describe('nodeEventSources registry', () => {
  it('lists the agent keys from registry.keys(), never copying the records, and reads them again only when the digest changes', () => {
    const records = [{ nodeId: 'n1', agentId: 'echo', card: { tools: ['big'] } }]
    let digest = 'd1'
    const registry = {
      keys: vi.fn(() => records.map(r => ({ nodeId: r.nodeId, agentId: r.agentId }))),
      entries: vi.fn(() => records.map(r => structuredClone(r))),
      digest: () => digest,
      has: () => false,
      addEventListener: () => {},
      removeEventListener: () => {}
    }
    const libp2p = { getConnections: () => [], addEventListener: () => {}, removeEventListener: () => {} }
    const guard = { verifiedPeers: () => [], addEventListener: () => {}, removeEventListener: () => {} }
    const sources = nodeEventSources({ guard, libp2p, registry })
    for (let i = 0; i < 5; i++) expect(sources.registry.entries()).toEqual([{ nodeId: 'n1', agentId: 'echo' }])
    expect(registry.keys).toHaveBeenCalledTimes(1)
    records.push({ nodeId: 'n2', agentId: 'notes', card: { tools: [] } })
    digest = 'd2'
    expect(sources.registry.entries()).toEqual([{ nodeId: 'n1', agentId: 'echo' }, { nodeId: 'n2', agentId: 'notes' }])
    expect(registry.keys).toHaveBeenCalledTimes(2)
    expect(registry.entries).not.toHaveBeenCalled()
  })
})
