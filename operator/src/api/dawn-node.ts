import Type from 'typebox'
import type { Static } from 'typebox'
import type { V1Affinity, V1Toleration } from '@kubernetes/client-node'
import { NodeConfigSchema } from '@dawn/node-image/config'
import {
  cel, Conditions, DNS1035_LABEL, ImagePullPolicy, LocalObjectRef, ObservedGeneration, PreservedObject,
  ResourceRequirements, resourceSchema, StorageQuantity
} from './common.ts'
import type { CrdInfo } from './crd-info.ts'

/** Ports the Kubo sidecar uses inside every pod; the node's own ports must avoid them. */
export const KUBO_SWARM_PORT = 4002
export const KUBO_API_PORT = 5001

/**
 * Pods are `<name>-<ordinal>` and carry `controller-revision-hash: <name>-<10-char hash>`,
 * a label value limited to 63 characters: StatefulSet names longer than 52 fail to roll out.
 */
export const MAX_POOL_NAME_LENGTH = 52
export const MAX_REPLICAS = 100

const Port = (defaultPort: number, description: string): ReturnType<typeof Type.Integer> =>
  Type.Integer({ minimum: 1024, maximum: 65535, default: defaultPort, description })

const growOnly = (field: string, what: string): { rule: string, message: string } => ({
  rule: `quantity(self.${field}).compareTo(quantity(oldSelf.${field})) >= 0`,
  message: `${what} can only grow: Kubernetes cannot shrink a volume; set it back to at least its previous value`
})
const positive = (field: string, what: string): { rule: string, message: string } => ({
  rule: `quantity(self.${field}).isGreaterThan(quantity('0'))`,
  message: `${what} must be greater than zero, e.g. 1Gi`
})

const logLevel = NodeConfigSchema.properties.log.properties.level

export const DawnNodeSpecSchema = Type.Object({
  networkRef: Type.Object({
    name: Type.String({ minLength: 1, maxLength: 63, description: 'the DawnNetwork (in this namespace) this pool joins' })
  }, {
    additionalProperties: false,
    description: 'the network of this pool; immutable',
    ...cel({ rule: 'self == oldSelf', message: 'networkRef is immutable: a pool cannot move to another network; create a new DawnNode instead' })
  }),
  replicas: Type.Integer({ minimum: 0, maximum: MAX_REPLICAS, default: 3, description: 'number of nodes in this pool' }),
  image: Type.String({ minLength: 1, maxLength: 1024, default: 'dawn/node:0.1.0', description: 'the dawn-node image' }),
  imagePullPolicy: Type.Optional(ImagePullPolicy),
  resources: Type.Optional(ResourceRequirements),
  storage: Type.Object({
    size: StorageQuantity('1Gi', 'size of each node\'s data volume; can only grow'),
    storageClassName: Type.Optional(Type.String({ minLength: 1, maxLength: 253, description: 'StorageClass of the data volumes; immutable' }))
  }, {
    additionalProperties: false,
    default: {},
    description: 'the data volume (/var/lib/dawn) of each node',
    ...cel(
      positive('size', 'storage.size'),
      growOnly('size', 'storage.size'),
      {
        rule: 'has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)',
        message: 'storage.storageClassName is immutable: existing volumes keep their class; create a new DawnNode to use another class'
      }
    )
  }),
  kubo: Type.Object({
    image: Type.String({ minLength: 1, maxLength: 1024, default: 'ipfs/kubo:v0.38.1', description: 'the Kubo (IPFS) sidecar image' }),
    imagePullPolicy: Type.Optional(ImagePullPolicy),
    resources: Type.Optional(ResourceRequirements),
    storageSize: StorageQuantity('2Gi', 'size of each Kubo repository volume; can only grow')
  }, {
    additionalProperties: false,
    default: {},
    description: 'the Kubo sidecar that stores content',
    ...cel(positive('storageSize', 'kubo.storageSize'), growOnly('storageSize', 'kubo.storageSize'))
  }),
  roles: Type.Object({
    bootstrap: Type.Boolean({ default: true, description: 'other nodes of the network bootstrap from this pool' }),
    relay: Type.Boolean({ default: false, description: 'serve circuit relay v2 for nodes that cannot be dialed directly' })
  }, { additionalProperties: false, default: {} }),
  ports: Type.Object({
    p2p: Port(4001, 'libp2p TCP port'),
    http: Port(8080, 'HTTP port: API, /mcp, /metrics, health, web UI')
  }, {
    additionalProperties: false,
    default: {},
    ...cel(
      { rule: 'self.p2p != self.http', message: 'ports.p2p and ports.http must differ' },
      {
        rule: `!(self.p2p in [${KUBO_SWARM_PORT}, ${KUBO_API_PORT}]) && !(self.http in [${KUBO_SWARM_PORT}, ${KUBO_API_PORT}])`,
        message: `ports.p2p and ports.http must not be ${KUBO_SWARM_PORT} or ${KUBO_API_PORT}: the Kubo sidecar in the same pod listens there`
      }
    )
  }),
  identitySecretRef: Type.Optional(LocalObjectRef('a Secret with your own node keys, `<ordinal>.key` (Ed25519 PKCS#8 PEM); ordinals without a key get a generated one')),
  scheduling: Type.Object({
    nodeSelector: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'pod nodeSelector' })),
    tolerations: Type.Optional(Type.Array(PreservedObject<V1Toleration>('a pod toleration'), { maxItems: 64, 'x-kubernetes-list-type': 'atomic' })),
    affinity: Type.Optional(PreservedObject<V1Affinity>('pod affinity; by default pods of a pool prefer different hosts')),
    priorityClassName: Type.Optional(Type.String({ minLength: 1, maxLength: 253 }))
  }, { additionalProperties: false, default: {}, description: 'where the pods run' }),
  podDisruptionBudget: Type.Object({
    enabled: Type.Boolean({ default: true, description: 'create a PodDisruptionBudget when replicas > 1' }),
    maxUnavailable: Type.Integer({ minimum: 1, maximum: MAX_REPLICAS, default: 1 })
  }, { additionalProperties: false, default: {} }),
  logLevel: Type.Union(logLevel.anyOf, { default: (logLevel as { default?: unknown }).default, description: 'node log level' })
}, { additionalProperties: false })
export type DawnNodeSpec = Static<typeof DawnNodeSpecSchema>

export const PeerStatusSchema = Type.Object({
  ordinal: Type.Integer({ minimum: 0 }),
  pod: Type.String(),
  peerId: Type.String({ description: 'libp2p peer id, derived from the node key' }),
  address: Type.String({ description: 'dialable multiaddr, with /p2p/<peerId>' })
}, { additionalProperties: false })
export type PeerStatus = Static<typeof PeerStatusSchema>

export const DawnNodeStatusSchema = Type.Object({
  observedGeneration: Type.Optional(ObservedGeneration),
  conditions: Type.Optional(Conditions),
  replicas: Type.Optional(Type.Integer({ minimum: 0, description: 'pods that exist (scale subresource)' })),
  readyReplicas: Type.Optional(Type.Integer({ minimum: 0 })),
  selector: Type.Optional(Type.String({ description: 'label selector of the pods (scale subresource)' })),
  networkName: Type.Optional(Type.String({ description: 'the effective network name' })),
  peers: Type.Optional(Type.Array(PeerStatusSchema, {
    maxItems: MAX_REPLICAS,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['ordinal'],
    description: 'peer id and address of each ordinal'
  }))
}, { additionalProperties: false })
export type DawnNodeStatus = Static<typeof DawnNodeStatusSchema>

export const DawnNodeSchema = resourceSchema('DawnNode', DawnNodeSpecSchema, DawnNodeStatusSchema, [
  {
    rule: `self.metadata.name.matches('${DNS1035_LABEL}')`,
    message: 'metadata.name must start with a lowercase letter and hold only lowercase letters, digits and "-": it names the pool\'s Services and pods'
  },
  {
    rule: `size(self.metadata.name) <= ${MAX_POOL_NAME_LENGTH}`,
    message: `metadata.name must be at most ${MAX_POOL_NAME_LENGTH} characters: pods are named <name>-<ordinal> and labelled controller-revision-hash=<name>-<hash>, which must fit in 63`
  }
])
export type DawnNode = Static<typeof DawnNodeSchema>

export const DawnNodeCrd: CrdInfo = {
  kind: 'DawnNode',
  plural: 'dawnnodes',
  singular: 'dawnnode',
  shortNames: ['dnode'],
  schema: DawnNodeSchema,
  printerColumns: [
    { name: 'Network', type: 'string', jsonPath: '.spec.networkRef.name' },
    { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
    { name: 'Ready Replicas', type: 'integer', jsonPath: '.status.readyReplicas' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Image', type: 'string', jsonPath: '.spec.image', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }
  ],
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
  selectableFields: ['.spec.networkRef.name']
}
