import type { NodeInfo, PeerInfo, RegistryReply } from './schemas.ts'
import type { RegistrySyncStatus } from '../registry/sync-health.ts'

export interface Readiness {
  ready: boolean
  reason: string
  /** Registry anti-entropy: last success, failures in a row, last error. */
  registrySync?: RegistrySyncStatus
}

/** What the HTTP API needs from a node; keeps fastify routes free of libp2p wiring. */
export interface NodeView {
  info: () => NodeInfo
  peers: () => PeerInfo[]
  registry: (filter: { nodeId?: string }) => RegistryReply
  readiness: () => Readiness
  metrics: () => Promise<{ contentType: string, body: string }>
  dial: (addr: string, signal: AbortSignal) => Promise<{ peerId: string, verified: boolean }>
}
