// Names of the objects the operator creates, in one place.
import { AGENT_SERVICE_PREFIX } from '../api/dawn-agent.ts'

export const headlessServiceName = (pool: string): string => `${pool}-headless`
export const clientServiceName = (pool: string): string => pool
export const statefulSetName = (pool: string): string => pool
export const podDisruptionBudgetName = (pool: string): string => pool
export const configMapName = (pool: string): string => `${pool}-config`
export const identitySecretName = (pool: string): string => `${pool}-identity`
export const agentHeadersSecretName = (pool: string): string => `${pool}-agent-headers`
export const podName = (pool: string, ordinal: number): string => `${pool}-${ordinal}`

/** Secrets the operator generates for a network without user-provided refs. */
export const operatorSwarmKeySecretName = (network: string): string => `${network}-swarm-key`
export const operatorCaSecretName = (network: string): string => `${network}-ca`

/** Deployment and Service of an image-runtime agent. */
export const agentWorkloadName = (agent: string): string => `${AGENT_SERVICE_PREFIX}${agent}`

/** StatefulSet volume claim templates; PVCs are `<claim>-<pool>-<ordinal>`. */
export const VOLUME_CLAIMS = { data: 'data', kubo: 'kubo' } as const
export const pvcName = (claim: string, pool: string, ordinal: number): string => `${claim}-${pool}-${ordinal}`
