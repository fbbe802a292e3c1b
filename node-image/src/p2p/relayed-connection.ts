import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What telling a relayed connection from a direct one needs of it. */
export type RouteOfConnection = Pick<Connection, 'limits' | 'remoteAddr'>

/**
 * Relayed: the relay set limits on it, or its address runs through `/p2p-circuit`.
 * Both are needed: Dawn's member relay sets no limits (`applyDefaultLimit: false`),
 * so a relayed connection between members looks unlimited.
 */
export function isRelayed (connection: RouteOfConnection): boolean {
  return connection.limits != null || isCircuit(connection.remoteAddr)
}

export function isCircuit (addr: Multiaddr): boolean {
  return addr.getComponents().some(c => c.name === 'p2p-circuit')
}
