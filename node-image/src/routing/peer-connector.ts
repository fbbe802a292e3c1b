import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { isCircuit, isRelayed } from '../p2p/relayed-connection.ts'
import { LruMap } from '../p2p/lru-map.ts'
import { NodeUnreachableError } from './errors.ts'
import type { Route } from './types.ts'

/** The circuit relay v2 hop protocol: a peer speaking it can relay for us. */
const RELAY_HOP = '/libp2p/circuit/relay/0.2.0/hop'
/** The DHT walk gets this share of the remaining time, so the relay still gets a turn. */
const DHT_SHARE = 0.5
/** Parsed peer ids kept: parsing one and printing it again (the connection manager's key) cost every call a base58 round trip. */
const PEER_IDS_KEPT = 1024

export type ConnectorLibp2p = Pick<Libp2p, 'dial' | 'getConnections' | 'peerRouting' | 'peerStore'>

export interface PeerConnectorComponents {
  libp2p: ConnectorLibp2p
}

export interface Reached {
  connection: Connection
  route: Exclude<Route, 'local'>
}


/**
 * Finds a connection to a node in the documented order: an open direct
 * connection; then addresses from the peer store or a DHT walk, dialled
 * directly; then circuit relay v2 through any connected relay.
 */
export class PeerConnector {
  private readonly libp2p: ConnectorLibp2p
  private readonly peerIds = new LruMap<string, PeerId>(PEER_IDS_KEPT)

  constructor (components: PeerConnectorComponents) {
    this.libp2p = components.libp2p
  }

  /** An open direct connection to the node, if there is one: the common case, without waiting. */
  openDirect (nodeId: string): Reached | undefined {
    const direct = this.libp2p.getConnections(this.peerOf(nodeId)).find(c => c.status === 'open' && !isRelayed(c))
    return direct === undefined ? undefined : { connection: direct, route: 'direct' }
  }

  /** `deadline` (unix ms) lets the DHT walk take only its share of the time left. */
  async connect (nodeId: string, signal: AbortSignal, deadline: number): Promise<Reached> {
    const peer = this.peerOf(nodeId)
    const open = this.libp2p.getConnections(peer).filter(c => c.status === 'open')
    const direct = open.find(c => !isRelayed(c))
    if (direct !== undefined) return { connection: direct, route: 'direct' }
    const relayed = open.find(c => isRelayed(c))
    const tried: string[] = []

    const addrs = await this.knownAddrs(peer, signal, deadline, tried)
    const directAddrs = addrs.filter(a => !isCircuit(a))
    if (directAddrs.length > 0) {
      try {
        const connection = await this.libp2p.dial(directAddrs.map(a => withPeer(a, nodeId)), { signal })
        return { connection, route: isRelayed(connection) ? 'relayed' : 'direct' }
      } catch (err) {
        signal.throwIfAborted()
        tried.push(`direct dial of ${directAddrs.length} address(es): ${(err as Error).message}`)
      }
    }
    if (relayed !== undefined) return { connection: relayed, route: 'relayed' }

    const circuits = [...addrs.filter(isCircuit).map(a => withPeer(a, nodeId)), ...await this.viaConnectedRelays(peer)]
    for (const addr of dedupe(circuits)) {
      try {
        const connection = await this.libp2p.dial(addr, { signal })
        return { connection, route: 'relayed' }
      } catch (err) {
        signal.throwIfAborted()
        tried.push(`relay ${addr.toString()}: ${(err as Error).message}`)
      }
    }
    if (circuits.length === 0) tried.push('no relay knows the node')
    throw new NodeUnreachableError(`node ${nodeId} is unreachable: ${tried.join('; ')}`)
  }

  /** Throws what peerIdFromString throws for a malformed id (never cached). */
  private peerOf (nodeId: string): PeerId {
    let peer = this.peerIds.get(nodeId)
    if (peer === undefined) {
      peer = peerIdFromString(nodeId)
      this.peerIds.set(nodeId, peer)
    }
    return peer
  }

  private async knownAddrs (peer: PeerId, signal: AbortSignal, deadline: number, tried: string[]): Promise<Multiaddr[]> {
    const stored = await this.libp2p.peerStore.get(peer).then(p => p.addresses.map(a => a.multiaddr), () => [])
    if (stored.some(a => !isCircuit(a))) return stored
    const dhtSignal = AbortSignal.any([signal, AbortSignal.timeout(Math.max(50, Math.floor((deadline - Date.now()) * DHT_SHARE)))])
    try {
      const info = await this.libp2p.peerRouting.findPeer(peer, { signal: dhtSignal })
      return [...stored, ...info.multiaddrs]
    } catch (err) {
      signal.throwIfAborted()
      tried.push(`DHT lookup: ${(err as Error).message}`)
      return stored
    }
  }

  /** Circuit addresses through every connected peer that identify says is a relay. */
  private async viaConnectedRelays (target: PeerId): Promise<Multiaddr[]> {
    const out: Multiaddr[] = []
    for (const conn of this.libp2p.getConnections()) {
      if (conn.remotePeer.equals(target) || isRelayed(conn) || conn.status !== 'open') continue
      const relay = await this.libp2p.peerStore.get(conn.remotePeer).catch(() => undefined)
      if (relay?.protocols.includes(RELAY_HOP) !== true) continue
      // An outbound connection's address may already end in /p2p/<relay>; never name the relay twice.
      const relayAddr = multiaddr(conn.remoteAddr.toString().replace(/\/p2p\/[^/]+$/, ''))
      out.push(relayAddr.encapsulate(`/p2p/${conn.remotePeer.toString()}/p2p-circuit/p2p/${target.toString()}`))
    }
    return out
  }
}

function withPeer (addr: Multiaddr, nodeId: string): Multiaddr {
  return addr.getComponents().at(-1)?.value === nodeId ? addr : addr.encapsulate(`/p2p/${nodeId}`)
}

function dedupe (addrs: Multiaddr[]): Multiaddr[] {
  return [...new Map(addrs.map(a => [a.toString(), a])).values()]
}

