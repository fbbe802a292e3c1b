import type { NodeInfo, PeerInfo, RegistryReply } from './schemas.ts'

/** What the HTTP API needs from a node; keeps fastify routes free of libp2p wiring. */
export interface NodeView {
  info: () => NodeInfo
  peers: () => PeerInfo[]
  registry: (filter: { nodeId?: string }) => RegistryReply
  readiness: () => { ready: boolean, reason: string }
  metrics: () => Promise<{ contentType: string, body: string }>
  dial: (addr: string, signal: AbortSignal) => Promise<{ peerId: string, verified: boolean }>
}
