import { describe, it, expect } from 'vitest'
import type { V1Container, V1StatefulSet } from '@kubernetes/client-node'
import { createCa, generateSwarmKey } from '@dawn/node-image/identity'
import type { DawnAgent } from '../../../src/api/dawn-agent.ts'
import type { DawnNetwork } from '../../../src/api/dawn-network.ts'
import type { DawnNode } from '../../../src/api/dawn-node.ts'
import { configChecksum } from '../../../src/render/checksum.ts'
import { renderPoolConfigMap } from '../../../src/render/config-map.ts'
import { planIdentities, type IdentityPlan } from '../../../src/render/identity.ts'
import { renderNodeConfig } from '../../../src/render/node-config.ts'
import { IDENTITY_INIT_SCRIPT } from '../../../src/render/identity-init.ts'
import { KUBO_INIT_SCRIPT } from '../../../src/render/kubo.ts'
import { pvcResizes, renderStatefulSet, volumeClaimTemplatesChanged } from '../../../src/render/statefulset.ts'
import { agent, network, NOW, pool } from './fixtures.ts'

const ca = createCa()
const swarmKey = generateSwarmKey()
const ids = (replicas: number, existing?: Record<string, string>): IdentityPlan =>
  planIdentities({ pool: 'a', replicas, existing, caPrivateKeyPem: ca.privateKeyPem, network: 'demo', validityDays: 365, now: NOW })

/** What a controller does for one pool, end to end. */
function renderPool (opts: { net?: DawnNetwork, pool: DawnNode, identity: IdentityPlan, agents?: DawnAgent[], others?: Array<{ pool: DawnNode, peers: IdentityPlan['peers'] }>, swarmKey?: string, caPub?: string }): { sts: V1StatefulSet, configText: string, checksum: string } {
  const net = opts.net ?? network()
  const rendered = renderNodeConfig({ network: net, pool: opts.pool, bootstrapPools: [{ pool: opts.pool, peers: opts.identity.peers }, ...opts.others ?? []], agents: opts.agents ?? [] })
  const checksum = configChecksum({ config: rendered.config, swarmKey: opts.swarmKey ?? swarmKey, caPublicKeyPem: opts.caPub ?? ca.publicKeyPem, certificateEpoch: opts.identity.certificateEpoch })
  return { sts: renderStatefulSet({ network: net, pool: opts.pool, configChecksum: checksum }), configText: rendered.text, checksum }
}

const allContainers = (sts: V1StatefulSet): V1Container[] => [...sts.spec?.template.spec?.initContainers ?? [], ...sts.spec?.template.spec?.containers ?? []]

const restricted = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' }
}
const selector = { 'app.kubernetes.io/name': 'dawn-node', 'app.kubernetes.io/instance': 'a' }
const labels = { ...selector, 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': 'demo', 'mesh.dawn.dev/pool': 'a' }

describe('renderStatefulSet', () => {
  it('renders the exact StatefulSet for a sample pool', () => {
    const sample = pool('a', {
      imagePullPolicy: 'IfNotPresent',
      resources: { requests: { cpu: '100m', memory: '128Mi' } },
      storage: { size: '5Gi', storageClassName: 'fast' },
      kubo: { resources: { limits: { memory: '1Gi' } } },
      scheduling: { nodeSelector: { disk: 'ssd' }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'dawn', effect: 'NoSchedule' }], priorityClassName: 'high' }
    })
    const sts = renderStatefulSet({ network: network(), pool: sample, configChecksum: 'c0ffee' })
    const kuboEnv = [{ name: 'IPFS_PATH', value: '/data/ipfs' }, { name: 'HOME', value: '/tmp' }, { name: 'LIBP2P_FORCE_PNET', value: '1' }]
    expect(sts).toEqual({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: {
        name: 'a',
        namespace: 'mesh',
        labels,
        ownerReferences: [{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', name: 'a', uid: 'uid-pool-a', controller: true, blockOwnerDeletion: true }]
      },
      spec: {
        replicas: 3,
        serviceName: 'a-headless',
        podManagementPolicy: 'Parallel',
        selector: { matchLabels: selector },
        updateStrategy: { type: 'RollingUpdate' },
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: { labels, annotations: { 'mesh.dawn.dev/config-checksum': 'c0ffee', 'kubectl.kubernetes.io/default-container': 'node' } },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
            terminationGracePeriodSeconds: 30,
            initContainers: [{
              name: 'identity-init',
              image: 'dawn/node:0.1.0',
              imagePullPolicy: 'IfNotPresent',
              command: ['/bin/sh', '-c', IDENTITY_INIT_SCRIPT],
              env: [
                { name: 'POD_ORDINAL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } } },
                { name: 'DAWN_POOL_KEY_FILE', value: '/etc/dawn/pool-identity/$(POD_ORDINAL).key' },
                { name: 'DAWN_POOL_CERT_FILE', value: '/etc/dawn/pool-identity/$(POD_ORDINAL).cert.json' },
                { name: 'DAWN_KEY_FILE', value: '/etc/dawn/identity/node.key' },
                { name: 'DAWN_CERT_FILE', value: '/etc/dawn/identity/node.cert.json' }
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' } },
              securityContext: restricted,
              volumeMounts: [{ name: 'pool-identity', mountPath: '/etc/dawn/pool-identity', readOnly: true }, { name: 'identity', mountPath: '/etc/dawn/identity' }]
            }, {
              name: 'kubo-init',
              image: 'ipfs/kubo:v0.38.1',
              command: ['/bin/sh', '-c', KUBO_INIT_SCRIPT],
              env: [...kuboEnv, { name: 'DAWN_KUBO_PRIVATE_SWARM', value: 'true' }, { name: 'DAWN_SWARM_KEY_FILE', value: '/etc/dawn/psk/swarm.key' }],
              resources: { limits: { memory: '1Gi' } },
              securityContext: restricted,
              volumeMounts: [{ name: 'kubo', mountPath: '/data/ipfs' }, { name: 'psk', mountPath: '/etc/dawn/psk', readOnly: true }, { name: 'tmp', mountPath: '/tmp' }]
            }],
            containers: [
              {
                name: 'node',
                image: 'dawn/node:0.1.0',
                imagePullPolicy: 'IfNotPresent',
                args: ['run', '--config', '/etc/dawn/config/config.json'],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'DAWN_KEY_FILE', value: '/etc/dawn/identity/node.key' },
                  { name: 'DAWN_CERT_FILE', value: '/etc/dawn/identity/node.cert.json' },
                  { name: 'DAWN_ANNOUNCE', value: '/dns4/$(POD_NAME).a-headless.mesh.svc.cluster.local/tcp/4001' }
                ],
                ports: [{ name: 'p2p', containerPort: 4001, protocol: 'TCP' }, { name: 'http', containerPort: 8080, protocol: 'TCP' }],
                startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2, failureThreshold: 60 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 },
                resources: { requests: { cpu: '100m', memory: '128Mi' } },
                securityContext: restricted,
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/dawn/config', readOnly: true },
                  { name: 'ca', mountPath: '/etc/dawn/ca', readOnly: true },
                  { name: 'identity', mountPath: '/etc/dawn/identity', readOnly: true },
                  { name: 'psk', mountPath: '/etc/dawn/psk', readOnly: true },
                  { name: 'agent-headers', mountPath: '/etc/dawn/agents', readOnly: true },
                  { name: 'data', mountPath: '/var/lib/dawn' },
                  { name: 'tmp', mountPath: '/tmp' }
                ]
              },
              {
                name: 'kubo',
                image: 'ipfs/kubo:v0.38.1',
                command: ['ipfs'],
                args: ['daemon', '--migrate=true'],
                env: kuboEnv,
                ports: [{ name: 'kubo-swarm', containerPort: 4002, protocol: 'TCP' }],
                startupProbe: { tcpSocket: { port: 'kubo-swarm' }, periodSeconds: 2, failureThreshold: 90 },
                livenessProbe: { tcpSocket: { port: 'kubo-swarm' }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 6 },
                resources: { limits: { memory: '1Gi' } },
                securityContext: restricted,
                volumeMounts: [{ name: 'kubo', mountPath: '/data/ipfs' }, { name: 'tmp', mountPath: '/tmp' }]
              }
            ],
            volumes: [
              { name: 'config', configMap: { name: 'a-config', items: [{ key: 'config.json', path: 'config.json' }] } },
              { name: 'ca', configMap: { name: 'a-config', items: [{ key: 'ca.pub', path: 'ca.pub' }] } },
              { name: 'pool-identity', secret: { secretName: 'a-identity', defaultMode: 0o440 } },
              { name: 'identity', emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } },
              { name: 'psk', secret: { secretName: 'demo-swarm-key', items: [{ key: 'swarm.key', path: 'swarm.key' }], defaultMode: 0o440 } },
              { name: 'agent-headers', secret: { secretName: 'a-agent-headers', optional: true, defaultMode: 0o440 } },
              { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }
            ],
            affinity: {
              podAntiAffinity: {
                preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } }]
              }
            },
            nodeSelector: { disk: 'ssd' },
            tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'dawn', effect: 'NoSchedule' }],
            priorityClassName: 'high'
          }
        },
        volumeClaimTemplates: [
          { metadata: { name: 'data', labels: selector }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '5Gi' } } } },
          { metadata: { name: 'kubo', labels: selector }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '2Gi' } } } }
        ]
      }
    })
  })

  it('runs every container, init containers included, under the restricted security context', () => {
    const { sts } = renderPool({ pool: pool('a'), identity: ids(3) })
    const containers = allContainers(sts)
    expect(containers.map(c => c.name)).toEqual(['identity-init', 'kubo-init', 'node', 'kubo'])
    for (const c of containers) {
      expect(c.securityContext, c.name).toEqual(restricted)
      // A read-only root needs a writable /tmp; the identity init container writes only its
      // copy, and shares no scratch space with the others while it holds every key.
      expect(c.volumeMounts?.some(m => m.mountPath === '/tmp'), c.name).toBe(c.name !== 'identity-init')
    }
    expect(sts.spec?.template.spec?.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } })
  })

  it('gives the node only its own key: the identity Secret reaches the init container alone', () => {
    const { sts } = renderPool({ pool: pool('a'), identity: ids(3) })
    const spec = sts.spec?.template.spec
    const secretVolumes = new Set((spec?.volumes ?? []).filter(v => v.secret?.secretName === 'a-identity').map(v => v.name))
    expect(secretVolumes.size).toBe(1)
    const mountsSecret = (c: V1Container | undefined): boolean => (c?.volumeMounts ?? []).some(m => secretVolumes.has(m.name))
    const byName = new Map(allContainers(sts).map(c => [c.name, c]))
    expect(mountsSecret(byName.get('identity-init'))).toBe(true)
    for (const name of ['node', 'kubo', 'kubo-init']) expect(mountsSecret(byName.get(name)), name).toBe(false)

    // The node's identity directory is the init container's memory-backed copy, read-only.
    const node = byName.get('node')
    const identityMount = node?.volumeMounts?.find(m => m.mountPath === '/etc/dawn/identity')
    expect(identityMount?.readOnly).toBe(true)
    const copy = spec?.volumes?.find(v => v.name === identityMount?.name)
    expect(copy?.emptyDir).toEqual({ medium: 'Memory', sizeLimit: '1Mi' })
    expect(copy?.secret).toBeUndefined()
    expect(byName.get('kubo')?.volumeMounts?.some(m => m.name === identityMount?.name)).toBe(false)
    expect(node?.env?.filter(e => e.name.startsWith('DAWN_') && e.name.endsWith('_FILE'))).toEqual([
      { name: 'DAWN_KEY_FILE', value: '/etc/dawn/identity/node.key' },
      { name: 'DAWN_CERT_FILE', value: '/etc/dawn/identity/node.cert.json' }
    ])

    // The init container is handed this pod's ordinal's files, by name, and nothing else.
    const init = byName.get('identity-init')
    expect(init?.env?.find(e => e.name === 'POD_ORDINAL')?.valueFrom).toEqual({ fieldRef: { fieldPath: "metadata.labels['apps.kubernetes.io/pod-index']" } })
    const sources = (init?.env ?? []).filter(e => e.name.startsWith('DAWN_POOL_')).map(e => e.value)
    expect(sources).toEqual(['/etc/dawn/pool-identity/$(POD_ORDINAL).key', '/etc/dawn/pool-identity/$(POD_ORDINAL).cert.json'])
    expect(init?.volumeMounts?.find(m => m.name === identityMount?.name)).toEqual({ name: 'identity', mountPath: '/etc/dawn/identity' })
    expect(init?.volumeMounts?.find(m => secretVolumes.has(m.name))).toEqual({ name: 'pool-identity', mountPath: '/etc/dawn/pool-identity', readOnly: true })
    // The script reads only those two variables: no glob, no directory copy.
    expect(IDENTITY_INIT_SCRIPT).not.toMatch(/pool-identity|\*\.key|cp -r|cp -a/)
  })

  it('never mounts the CA private key: the CA public key comes from the ConfigMap', () => {
    const { sts } = renderPool({ pool: pool('a'), identity: ids(3) })
    const volumes = sts.spec?.template.spec?.volumes ?? []
    expect(JSON.stringify(volumes)).not.toContain('demo-ca')
    expect(JSON.stringify(volumes)).not.toContain('ca.key')
    expect(volumes.find(v => v.name === 'ca')?.configMap).toEqual({ name: 'a-config', items: [{ key: 'ca.pub', path: 'ca.pub' }] })
    const cm = renderPoolConfigMap(pool('a'), { configText: '{}\n', caPublicKeyPem: ca.publicKeyPem })
    expect(cm.data).toEqual({ 'config.json': '{}\n', 'ca.pub': ca.publicKeyPem })
    expect(cm.metadata).toMatchObject({ name: 'a-config', namespace: 'mesh', labels, ownerReferences: [{ kind: 'DawnNode', name: 'a' }] })
  })

  it('leaves the pod template unchanged when agents are added or removed', () => {
    const identity = ids(3)
    const none = renderPool({ pool: pool('a'), identity })
    const withAgents = renderPool({
      pool: pool('a'),
      identity,
      agents: [
        agent('echo', { builtin: { name: 'echo' } }),
        agent('weather', { remote: { url: 'https://weather.example/mcp', headersSecretRef: { name: 'w' } } }),
        agent('fetch', { image: { image: 'mcp/fetch:1' } })
      ]
    })
    const oneRemoved = renderPool({ pool: pool('a'), identity, agents: [agent('echo', { builtin: { name: 'echo' } })] })
    expect(withAgents.configText).not.toBe(none.configText) // the ConfigMap carries the change, live
    expect(withAgents.sts).toEqual(none.sts)
    expect(oneRemoved.sts).toEqual(none.sts)
  })

  it('keeps the checksum stable for equal input and when only live or start-up-only inputs change', () => {
    const identity = ids(3)
    const first = renderPool({ pool: pool('a'), identity })
    expect(renderPool({ pool: pool('a'), identity }).checksum).toBe(first.checksum)
    expect(first.checksum).toMatch(/^[0-9a-f]{64}$/)
    // Another bootstrap pool appearing (or scaling) changes only the bootstrap list.
    const other = { pool: pool('b'), peers: ids(2).peers }
    expect(renderPool({ pool: pool('a'), identity, others: [other] }).checksum).toBe(first.checksum)
    // Tool filters and the naming mode reload live: a DawnAgent's spec.tools never restarts pods.
    const filtered = renderPool({ pool: pool('a'), identity, net: network({ mcp: { naming: 'conditional' } }), agents: [agent('files', { builtin: { name: 'echo' }, tools: { deny: ['secret'] } })] })
    expect((JSON.parse(filtered.configText) as { mcp: unknown }).mcp).toMatchObject({ naming: 'conditional', toolFilters: { files: { deny: ['secret'] } } })
    expect(filtered.checksum).toBe(renderPool({ pool: pool('a'), identity, agents: [agent('files', { builtin: { name: 'echo' } })] }).checksum)
  })

  it('changes the checksum for what needs a restart', () => {
    const identity = ids(3)
    const base = renderPool({ pool: pool('a'), identity }).checksum
    const variants = [
      renderPool({ pool: pool('a', { logLevel: 'debug' }), identity }),
      renderPool({ pool: pool('a', { roles: { relay: true } }), identity }),
      renderPool({ pool: pool('a', { ports: { http: 9090 } }), identity }),
      renderPool({ pool: pool('a'), identity, swarmKey: generateSwarmKey() }),
      renderPool({ pool: pool('a'), identity, caPub: createCa().publicKeyPem }),
      renderPool({ pool: pool('a'), identity: { ...identity, certificateEpoch: identity.certificateEpoch + 1 } })
    ].map(r => r.checksum)
    for (const checksum of variants) expect(checksum).not.toBe(base)
    expect(new Set(variants).size).toBe(variants.length)
  })

  it('scaling up changes only spec.replicas, not the pod template', () => {
    const three = ids(3)
    const five = ids(5, three.secretData)
    const before = renderPool({ pool: pool('a', { replicas: 3 }), identity: three })
    const after = renderPool({ pool: pool('a', { replicas: 5 }), identity: five })
    expect(after.sts.spec?.template).toEqual(before.sts.spec?.template)
    expect(after.sts.spec?.replicas).toBe(5)
  })

  it('uses the user\'s swarm key Secret and leaves the Kubo sidecar public when privateSwarm is off', () => {
    const net = network({ privateNetwork: { swarmKeySecretRef: { name: 'my-psk', key: 'psk' } }, ipfs: { privateSwarm: false } })
    const sts = renderStatefulSet({ network: net, pool: pool('a'), configChecksum: 'x' })
    expect(sts.spec?.template.spec?.volumes?.find(v => v.name === 'psk')?.secret).toEqual({ secretName: 'my-psk', items: [{ key: 'psk', path: 'swarm.key' }], defaultMode: 0o440 })
    const [, init, , kubo] = allContainers(sts)
    expect(init?.volumeMounts?.map(m => m.name)).toEqual(['kubo', 'tmp'])
    expect(init?.env).toContainEqual({ name: 'DAWN_KUBO_PRIVATE_SWARM', value: 'false' })
    expect(kubo?.env?.some(e => e.name === 'LIBP2P_FORCE_PNET')).toBe(false)
  })

  it('takes the user\'s affinity instead of the default spread', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } }
    const sts = renderStatefulSet({ network: network(), pool: pool('a', { scheduling: { affinity } }), configChecksum: 'x' })
    expect(sts.spec?.template.spec?.affinity).toEqual(affinity)
  })

  it('keeps the Kubo RPC API on loopback and the gateway off', () => {
    expect(KUBO_INIT_SCRIPT).toContain('ipfs config Addresses.API /ip4/127.0.0.1/tcp/5001')
    expect(KUBO_INIT_SCRIPT).toContain("ipfs config --json Addresses.Gateway '[]'")
    expect(KUBO_INIT_SCRIPT).toContain('cp "$DAWN_SWARM_KEY_FILE" "$IPFS_PATH/swarm.key"')
  })

  it('tells when storage grew, which needs PVC resizes and a re-created StatefulSet', () => {
    const before = renderStatefulSet({ network: network(), pool: pool('a'), configChecksum: 'x' })
    const grown = pool('a', { storage: { size: '5Gi' } })
    const after = renderStatefulSet({ network: network(), pool: grown, configChecksum: 'y' })
    expect(volumeClaimTemplatesChanged(before, renderStatefulSet({ network: network(), pool: pool('a', { replicas: 7 }), configChecksum: 'z' }))).toBe(false)
    expect(volumeClaimTemplatesChanged(before, after)).toBe(true)
    expect(pvcResizes(grown, [1, 0])).toEqual([
      { name: 'data-a-0', size: '5Gi' }, { name: 'kubo-a-0', size: '2Gi' },
      { name: 'data-a-1', size: '5Gi' }, { name: 'kubo-a-1', size: '2Gi' }
    ])
  })
})
