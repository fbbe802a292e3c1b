/**
 * The `mesh` built-in: lets a model look at the mesh it runs in (peers, ping,
 * how a call would be routed, which agents exist). Its data comes from the
 * running node through MeshFacade; without a node it cannot run.
 */
import Type from 'typebox'
import { VERSION } from '../../version.ts'
import { NODE_ID_PATTERN } from '../../registry/agent-record.ts'
import { defineTool, jsonResult } from '../define-server.ts'
import type { ServerSpec } from '../define-server.ts'

/** What the mesh agent needs from the node it runs in. */
export interface MeshFacade {
  selfId: string
  peers: () => Array<{ peerId: string, verified: boolean, addrs: string[] }>
  ping: (nodeId: string, signal: AbortSignal) => Promise<{ rttMs: number }>
  /** `hops` only for the flood route: how far a probe travelled through members. */
  route: (nodeId: string, signal: AbortSignal) => Promise<{ route: 'local' | 'direct' | 'relayed' | 'flood', via?: string, remoteAddr?: string, hops?: number }>
  agents: () => Array<{ nodeId: string, agentId: string, name: string, tools: string[] }>
}

const NodeId = Type.String({ pattern: NODE_ID_PATTERN, description: 'peer id of a mesh node (base58btc)' })

export function meshServerSpec (mesh: MeshFacade): ServerSpec {
  return {
    name: 'dawn-mesh',
    version: VERSION,
    instructions: 'Inspect the Dawn mesh this node belongs to: its peers, round-trip times, routes and agents.',
    tools: [
      defineTool({
        name: 'peers',
        description: 'List the peers this node is connected to, whether each proved membership, and their addresses.',
        input: Type.Object({}, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: () => jsonResult({ selfId: mesh.selfId, peers: mesh.peers() })
      }),
      defineTool({
        name: 'ping',
        description: 'Measure the round-trip time to a node, in milliseconds.',
        input: Type.Object({ nodeId: NodeId }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: async ({ nodeId }, { signal }) => {
          const { rttMs } = await mesh.ping(nodeId, signal)
          return jsonResult({ nodeId, rttMs })
        }
      }),
      defineTool({
        name: 'route',
        description: 'Explain how a call reaches a node: local, direct, relayed (through which relay) with the remote address used, or flood (hop by hop through members, with the hop count) when no direct or relayed path exists.',
        input: Type.Object({ nodeId: NodeId }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: async ({ nodeId }, { signal }) => jsonResult({ nodeId, ...await mesh.route(nodeId, signal) })
      }),
      defineTool({
        name: 'agents',
        description: 'List the agents in the mesh registry with their tool names, optionally only those of one node.',
        input: Type.Object({ nodeId: Type.Optional(NodeId) }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: ({ nodeId }) => jsonResult({ agents: mesh.agents().filter((a) => nodeId === undefined || a.nodeId === nodeId) })
      })
    ]
  }
}
