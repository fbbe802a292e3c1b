import Type from 'typebox'
import type { Static } from 'typebox'
import { AgentRecord } from '../registry/agent-record.ts'

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String()
})

export const NodeInfo = Type.Object({
  peerId: Type.String(),
  network: Type.String(),
  version: Type.String(),
  addrs: Type.Array(Type.String()),
  relayServer: Type.Boolean(),
  startedAt: Type.String(),
  ready: Type.Boolean(),
  peers: Type.Integer(),
  registry: Type.Object({ digest: Type.String(), entries: Type.Integer() })
})
export type NodeInfo = Static<typeof NodeInfo>

export const PeerInfo = Type.Object({
  peerId: Type.String(),
  verified: Type.Boolean(),
  connections: Type.Array(Type.Object({
    remoteAddr: Type.String(),
    direction: Type.String(),
    limited: Type.Boolean()
  }))
})
export type PeerInfo = Static<typeof PeerInfo>

/** Entries as the registry holds them: every listed field an agent gave (resources, prompts, templates, decorations). */
export const RegistryEntry = AgentRecord

export const RegistryReply = Type.Object({
  digest: Type.String(),
  size: Type.Integer(),
  entries: Type.Array(RegistryEntry)
})
export type RegistryReply = Static<typeof RegistryReply>

export const RegistryQuery = Type.Object({
  nodeId: Type.Optional(Type.String({ pattern: '^[1-9A-HJ-NP-Za-km-z]{40,80}$' }))
}, { additionalProperties: false })

export const DialBody = Type.Object({
  addr: Type.String({ minLength: 3, maxLength: 1024, pattern: '^/.+/p2p/[1-9A-HJ-NP-Za-km-z]+$', description: 'a multiaddr ending in /p2p/<peerId>' })
}, { additionalProperties: false })

export const DialReply = Type.Object({ peerId: Type.String(), verified: Type.Boolean() })

/** One agent as `GET /api/v1/agents/<agentId>` answers (what the operator reads into a DawnAgent's status). */
export { AGENT_NOT_FOUND, DiscoveredTool, LogicalAgentReply } from './agent-schemas.ts'
