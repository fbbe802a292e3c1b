// DawnAgent → what runs it (image runtime: Deployment + Service), where it is placed,
// and the entry nodes get in their config.
import type { V1Deployment, V1Service } from '@kubernetes/client-node'
import type { AgentConfig } from '@dawn/node-image/config'
import { KINDS } from '../api/group.ts'
import { effectiveAgentId, type DawnAgent } from '../api/dawn-agent.ts'
import type { DawnNode } from '../api/dawn-node.ts'
import { RenderInputError } from './errors.ts'
import { agentLabels, agentSelectorLabels, nameOf, namespaceOf, ownerReference } from './labels.ts'
import { agentWorkloadName } from './names.ts'
import { agentHeadersFile } from './paths.ts'
import { containerResources } from './resources.ts'
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, tmpMount, tmpVolume } from './security.ts'
import { compareStrings } from './addresses.ts'

const MCP_PORT_NAME = 'mcp'

/**
 * Names of the pools (DawnNodes) that host the agent: same namespace and network,
 * then placement.nodes or placement.nodeSelector, or every pool when neither is set.
 */
export function resolvePlacement (agent: DawnAgent, pools: readonly DawnNode[]): string[] {
  const candidates = pools.filter(p => p.metadata.namespace === agent.metadata.namespace && p.spec.networkRef.name === agent.spec.networkRef.name)
  const { nodes, nodeSelector } = agent.spec.placement
  let chosen = candidates
  if (nodes !== undefined) {
    chosen = candidates.filter(p => nodes.includes(p.metadata.name ?? ''))
  } else if (nodeSelector !== undefined) {
    chosen = candidates.filter(p => Object.entries(nodeSelector.matchLabels).every(([k, v]) => p.metadata.labels?.[k] === v))
  }
  return [...new Set(chosen.map(p => nameOf(p, KINDS.node)))].sort(compareStrings)
}

/** Pools named in placement.nodes that are not pools of the agent's network (for a condition message). */
export function unknownPlacementNodes (agent: DawnAgent, pools: readonly DawnNode[]): string[] {
  const known = new Set(resolvePlacement({ ...agent, spec: { ...agent.spec, placement: {} } }, pools))
  return (agent.spec.placement.nodes ?? []).filter(n => !known.has(n)).sort(compareStrings)
}

/** The URL nodes call: the agent's Service for the image runtime, the URL for remote; none for built-ins. */
export function agentEndpoint (agent: DawnAgent, clusterDomain: string): string | undefined {
  const { image, remote } = agent.spec
  if (remote !== undefined) return remote.url
  if (image === undefined) return undefined
  const host = `${agentWorkloadName(nameOf(agent, KINDS.agent))}.${namespaceOf(agent, KINDS.agent)}.svc.${clusterDomain}`
  return `http://${host}:${image.port}${image.path}`
}

/** The node config entry for the agent. */
export function nodeAgentEntry (agent: DawnAgent, clusterDomain: string): AgentConfig {
  const id = effectiveAgentId(agent)
  const description = agent.spec.description
  const { builtin, remote, image } = agent.spec
  if (builtin !== undefined) {
    return { id, kind: 'builtin', description, builtin: builtin.name, ...(builtin.settings === undefined ? {} : { settings: builtin.settings }) }
  }
  if (remote !== undefined) {
    const headers = remote.headersSecretRef === undefined ? {} : { headersFile: agentHeadersFile(nameOf(agent, KINDS.agent)) }
    return { id, kind: 'remote', description, url: remote.url, ...headers }
  }
  if (image !== undefined) {
    return { id, kind: 'remote', description, url: agentEndpoint(agent, clusterDomain) ?? '' }
  }
  throw new RenderInputError(`DawnAgent ${agent.metadata.name ?? ''} sets no runtime (spec.builtin, spec.remote or spec.image)`)
}

function imageSpec (agent: DawnAgent): NonNullable<DawnAgent['spec']['image']> {
  const image = agent.spec.image
  if (image === undefined) throw new RenderInputError(`DawnAgent ${agent.metadata.name ?? ''} does not use the image runtime`)
  return image
}

export function renderAgentDeployment (agent: DawnAgent): V1Deployment {
  const spec = imageSpec(agent)
  const name = agentWorkloadName(nameOf(agent, KINDS.agent))
  const resources = containerResources(spec.resources)
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: namespaceOf(agent, KINDS.agent), labels: agentLabels(agent), ownerReferences: [ownerReference(KINDS.agent, agent)] },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: agentSelectorLabels(agent) },
      template: {
        metadata: { labels: agentLabels(agent) },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: restrictedPodSecurityContext(),
          containers: [{
            name: 'agent',
            image: spec.image,
            ...(spec.imagePullPolicy === undefined ? {} : { imagePullPolicy: spec.imagePullPolicy }),
            ports: [{ name: MCP_PORT_NAME, containerPort: spec.port, protocol: 'TCP' }],
            ...(spec.env === undefined ? {} : { env: spec.env }),
            ...(resources === undefined ? {} : { resources }),
            readinessProbe: { tcpSocket: { port: MCP_PORT_NAME }, periodSeconds: 5 },
            livenessProbe: { tcpSocket: { port: MCP_PORT_NAME }, periodSeconds: 10, failureThreshold: 6 },
            securityContext: restrictedContainerSecurityContext(),
            volumeMounts: [tmpMount()]
          }],
          volumes: [tmpVolume()]
        }
      }
    }
  }
}

export function renderAgentService (agent: DawnAgent): V1Service {
  const spec = imageSpec(agent)
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: agentWorkloadName(nameOf(agent, KINDS.agent)),
      namespace: namespaceOf(agent, KINDS.agent),
      labels: agentLabels(agent),
      ownerReferences: [ownerReference(KINDS.agent, agent)]
    },
    spec: {
      type: 'ClusterIP',
      selector: agentSelectorLabels(agent),
      ports: [{ name: MCP_PORT_NAME, port: spec.port, targetPort: MCP_PORT_NAME, protocol: 'TCP', appProtocol: 'http' }]
    }
  }
}
