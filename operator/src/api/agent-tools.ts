// DawnAgent `spec.tools` and the status fields about what the agent serves. `spec.tools` is the
// node's own ToolFilter (mcp-views), written structurally: a CRD map cannot constrain its keys
// by pattern, so key patterns and unique renames are CEL rules. The status pieces reuse the
// node's `/api/v1/agents/<id>` reply schema, which is what they are read from.
import Type from 'typebox'
import type { Static } from 'typebox'
import { MAX_DESCRIPTION, MAX_FILTER_ENTRIES, MAX_TOOL_NAME, TOOL_NAME_PATTERN, ToolFilter, ToolName } from '@dawn/node-image/mcp-views'
import { LogicalAgentReply } from '@dawn/node-image/http-schemas'
import { cel } from './common.ts'

const keysAreToolNames = (field: string): { rule: string, message: string } => ({
  rule: `self.all(k, size(k) <= ${MAX_TOOL_NAME} && k.matches('${TOOL_NAME_PATTERN}'))`,
  message: `every key of tools.${field} must be a tool name: 1-${MAX_TOOL_NAME} of A-Z a-z 0-9 _ . : / -`
})

export const AgentToolsSchema = Type.Object({
  allow: ToolFilter.properties.allow,
  deny: ToolFilter.properties.deny,
  rename: Type.Optional(Type.Record(Type.String(), ToolName, {
    maxProperties: MAX_FILTER_ENTRIES,
    description: 'the agent\'s own tool name → the name clients see; the old name is no longer callable',
    ...cel(keysAreToolNames('rename'), {
      rule: 'self.all(a, self.filter(b, self[b] == self[a]).size() == 1)',
      message: 'two tools cannot be renamed to one name'
    })
  })),
  descriptions: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: MAX_DESCRIPTION }), {
    maxProperties: MAX_FILTER_ENTRIES,
    description: 'the agent\'s own tool name → the description clients see',
    ...cel(keysAreToolNames('descriptions'))
  }))
}, {
  additionalProperties: false,
  description: 'which of the agent\'s tools clients see, and under what names: applied by every node of the network before names are formed, so a filtered tool is neither listed nor callable'
})
export type AgentTools = Static<typeof AgentToolsSchema>

/** Descriptions are cut to this in status: 1024 tools with full descriptions would not fit in one object. */
export const MAX_STATUS_DESCRIPTION = 256
export const MAX_DISCOVERED_TOOLS = 1024
export const MAX_STATUS_DIFFERENCES = 64
export const MAX_STATUS_COLLISIONS = 32

export const DiscoveredToolSchema = Type.Object({
  name: Type.String({ description: 'the name the agent\'s tool is exposed by, after spec.tools' }),
  description: Type.Optional(Type.String({ maxLength: MAX_STATUS_DESCRIPTION }))
}, { additionalProperties: false })

const difference = LogicalAgentReply.properties.differences.items
const collision = LogicalAgentReply.properties.collisions.properties.tools.items

export const AgentServingStatusSchema = {
  discoveredTools: Type.Optional(Type.Array(DiscoveredToolSchema, {
    maxItems: MAX_DISCOVERED_TOOLS,
    'x-kubernetes-list-type': 'atomic',
    description: 'the tools the agent exposes, as the nodes\' registry lists them under spec.tools'
  })),
  toolCount: Type.Optional(Type.Integer({ minimum: 0, description: 'how many tools the agent exposes' })),
  servingNodes: Type.Optional(Type.Array(Type.String(), {
    maxItems: 1024,
    'x-kubernetes-list-type': 'atomic',
    description: 'pods whose node hosts the agent, by the mesh registry (peer ids of nodes outside the network\'s pools)'
  })),
  readyReplicas: Type.Optional(Type.Integer({ minimum: 0, description: 'nodes of the placed pools that host the agent, by the mesh registry' })),
  desiredReplicas: Type.Optional(Type.Integer({ minimum: 0, description: 'nodes of the pools the agent is placed on' })),
  differences: Type.Optional(Type.Array(difference, {
    maxItems: MAX_STATUS_DIFFERENCES,
    'x-kubernetes-list-type': 'atomic',
    description: 'how replicas disagree about a tool or prompt (a rolling upgrade); nodes by pod name'
  })),
  collisions: Type.Optional(Type.Array(collision, {
    maxItems: MAX_STATUS_COLLISIONS,
    'x-kubernetes-list-type': 'atomic',
    description: 'names the agent\'s tools claim together with another agent\'s, under the network\'s naming mode'
  }))
}
