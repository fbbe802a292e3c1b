import Type from 'typebox'
import type { Static } from 'typebox'
import type { V1EnvVar } from '@kubernetes/client-node'
import { BuiltinAgentConfig, DNS_LABEL, RemoteAgentConfig } from '@dawn/node-image/config'
import {
  cel, Conditions, DNS1035_LABEL, DNS1123_LABEL, ImagePullPolicy, ObservedGeneration, PreservedObject, ResourceRequirements,
  resourceSchema, SecretKeyRef
} from './common.ts'
import { AgentServingStatusSchema, AgentToolsSchema } from './agent-tools.ts'
import type { CrdInfo } from './crd-info.ts'
import { ResourceValidationError } from './errors.ts'

/** The image runtime's Service is `dawn-agent-<name>`, a DNS-1035 label of at most 63 characters. */
export const AGENT_SERVICE_PREFIX = 'dawn-agent-'
export const MAX_AGENT_NAME_LENGTH = 63 - AGENT_SERVICE_PREFIX.length

const EnvVar = Type.Unsafe<V1EnvVar>({
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, description: 'variable name' } },
  'x-kubernetes-preserve-unknown-fields': true,
  description: 'a container environment variable (value or valueFrom, as in a pod spec)'
})

export const DawnAgentSpecSchema = Type.Object({
  networkRef: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 63, description: 'the DawnNetwork (in this namespace) the agent joins' })
  }, {
    additionalProperties: false,
    description: 'the network of this agent; immutable',
    ...cel({ rule: 'self == oldSelf', message: 'networkRef is immutable: an agent cannot move to another network; create a new DawnAgent instead' })
  }),
  agentId: Type.Optional(Type.String({
    pattern: DNS_LABEL,
    maxLength: 63,
    description: 'the id nodes register the agent under (<nodeId>:<agentId>); defaults to metadata.name'
  })),
  description: Type.String({ maxLength: 2000, default: '', description: 'shown in the registry' }),
  placement: Type.Object({
    nodes: Type.Optional(Type.Array(Type.String({ pattern: DNS1035_LABEL, maxLength: 63 }), {
      maxItems: 64,
      'x-kubernetes-list-type': 'set',
      description: 'DawnNode pools to host the agent'
    })),
    nodeSelector: Type.Optional(Type.Object({
      matchLabels: Type.Record(Type.String(), Type.String(), { description: 'labels of the DawnNode pools to host the agent' })
    }, { additionalProperties: false }))
  }, {
    additionalProperties: false,
    default: {},
    description: 'which pools host the agent; every pool of the network when empty',
    ...cel({ rule: '!(has(self.nodes) && has(self.nodeSelector))', message: 'set at most one of placement.nodes and placement.nodeSelector' })
  }),
  builtin: Type.Optional(Type.Object({
    name: BuiltinAgentConfig.properties.builtin,
    settings: Type.Optional(PreservedObject<Record<string, unknown>>('settings passed to the built-in agent'))
  }, { additionalProperties: false, description: 'run an agent built into dawn-node' })),
  remote: Type.Optional(Type.Object({
    url: RemoteAgentConfig.properties.url,
    headersSecretRef: Type.Optional(SecretKeyRef('headers.json', 'a Secret key holding a JSON object of HTTP headers (e.g. Authorization) for the MCP server'))
  }, { additionalProperties: false, description: 'reach an MCP server over Streamable HTTP' })),
  image: Type.Optional(Type.Object({
    image: Type.String({ minLength: 1, maxLength: 1024, description: 'an image serving MCP over Streamable HTTP' }),
    imagePullPolicy: Type.Optional(ImagePullPolicy),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 8080 }),
    path: Type.String({ pattern: '^/[^\\s]*$', maxLength: 1024, default: '/mcp', description: 'HTTP path of the MCP endpoint' }),
    replicas: Type.Integer({ minimum: 0, maximum: 100, default: 1 }),
    env: Type.Optional(Type.Array(EnvVar, { maxItems: 256, 'x-kubernetes-list-type': 'atomic' })),
    resources: Type.Optional(ResourceRequirements)
  }, { additionalProperties: false, description: 'run an MCP server image as a Deployment + Service that the nodes call' })),
  tools: Type.Optional(AgentToolsSchema)
}, {
  additionalProperties: false,
  ...cel({
    rule: '(has(self.builtin) ? 1 : 0) + (has(self.remote) ? 1 : 0) + (has(self.image) ? 1 : 0) == 1',
    message: 'set exactly one agent runtime: spec.builtin, spec.remote or spec.image'
  })
})
export type DawnAgentSpec = Static<typeof DawnAgentSpecSchema>

export const DawnAgentStatusSchema = Type.Object({
  observedGeneration: Type.Optional(ObservedGeneration),
  conditions: Type.Optional(Conditions),
  nodes: Type.Optional(Type.Array(Type.String(), { maxItems: 1024, 'x-kubernetes-list-type': 'atomic', description: 'pools hosting the agent' })),
  tools: Type.Optional(Type.Array(Type.String(), { maxItems: 1024, 'x-kubernetes-list-type': 'atomic', description: 'names of the tools the agent exposes (see discoveredTools)' })),
  endpoint: Type.Optional(Type.String({ description: 'URL the nodes call (image and remote runtimes)' })),
  ...AgentServingStatusSchema
}, { additionalProperties: false })
export type DawnAgentStatus = Static<typeof DawnAgentStatusSchema>

export const DawnAgentSchema = resourceSchema('DawnAgent', DawnAgentSpecSchema, DawnAgentStatusSchema, [
  {
    rule: `self.metadata.name.matches('${DNS1123_LABEL}')`,
    message: 'metadata.name must hold only lowercase letters, digits and "-" (a DNS label): it is the default agentId and names the agent\'s Service'
  },
  {
    rule: `size(self.metadata.name) <= ${MAX_AGENT_NAME_LENGTH}`,
    message: `metadata.name must be at most ${MAX_AGENT_NAME_LENGTH} characters: the agent's Service is ${AGENT_SERVICE_PREFIX}<name>, which must fit in 63`
  }
])
export type DawnAgent = Static<typeof DawnAgentSchema>

export const DawnAgentCrd: CrdInfo = {
  kind: 'DawnAgent',
  plural: 'dawnagents',
  singular: 'dawnagent',
  shortNames: ['dagent'],
  schema: DawnAgentSchema,
  printerColumns: [
    { name: 'Network', type: 'string', jsonPath: '.spec.networkRef.name' },
    { name: 'Agent ID', type: 'string', jsonPath: '.spec.agentId', priority: 1 },
    { name: 'Nodes', type: 'string', jsonPath: '.status.nodes' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Replicas', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Tools', type: 'integer', jsonPath: '.status.toolCount' },
    { name: 'Serving', type: 'string', jsonPath: '.status.conditions[?(@.type=="Serving")].status', priority: 1 },
    { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }
  ],
  selectableFields: ['.spec.networkRef.name']
}

/** The agent id nodes register: spec.agentId, or metadata.name. */
export function effectiveAgentId (agent: Pick<DawnAgent, 'metadata' | 'spec'>): string {
  const id = agent.spec.agentId ?? agent.metadata.name
  if (id === undefined || id === '') throw new ResourceValidationError('DawnAgent', ['metadata.name: required when spec.agentId is unset'])
  return id
}

export type AgentRuntime = 'builtin' | 'remote' | 'image'

/** Which runtime the agent uses (the CRD guarantees exactly one). */
export function agentRuntime (agent: Pick<DawnAgent, 'metadata' | 'spec'>): AgentRuntime {
  if (agent.spec.builtin !== undefined) return 'builtin'
  if (agent.spec.remote !== undefined) return 'remote'
  if (agent.spec.image !== undefined) return 'image'
  throw new ResourceValidationError(`DawnAgent ${agent.metadata.name ?? ''}`, ['spec: set exactly one agent runtime: spec.builtin, spec.remote or spec.image'])
}
