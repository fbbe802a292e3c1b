// The Dawn API (mesh.dawn.dev/v1alpha1): schemas, TypeScript types, validators and CRDs.
export { API_VERSION, CATEGORY, GROUP, KINDS, VERSION } from './group.ts'
export {
  ConditionSchema, DATA_KEY, DNS1035_LABEL, DNS1123_LABEL, DNS1123_SUBDOMAIN, QUANTITY, cel
} from './common.ts'
export type { CelRule, Condition, ResourceRequirements } from './common.ts'
export {
  DawnNetworkCrd, DawnNetworkSchema, DawnNetworkSpecSchema, DawnNetworkStatusSchema, effectiveNetworkName
} from './dawn-network.ts'
export type { DawnNetwork, DawnNetworkSpec, DawnNetworkStatus } from './dawn-network.ts'
export {
  DawnNodeCrd, DawnNodeSchema, DawnNodeSpecSchema, DawnNodeStatusSchema, PeerStatusSchema,
  KUBO_API_PORT, KUBO_SWARM_PORT, MAX_POOL_NAME_LENGTH, MAX_REPLICAS
} from './dawn-node.ts'
export type { DawnNode, DawnNodeSpec, DawnNodeStatus, PeerStatus } from './dawn-node.ts'
export {
  AGENT_SERVICE_PREFIX, DawnAgentCrd, DawnAgentSchema, DawnAgentSpecSchema, DawnAgentStatusSchema, MAX_AGENT_NAME_LENGTH,
  agentRuntime, effectiveAgentId
} from './dawn-agent.ts'
export type { AgentRuntime, DawnAgent, DawnAgentSpec, DawnAgentStatus } from './dawn-agent.ts'
export {
  AgentToolsSchema, MAX_DISCOVERED_TOOLS, MAX_STATUS_COLLISIONS, MAX_STATUS_DESCRIPTION, MAX_STATUS_DIFFERENCES
} from './agent-tools.ts'
export type { AgentTools } from './agent-tools.ts'
export { ResourceValidationError } from './errors.ts'
export { dawnAgentValidator, dawnNetworkValidator, dawnNodeValidator } from './validate.ts'
export type { ResourceValidator } from './validate.ts'
export { NonStructuralSchemaError, toStructuralSchema } from './crd-schema.ts'
export type { StructuralSchema } from './crd-schema.ts'
export { CRD_INFOS, GEN_CRDS_COMMAND, buildCrd, renderCrdFiles } from './crds.ts'
export type { CustomResourceDefinition } from './crds.ts'
export type { CrdInfo, PrinterColumn } from './crd-info.ts'
