// A pool's StatefulSet: the identity init container, the dawn-node container, the Kubo sidecar, and their volumes.
import type { V1Affinity, V1Container, V1EnvVar, V1PersistentVolumeClaim, V1PodSpec, V1StatefulSet, V1Volume } from '@kubernetes/client-node'
import { KINDS } from '../api/group.ts'
import type { DawnNetwork } from '../api/dawn-network.ts'
import type { DawnNode } from '../api/dawn-node.ts'
import { announceAddressTemplate, compareStrings } from './addresses.ts'
import { identityInitContainer, identityVolumes, nodeIdentityEnv, nodeIdentityMount } from './identity-init.ts'
import { CONFIG_CHECKSUM_ANNOTATION, nameOf, namespaceOf, ownerReference, poolLabels, poolSelectorLabels } from './labels.ts'
import { kuboContainer, kuboInitContainer, PSK_VOLUME } from './kubo.ts'
import { agentHeadersSecretName, configMapName, headlessServiceName, pvcName, statefulSetName, VOLUME_CLAIMS } from './names.ts'
import { swarmKeySecretRef } from './network-secrets.ts'
import {
  AGENTS_DIR, CA_DIR, CA_PUBLIC_KEY_FILE_NAME, CONFIG_DIR, CONFIG_FILE, CONFIG_FILE_NAME, DATA_DIR, PSK_DIR, SWARM_KEY_FILE_NAME
} from './paths.ts'
import { containerResources } from './resources.ts'
import { restrictedContainerSecurityContext, restrictedPodSecurityContext, SECRET_MODE, tmpMount, tmpVolume } from './security.ts'
import { HTTP_PORT_NAME, P2P_PORT_NAME } from './services.ts'

export { POD_INDEX_LABEL } from './identity-init.ts'
export const NODE_CONTAINER = 'node'

const VOLUMES = { config: 'config', ca: 'ca', agentHeaders: 'agent-headers' } as const

export interface RenderStatefulSetInput {
  network: DawnNetwork
  pool: DawnNode
  /** configChecksum(...) of this pool. */
  configChecksum: string
}

export function renderStatefulSet (input: RenderStatefulSetInput): V1StatefulSet {
  const { network, pool } = input
  const name = nameOf(pool, KINDS.node)
  const privateSwarm = network.spec.ipfs.privateSwarm
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: {
      name: statefulSetName(name),
      namespace: namespaceOf(pool, KINDS.node),
      labels: poolLabels(pool),
      ownerReferences: [ownerReference(KINDS.node, pool)]
    },
    spec: {
      replicas: pool.spec.replicas,
      serviceName: headlessServiceName(name),
      // Nodes need each other to become ready; ordered start-up would deadlock on the first.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: poolSelectorLabels(pool) },
      updateStrategy: { type: 'RollingUpdate' },
      // Volumes outlive scale-down, like the identities: ordinal 3 comes back as itself.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      template: {
        metadata: {
          labels: poolLabels(pool),
          annotations: {
            [CONFIG_CHECKSUM_ANNOTATION]: input.configChecksum,
            'kubectl.kubernetes.io/default-container': NODE_CONTAINER
          }
        },
        spec: podSpec(network, pool, privateSwarm)
      },
      volumeClaimTemplates: [
        volumeClaim(pool, VOLUME_CLAIMS.data, pool.spec.storage.size),
        volumeClaim(pool, VOLUME_CLAIMS.kubo, pool.spec.kubo.storageSize)
      ]
    }
  }
}

function podSpec (network: DawnNetwork, pool: DawnNode, privateSwarm: boolean): V1PodSpec {
  const { scheduling } = pool.spec
  const spec: V1PodSpec = {
    // The node never talks to the Kubernetes API.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: restrictedPodSecurityContext(),
    terminationGracePeriodSeconds: 30,
    initContainers: [identityInitContainer(pool), kuboInitContainer(pool, privateSwarm)],
    containers: [nodeContainer(network, pool), kuboContainer(pool, privateSwarm)],
    volumes: volumes(network, pool),
    affinity: scheduling.affinity ?? spreadAcrossHosts(pool)
  }
  if (scheduling.nodeSelector !== undefined) spec.nodeSelector = scheduling.nodeSelector
  if (scheduling.tolerations !== undefined) spec.tolerations = scheduling.tolerations
  if (scheduling.priorityClassName !== undefined) spec.priorityClassName = scheduling.priorityClassName
  return spec
}

function nodeContainer (network: DawnNetwork, pool: DawnNode): V1Container {
  const resources = containerResources(pool.spec.resources)
  const env: V1EnvVar[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ...nodeIdentityEnv(),
    { name: 'DAWN_ANNOUNCE', value: announceAddressTemplate(pool, network.spec.clusterDomain) }
  ]
  return {
    name: NODE_CONTAINER,
    image: pool.spec.image,
    ...(pool.spec.imagePullPolicy === undefined ? {} : { imagePullPolicy: pool.spec.imagePullPolicy }),
    args: ['run', '--config', CONFIG_FILE],
    env,
    ports: [
      { name: P2P_PORT_NAME, containerPort: pool.spec.ports.p2p, protocol: 'TCP' },
      { name: HTTP_PORT_NAME, containerPort: pool.spec.ports.http, protocol: 'TCP' }
    ],
    startupProbe: { httpGet: { path: '/healthz', port: HTTP_PORT_NAME }, periodSeconds: 2, failureThreshold: 60 },
    livenessProbe: { httpGet: { path: '/healthz', port: HTTP_PORT_NAME }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: '/readyz', port: HTTP_PORT_NAME }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
    ...(resources === undefined ? {} : { resources }),
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [
      // Whole directories, never subPath: the kubelet updates them in place and the node reloads agents live.
      { name: VOLUMES.config, mountPath: CONFIG_DIR, readOnly: true },
      { name: VOLUMES.ca, mountPath: CA_DIR, readOnly: true },
      // This pod's key only, never the pool's identity Secret.
      nodeIdentityMount(),
      { name: PSK_VOLUME, mountPath: PSK_DIR, readOnly: true },
      { name: VOLUMES.agentHeaders, mountPath: AGENTS_DIR, readOnly: true },
      { name: VOLUME_CLAIMS.data, mountPath: DATA_DIR },
      tmpMount()
    ]
  }
}

function volumes (network: DawnNetwork, pool: DawnNode): V1Volume[] {
  const name = nameOf(pool, KINDS.node)
  const psk = swarmKeySecretRef(network)
  return [
    { name: VOLUMES.config, configMap: { name: configMapName(name), items: [{ key: CONFIG_FILE_NAME, path: CONFIG_FILE_NAME }] } },
    // Only the public half of the CA, from the ConfigMap; ca.key stays in its Secret.
    { name: VOLUMES.ca, configMap: { name: configMapName(name), items: [{ key: CA_PUBLIC_KEY_FILE_NAME, path: CA_PUBLIC_KEY_FILE_NAME }] } },
    ...identityVolumes(name),
    { name: PSK_VOLUME, secret: { secretName: psk.name, items: [{ key: psk.key, path: SWARM_KEY_FILE_NAME }], defaultMode: SECRET_MODE } },
    // Optional: a pool without remote agents still starts before the operator has written it.
    { name: VOLUMES.agentHeaders, secret: { secretName: agentHeadersSecretName(name), optional: true, defaultMode: SECRET_MODE } },
    tmpVolume()
  ]
}

function volumeClaim (pool: DawnNode, claim: string, size: string): V1PersistentVolumeClaim {
  const { storageClassName } = pool.spec.storage
  return {
    metadata: { name: claim, labels: poolSelectorLabels(pool) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClassName === undefined ? {} : { storageClassName }),
      resources: { requests: { storage: size } }
    }
  }
}

/** Without user affinity, a pool's pods prefer different hosts, so one host failure takes out one node. */
function spreadAcrossHosts (pool: DawnNode): V1Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: poolSelectorLabels(pool) } }
      }]
    }
  }
}

/**
 * Volume claim templates are immutable: when storage grows, the controller must resize
 * the existing PVCs (see pvcResizes) and re-create the StatefulSet with orphan deletion,
 * which keeps the pods and volumes. True when the current StatefulSet needs that.
 */
export function volumeClaimTemplatesChanged (current: V1StatefulSet, desired: V1StatefulSet): boolean {
  const sizes = (sts: V1StatefulSet): string => JSON.stringify((sts.spec?.volumeClaimTemplates ?? [])
    .map(t => ({ name: t.metadata?.name ?? '', size: t.spec?.resources?.requests?.storage ?? '', storageClass: t.spec?.storageClassName ?? '' }))
    .sort((a, b) => compareStrings(a.name, b.name)))
  return sizes(current) !== sizes(desired)
}

/** The PVCs of `ordinals` and the size each should request. */
export function pvcResizes (pool: DawnNode, ordinals: readonly number[]): Array<{ name: string, size: string }> {
  const name = nameOf(pool, KINDS.node)
  return [...ordinals].sort((a, b) => a - b).flatMap(ordinal => [
    { name: pvcName(VOLUME_CLAIMS.data, name, ordinal), size: pool.spec.storage.size },
    { name: pvcName(VOLUME_CLAIMS.kubo, name, ordinal), size: pool.spec.kubo.storageSize }
  ])
}
