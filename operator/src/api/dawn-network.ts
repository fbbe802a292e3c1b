import Type from 'typebox'
import type { Static } from 'typebox'
import { DNS_LABEL } from '@dawn/node-image/config'
import { NamingMode } from '@dawn/node-image/mcp-views'
import {
  Conditions, DNS1123_LABEL, DNS1123_SUBDOMAIN, LocalObjectRef, ObservedGeneration, resourceSchema, SecretKeyRef
} from './common.ts'
import type { CrdInfo } from './crd-info.ts'
import { ResourceValidationError } from './errors.ts'

const Toggle = (description: string): ReturnType<typeof Type.Boolean> => Type.Boolean({ default: true, description })

/** A Prometheus duration such as `30s`, `5m` or `1h30m`. */
const DURATION = '^([0-9]+(ms|s|m|h|d|w|y))+$'
const LABEL_NAME = '^[a-zA-Z_][a-zA-Z0-9_]*$'
const Duration = (description: string, defaultValue: string): ReturnType<typeof Type.String> =>
  Type.String({ pattern: DURATION, maxLength: 32, default: defaultValue, description })

export const AlertMatcherSchema = Type.Object({
  name: Type.String({ pattern: LABEL_NAME, maxLength: 128, description: 'alert label to match' }),
  value: Type.String({ maxLength: 1024, description: 'value (or RE2 regular expression for =~ and !~)' }),
  matchType: Type.Union([Type.Literal('='), Type.Literal('!='), Type.Literal('=~'), Type.Literal('!~')], { default: '=', description: 'how the value matches' })
}, { additionalProperties: false })
export type AlertMatcher = Static<typeof AlertMatcherSchema>

export const MonitoringSchema = Type.Object({
  podMonitor: Toggle('create a PodMonitor (monitoring.coreos.com/v1) that scrapes every node of the network, when its CRD exists'),
  prometheusRule: Toggle('create a PrometheusRule with the Dawn alerts scoped to this network, when its CRD exists'),
  alertmanagerConfig: Type.Object({
    enabled: Toggle('create an AlertmanagerConfig (monitoring.coreos.com/v1alpha1) routing this network\'s alerts, when its CRD exists and receiver.webhook is set'),
    receiver: Type.Object({
      name: Type.String({
        pattern: DNS1123_LABEL,
        maxLength: 63,
        default: 'dawn',
        description: 'receiver name; without webhook, the receiver of that name in your own Alertmanager configuration (plain alertmanager.yml only: an AlertmanagerConfig can route only to receivers it defines)'
      }),
      webhook: Type.Optional(Type.Object({
        urlSecretRef: SecretKeyRef('url', 'a Secret in this namespace holding the webhook URL (it often carries a token)'),
        sendResolved: Type.Boolean({ default: true, description: 'also notify when an alert resolves' })
      }, { additionalProperties: false, description: 'an Alertmanager webhook receiver' }))
    }, { additionalProperties: false, default: {}, description: 'where the network\'s alerts go' }),
    groupBy: Type.Array(Type.String({ pattern: LABEL_NAME, maxLength: 128 }), {
      maxItems: 16,
      default: ['alertname', 'namespace', 'network'],
      'x-kubernetes-list-type': 'atomic',
      description: 'labels that group alerts into one notification'
    }),
    groupWait: Duration('wait before the first notification of a group', '30s'),
    groupInterval: Duration('wait before notifying about new alerts of a group', '5m'),
    repeatInterval: Duration('wait before repeating a notification', '4h'),
    matchers: Type.Array(AlertMatcherSchema, {
      maxItems: 16,
      default: [],
      'x-kubernetes-list-type': 'atomic',
      description: 'further matchers, ANDed with the network\'s own (namespace and network labels), e.g. severity=critical'
    })
  }, { additionalProperties: false, default: {}, description: 'Alertmanager routing of this network\'s alerts' }),
  grafanaDashboard: Toggle('create a ConfigMap holding the Grafana dashboard, labelled grafana_dashboard: "1" for the Grafana sidecar'),
  labels: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 63 }), {
    maxProperties: 32,
    description: 'extra labels on every monitoring object, so a Prometheus podMonitorSelector/ruleSelector or an Alertmanager alertmanagerConfigSelector picks them up; the operator\'s own labels win'
  })),
  interval: Duration('how often Prometheus scrapes each node', '30s')
}, { additionalProperties: false, default: {}, description: 'Prometheus, Alertmanager and Grafana objects for the network' })
export type MonitoringSpec = Static<typeof MonitoringSchema>

export const DawnNetworkSpecSchema = Type.Object({
  networkName: Type.Optional(Type.String({
    pattern: DNS_LABEL,
    maxLength: 63,
    description: 'the mesh name used in protocol ids and certificates; defaults to metadata.name; immutable'
  })),
  clusterDomain: Type.String({
    default: 'cluster.local',
    pattern: DNS1123_SUBDOMAIN,
    maxLength: 253,
    description: 'the cluster DNS domain used in node addresses'
  }),
  privateNetwork: Type.Object({
    swarmKeySecretRef: Type.Optional(SecretKeyRef('swarm.key', 'a Secret holding the libp2p/Kubo swarm.key (PSK); generated into <name>-swarm-key when unset'))
  }, { additionalProperties: false, default: {}, description: 'private-network pre-shared key' }),
  membership: Type.Object({
    caSecretRef: Type.Optional(LocalObjectRef('a Secret holding the membership CA (ca.key, Ed25519 PKCS#8 PEM); generated into <name>-ca when unset')),
    certificateValidityDays: Type.Integer({ minimum: 1, maximum: 3650, default: 365, description: 'lifetime of node membership certificates; renewed before expiry' })
  }, { additionalProperties: false, default: {}, description: 'membership CA and certificates' }),
  encryption: Type.Object({
    policy: Type.Union([Type.Literal('required'), Type.Literal('preferred')], {
      default: 'required',
      description: 'required: tool calls are always end-to-end encrypted; preferred: encrypted when both nodes support it'
    })
  }, { additionalProperties: false, default: {} }),
  ipfs: Type.Object({
    replicationFactor: Type.Integer({ minimum: 1, maximum: 16, default: 2, description: 'how many nodes keep each piece of content' }),
    privateSwarm: Type.Boolean({ default: true, description: 'run the Kubo sidecars in a private swarm keyed by the network PSK' })
  }, { additionalProperties: false, default: {} }),
  mcp: Type.Object({
    naming: NamingMode
  }, { additionalProperties: false, default: {}, description: 'what every node\'s /mcp shows; the same on every node, applied without restarting pods' }),
  monitoring: MonitoringSchema
}, { additionalProperties: false, default: {} })
export type DawnNetworkSpec = Static<typeof DawnNetworkSpecSchema>

export const DawnNetworkStatusSchema = Type.Object({
  observedGeneration: Type.Optional(ObservedGeneration),
  conditions: Type.Optional(Conditions),
  networkName: Type.Optional(Type.String({ description: 'the effective network name' })),
  nodesReady: Type.Optional(Type.Integer({ minimum: 0 })),
  nodesTotal: Type.Optional(Type.Integer({ minimum: 0 })),
  bootstrapAddresses: Type.Optional(Type.Array(Type.String(), { maxItems: 1024, 'x-kubernetes-list-type': 'atomic', description: 'multiaddrs of the bootstrap nodes' })),
  swarmKeySecret: Type.Optional(Type.String({ description: 'the Secret holding the swarm key' })),
  caSecret: Type.Optional(Type.String({ description: 'the Secret holding the membership CA' }))
}, { additionalProperties: false })
export type DawnNetworkStatus = Static<typeof DawnNetworkStatusSchema>

const effectiveName = (o: string): string => `(has(${o}.spec.networkName) ? ${o}.spec.networkName : ${o}.metadata.name)`

export const DawnNetworkSchema = resourceSchema('DawnNetwork', DawnNetworkSpecSchema, DawnNetworkStatusSchema, [
  {
    rule: `${effectiveName('self')} == ${effectiveName('oldSelf')}`,
    message: 'spec.networkName is immutable (it defaults to metadata.name): node identities, certificates and protocol ids are bound to it; create a new DawnNetwork for another name',
    fieldPath: '.spec.networkName'
  },
  {
    rule: 'size(self.metadata.name) <= 63',
    message: 'metadata.name must be at most 63 characters: it is the value of the mesh.dawn.dev/network label on everything the network owns'
  },
  {
    rule: `has(self.spec.networkName) || self.metadata.name.matches('${DNS1123_LABEL}')`,
    message: 'metadata.name is the default network name and must then be a DNS label (lowercase letters, digits and "-", no dots); rename it or set spec.networkName',
    fieldPath: '.spec.networkName'
  }
])
export type DawnNetwork = Static<typeof DawnNetworkSchema>

export const DawnNetworkCrd: CrdInfo = {
  kind: 'DawnNetwork',
  plural: 'dawnnetworks',
  singular: 'dawnnetwork',
  shortNames: ['dnet'],
  schema: DawnNetworkSchema,
  printerColumns: [
    { name: 'Network', type: 'string', jsonPath: '.status.networkName' },
    { name: 'Nodes Ready', type: 'integer', jsonPath: '.status.nodesReady' },
    { name: 'Nodes', type: 'integer', jsonPath: '.status.nodesTotal' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }
  ]
}

/** The mesh name: spec.networkName, or metadata.name when unset. */
export function effectiveNetworkName (network: Pick<DawnNetwork, 'metadata' | 'spec'>): string {
  const name = network.spec.networkName ?? network.metadata.name
  if (name === undefined || name === '') throw new ResourceValidationError('DawnNetwork', ['metadata.name: required when spec.networkName is unset'])
  return name
}
