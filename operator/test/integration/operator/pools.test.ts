// A DawnNetwork and DawnNodes against a real kube-apiserver + kube-controller-manager, with the
// operator running in this process: what gets created, identities and certificates, the node
// config, scaling, network status, a missing network, drift and garbage collection.
import { describe, it, expect } from 'vitest'
import { PatchStrategy, setHeaderOptions, type V1Container, type V1OwnerReference, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node'
import {
  decodeCertificate, decodePublicKeyPem, parseSwarmKey, peerIdFromPrivateKeyPem, verifyCertificate
} from '@dawn/node-image/identity'
import { parseConfig, type NodeConfig } from '@dawn/node-image/config'
import type { DawnNetwork, DawnNode } from '../../../src/api/index.ts'
import {
  clients, conditionOf, Dawn, eventually, findSecret, isNotFound, networkManifest, poolManifest, quiesce, type RunningOperator,
  secretTexts, statusPeerIds, useOperatorNamespace
} from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
let ns = ''
let op: RunningOperator | undefined

useOperatorNamespace(c, 'op-pools', (n, o) => { ns = n; op = o })

const MANAGED = 'app.kubernetes.io/managed-by=dawn-operator'

async function pods (pool: string): Promise<V1Pod[]> {
  return (await c.core.listNamespacedPod({ namespace: ns, labelSelector: `app.kubernetes.io/instance=${pool}` })).items
}

async function sts (name: string): Promise<V1StatefulSet | undefined> {
  try {
    return await c.apps.readNamespacedStatefulSet({ namespace: ns, name })
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

async function configOf (pool: string): Promise<NodeConfig> {
  const cm = await c.core.readNamespacedConfigMap({ namespace: ns, name: `${pool}-config` })
  return JSON.parse(cm.data?.['config.json'] ?? 'null') as NodeConfig
}

/** Waits until the pool's status reports `replicas` peers for the current generation. */
async function settledPool (name: string, replicas: number): Promise<DawnNode> {
  return await eventually(async () => {
    const p = await dawn.get('DawnNode', ns, name)
    return p.status?.observedGeneration === p.metadata.generation && p.status?.peers?.length === replicas ? p : undefined
  }, { what: `DawnNode ${name} to report ${replicas} peers`, detail: async () => JSON.stringify((await dawn.find('DawnNode', ns, name))?.status) })
}

const podDns = (pool: string, i: number): string => `${pool}-${i}.${pool}-headless.${ns}.svc.cluster.local`

function expectRestricted (where: string, container: V1Container): void {
  const s = container.securityContext
  expect(s, where).toBeDefined()
  expect(s?.runAsNonRoot, `${where} runAsNonRoot`).toBe(true)
  expect(s?.allowPrivilegeEscalation, `${where} allowPrivilegeEscalation`).toBe(false)
  expect(s?.readOnlyRootFilesystem, `${where} readOnlyRootFilesystem`).toBe(true)
  expect(s?.capabilities?.drop, `${where} capabilities.drop`).toEqual(['ALL'])
  expect(s?.capabilities?.add ?? [], `${where} capabilities.add`).toEqual([])
  expect(s?.privileged ?? false, `${where} privileged`).toBe(false)
  expect(s?.seccompProfile?.type, `${where} seccompProfile`).toBe('RuntimeDefault')
  expect(s?.runAsUser, `${where} runAsUser`).not.toBe(0)
}

function expectOwnedBy (what: string, refs: V1OwnerReference[] | undefined, owner: { kind: string, name: string, uid: string }): void {
  expect(refs, `${what} ownerReferences`).toEqual([{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }])
}

describe('DawnNetwork + 3-replica DawnNode', () => {
  const NET = 'alpha'
  const POOL = 'edge'
  let net: DawnNetwork
  let pool: DawnNode

  it('creates exactly the expected objects, owned and labelled', async () => {
    net = await dawn.create(networkManifest(ns, NET))
    pool = await dawn.create(poolManifest(ns, POOL, NET, { replicas: 3 }))
    pool = await settledPool(POOL, 3)
    await eventually(async () => await sts(POOL) !== undefined && (await c.policy.listNamespacedPodDisruptionBudget({ namespace: ns })).items.length === 1,
      { what: 'StatefulSet and PDB' })

    const secrets = (await c.core.listNamespacedSecret({ namespace: ns, labelSelector: MANAGED })).items
    expect(secrets.map(s => s.metadata?.name).sort()).toEqual([`${NET}-ca`, `${NET}-swarm-key`, `${POOL}-agent-headers`, `${POOL}-identity`])
    // Nothing else the operator made, and nothing unlabelled either.
    expect((await c.core.listNamespacedSecret({ namespace: ns })).items).toHaveLength(4)
    // The pool's config, and the network's Grafana dashboard (spec.monitoring.grafanaDashboard defaults on).
    const allCms = (await c.core.listNamespacedConfigMap({ namespace: ns, labelSelector: MANAGED })).items
    expect(allCms.map(x => x.metadata?.name).sort()).toEqual([`${NET}-dashboard`, `${POOL}-config`].sort())
    const cms = allCms.filter(x => x.metadata?.name === `${POOL}-config`)
    const services = (await c.core.listNamespacedService({ namespace: ns })).items
    expect(services.map(s => s.metadata?.name).sort()).toEqual([POOL, `${POOL}-headless`])
    const sets = (await c.apps.listNamespacedStatefulSet({ namespace: ns })).items
    expect(sets.map(s => s.metadata?.name)).toEqual([POOL])
    expect((await c.apps.listNamespacedDeployment({ namespace: ns })).items).toEqual([])
    const pdbs = (await c.policy.listNamespacedPodDisruptionBudget({ namespace: ns })).items
    expect(pdbs.map(p => p.metadata?.name)).toEqual([POOL])

    const netOwner = { kind: 'DawnNetwork', name: NET, uid: net.metadata.uid ?? '' }
    const poolOwner = { kind: 'DawnNode', name: POOL, uid: pool.metadata.uid ?? '' }
    const poolLabels = {
      'app.kubernetes.io/name': 'dawn-node',
      'app.kubernetes.io/instance': POOL,
      'app.kubernetes.io/managed-by': 'dawn-operator',
      'mesh.dawn.dev/network': NET,
      'mesh.dawn.dev/pool': POOL
    }
    for (const s of secrets) {
      const name = s.metadata?.name ?? ''
      if (name.startsWith(`${NET}-`)) {
        expectOwnedBy(name, s.metadata?.ownerReferences, netOwner)
        expect(s.metadata?.labels?.['mesh.dawn.dev/network'], name).toBe(NET)
        expect(s.metadata?.labels?.['app.kubernetes.io/managed-by'], name).toBe('dawn-operator')
      } else {
        expectOwnedBy(name, s.metadata?.ownerReferences, poolOwner)
        expect(s.metadata?.labels, name).toEqual(poolLabels)
      }
    }
    const dashboard = allCms.find(x => x.metadata?.name === `${NET}-dashboard`)
    expectOwnedBy(`ConfigMap ${NET}-dashboard`, dashboard?.metadata?.ownerReferences, netOwner)
    for (const obj of [...cms, ...services, ...sets, ...pdbs]) {
      const what = `${obj.kind ?? ''} ${obj.metadata?.name ?? ''}`
      expectOwnedBy(what, obj.metadata?.ownerReferences, poolOwner)
      expect(obj.metadata?.labels, what).toEqual(poolLabels)
    }

    // Server-side apply under the operator's field manager.
    const set = sets[0]!
    expect(set.metadata?.managedFields?.some(f => f.manager === 'dawn-operator' && f.operation === 'Apply')).toBe(true)

    // Services: headless publishes not-ready pods (peers must resolve before anyone is ready).
    const headless = services.find(s => s.metadata?.name === `${POOL}-headless`)!
    expect(headless.spec?.clusterIP).toBe('None')
    expect(headless.spec?.publishNotReadyAddresses).toBe(true)
    expect(headless.spec?.ports?.map(p => [p.name, p.port])).toEqual([['p2p', 4001], ['http', 8080]])
    const client = services.find(s => s.metadata?.name === POOL)!
    expect(client.spec?.type).toBe('ClusterIP')
    expect(client.spec?.ports?.map(p => [p.name, p.port])).toEqual([['http', 8080]])
    for (const s of [headless, client]) expect(s.spec?.selector).toEqual({ 'app.kubernetes.io/name': 'dawn-node', 'app.kubernetes.io/instance': POOL })

    expect(pdbs[0]!.spec?.maxUnavailable).toBe(1)
    expect(pdbs[0]!.spec?.selector?.matchLabels).toEqual({ 'app.kubernetes.io/name': 'dawn-node', 'app.kubernetes.io/instance': POOL })
  })

  it('renders a StatefulSet with restricted containers and probes, and its 3 pods are created (Pending)', async () => {
    const set = (await sts(POOL))!
    expect(set.spec?.replicas).toBe(3)
    expect(set.spec?.podManagementPolicy).toBe('Parallel')
    expect(set.spec?.serviceName).toBe(`${POOL}-headless`)
    const podSpec = set.spec?.template.spec
    expect(podSpec?.securityContext?.runAsNonRoot).toBe(true)
    expect(podSpec?.securityContext?.seccompProfile?.type).toBe('RuntimeDefault')
    expect(podSpec?.automountServiceAccountToken).toBe(false)
    const all = [...podSpec?.initContainers ?? [], ...podSpec?.containers ?? []]
    expect(all.map(x => x.name)).toEqual(['identity-init', 'kubo-init', 'node', 'kubo'])
    for (const container of all) expectRestricted(container.name, container)
    expect(podSpec?.volumes?.filter(v => v.hostPath !== undefined)).toEqual([])

    const node = podSpec?.containers.find(x => x.name === 'node')
    expect(node?.image).toBe('example.invalid/dawn/node:test')
    expect(node?.startupProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' })
    expect(node?.livenessProbe?.httpGet).toMatchObject({ path: '/healthz', port: 'http' })
    expect(node?.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' })
    const kubo = podSpec?.containers.find(x => x.name === 'kubo')
    expect(kubo?.startupProbe?.tcpSocket?.port).toBe('kubo-swarm')
    expect(kubo?.livenessProbe?.tcpSocket?.port).toBe('kubo-swarm')
    // The identity Secret reaches the init container only; it copies this pod's files for the node
    // (identity-isolation.test.ts checks every container's mounts).
    expect(podSpec?.volumes?.find(v => v.name === 'pool-identity')?.secret?.secretName).toBe(`${POOL}-identity`)
    expect(podSpec?.volumes?.find(v => v.name === 'identity')?.emptyDir?.medium).toBe('Memory')
    expect(podSpec?.volumes?.find(v => v.name === 'psk')?.secret?.secretName).toBe(`${NET}-swarm-key`)
    expect(podSpec?.volumes?.find(v => v.name === 'config')?.configMap?.name).toBe(`${POOL}-config`)
    expect(node?.env?.find(e => e.name === 'DAWN_KEY_FILE')?.value).toBe('/etc/dawn/identity/node.key')

    const created = await eventually(async () => {
      const list = await pods(POOL)
      return list.length === 3 ? list : undefined
    }, { what: 'the StatefulSet controller to create 3 pods', detail: async () => (await pods(POOL)).map(p => p.metadata?.name).join(' ') })
    expect(created.map(p => p.metadata?.name).sort()).toEqual([`${POOL}-0`, `${POOL}-1`, `${POOL}-2`])
    for (const p of created) {
      expect(p.status?.phase).toBe('Pending')
      for (const container of [...p.spec?.initContainers ?? [], ...p.spec?.containers ?? []]) expectRestricted(`pod ${p.metadata?.name ?? ''} ${container.name}`, container)
    }
  })

  it('status peer ids are the keys in the identity Secret, and every certificate verifies against the CA', async () => {
    const identity = secretTexts((await findSecret(c, ns, `${POOL}-identity`))!)
    expect(Object.keys(identity).sort()).toEqual(['0.cert.json', '0.key', '1.cert.json', '1.key', '2.cert.json', '2.key'])
    const ca = secretTexts((await findSecret(c, ns, `${NET}-ca`))!)
    const caPublicKey = decodePublicKeyPem(ca['ca.pub']!)
    // The CA private key is never handed to pods; the ConfigMap carries the public half.
    const cm = await c.core.readNamespacedConfigMap({ namespace: ns, name: `${POOL}-config` })
    expect(Buffer.from(decodePublicKeyPem(cm.data?.['ca.pub'] ?? '')).equals(Buffer.from(caPublicKey))).toBe(true)
    expect(Object.values(cm.data ?? {}).some(v => v.includes('PRIVATE KEY'))).toBe(false)

    const peers = statusPeerIds(pool)
    expect(Object.keys(peers).map(Number)).toEqual([0, 1, 2])
    const ids = new Set<string>()
    for (const i of [0, 1, 2]) {
      const peerId = peerIdFromPrivateKeyPem(identity[`${i}.key`]!)
      expect(peers[i], `ordinal ${i}`).toBe(peerId)
      ids.add(peerId)
      const cert = decodeCertificate(identity[`${i}.cert.json`]!)
      expect(cert.peerId).toBe(peerId)
      expect(() => { verifyCertificate(cert, { caPublicKey, network: NET, peerId }) }).not.toThrow()
      // Not a certificate of some other network.
      expect(() => { verifyCertificate(cert, { caPublicKey, network: 'other', peerId }) }).toThrow()
    }
    expect(ids.size).toBe(3)
    expect(pool.status?.peers?.map(p => p.pod)).toEqual([`${POOL}-0`, `${POOL}-1`, `${POOL}-2`])

    // The generated PSK is a real swarm key.
    const psk = secretTexts((await findSecret(c, ns, `${NET}-swarm-key`))!)
    expect(() => parseSwarmKey(psk['swarm.key']!)).not.toThrow()
  })

  it('config.json names every pod by DNS with its peer id and passes the node\'s own parser', async () => {
    const cm = await c.core.readNamespacedConfigMap({ namespace: ns, name: `${POOL}-config` })
    const raw: unknown = JSON.parse(cm.data?.['config.json'] ?? '')
    const config = parseConfig(raw, '/etc/dawn/config', `ConfigMap ${POOL}-config`)
    const peers = statusPeerIds(pool)
    expect(config.p2p.bootstrap).toEqual([0, 1, 2].map(i => `/dns4/${podDns(POOL, i)}/tcp/4001/p2p/${peers[i] ?? ''}`))
    expect(pool.status?.peers?.map(p => p.address)).toEqual(config.p2p.bootstrap)
    expect(config.network.name).toBe(NET)
    expect(config.network.swarmKeyFile).toBe('/etc/dawn/psk/swarm.key')
    expect(config.network.caPublicKeyFile).toBe('/etc/dawn/ca/ca.pub')
    expect(config.p2p.mdns).toBe(false)
    expect(config.agents).toEqual([])
  })

  it('reports conditions on the pool and aggregates the network status', async () => {
    const p = await dawn.get('DawnNode', ns, POOL)
    expect(conditionOf(p, 'Ready')).toMatchObject({ status: 'False', reason: 'ReplicasNotReady', observedGeneration: p.metadata.generation })
    expect(conditionOf(p, 'Degraded')).toMatchObject({ status: 'False' })
    expect(p.status?.selector).toBe(`app.kubernetes.io/name=dawn-node,app.kubernetes.io/instance=${POOL}`)
    expect(p.status?.readyReplicas).toBe(0)
    const n = await eventually(async () => {
      const x = await dawn.get('DawnNetwork', ns, NET)
      return x.status?.nodesTotal === 3 && x.status.bootstrapAddresses?.length === 3 ? x : undefined
    }, { what: 'network status: 3 nodes', detail: async () => JSON.stringify((await dawn.get('DawnNetwork', ns, NET)).status) })
    expect(n.status?.nodesReady).toBe(0)
    expect(n.status?.networkName).toBe(NET)
    expect(n.status?.swarmKeySecret).toBe(`${NET}-swarm-key`)
    expect(n.status?.caSecret).toBe(`${NET}-ca`)
    expect(n.status?.bootstrapAddresses).toEqual(p.status?.peers?.map(x => x.address))
    expect(conditionOf(n, 'Ready')).toMatchObject({ status: 'False', reason: 'NodesNotReady', message: '0/3 nodes ready' })

    // A second, non-bootstrap pool counts towards the total but adds no bootstrap address,
    // and its config bootstraps from the first pool.
    await dawn.create(poolManifest(ns, 'workers', NET, { replicas: 2, roles: { bootstrap: false } }))
    const workers = await settledPool('workers', 2)
    const n2 = await eventually(async () => {
      const x = await dawn.get('DawnNetwork', ns, NET)
      return x.status?.nodesTotal === 5 ? x : undefined
    }, { what: 'network status: 5 nodes', detail: async () => JSON.stringify((await dawn.get('DawnNetwork', ns, NET)).status) })
    expect(n2.status?.bootstrapAddresses).toEqual(p.status?.peers?.map(x => x.address))
    expect(conditionOf(n2, 'Ready')?.message).toBe('0/5 nodes ready')
    expect((await configOf('workers')).p2p.bootstrap).toEqual(p.status?.peers?.map(x => x.address))
    expect(Object.values(statusPeerIds(workers)).some(id => Object.values(statusPeerIds(p)).includes(id))).toBe(false)
    // Removing it brings the total back.
    await dawn.delete('DawnNode', ns, 'workers')
    await eventually(async () => (await dawn.get('DawnNetwork', ns, NET)).status?.nodesTotal === 3, { what: 'network status back to 3 nodes' })
  })
})

describe('a DawnNode whose network does not exist yet', () => {
  it('is Ready=False with reason NetworkNotFound, and recovers when the network appears', async () => {
    await dawn.create(poolManifest(ns, 'early', 'late-net', { replicas: 2 }))
    const waiting = await eventually(async () => {
      const p = await dawn.get('DawnNode', ns, 'early')
      const ready = conditionOf(p, 'Ready')
      return ready?.reason === 'NetworkNotFound' ? p : undefined
    }, { what: 'NetworkNotFound condition' })
    expect(conditionOf(waiting, 'Ready')).toMatchObject({ status: 'False', reason: 'NetworkNotFound', message: `DawnNetwork late-net does not exist in ${ns}`, observedGeneration: waiting.metadata.generation })
    // Nothing rendered without a network.
    expect(await sts('early')).toBeUndefined()
    expect(await findSecret(c, ns, 'early-identity')).toBeUndefined()

    await dawn.create(networkManifest(ns, 'late-net'))
    const p = await settledPool('early', 2)
    expect(conditionOf(p, 'Ready')).toMatchObject({ status: 'False', reason: 'ReplicasNotReady' })
    await eventually(async () => await sts('early') !== undefined, { what: 'StatefulSet early' })
    expect((await configOf('early')).network.name).toBe('late-net')
  })
})

describe('scaling', () => {
  it('3 → 5 → 2 → 4 keeps the peer id of every ordinal that existed before, and restarts nothing', async () => {
    await dawn.create(networkManifest(ns, 'scale-net'))
    await dawn.create(poolManifest(ns, 'sc', 'scale-net', { replicas: 3 }))
    const seen = new Map<number, string>()
    let template: string | undefined
    let ever = 0
    const step = async (replicas: number, how: 'spec' | 'scale'): Promise<void> => {
      if (how === 'spec') await dawn.patch('DawnNode', ns, 'sc', { spec: { replicas } })
      else await dawn.scale(ns, 'sc', replicas)
      ever = Math.max(ever, replicas)
      const p = await settledPool('sc', replicas)
      const peers = statusPeerIds(p)
      expect(Object.keys(peers).map(Number)).toEqual(Array.from({ length: replicas }, (_, i) => i))
      for (const [ordinal, id] of Object.entries(peers).map(([k, v]) => [Number(k), v] as const)) {
        const before = seen.get(ordinal)
        if (before !== undefined) expect(id, `ordinal ${ordinal} after scaling to ${replicas}`).toBe(before)
        else seen.set(ordinal, id)
      }
      // Keys of scaled-away ordinals stay in the Secret for their return.
      const identity = secretTexts((await findSecret(c, ns, 'sc-identity'))!)
      const keyOrdinals = Object.keys(identity).filter(k => k.endsWith('.key')).map(k => Number(k.slice(0, -4))).sort((a, b) => a - b)
      expect(keyOrdinals).toEqual(Array.from({ length: ever }, (_, i) => i))
      for (const [ordinal, id] of seen) expect(peerIdFromPrivateKeyPem(identity[`${ordinal}.key`]!)).toBe(id)
      const set = await eventually(async () => { const s = await sts('sc'); return s?.spec?.replicas === replicas ? s : undefined }, { what: `StatefulSet sc at ${replicas}` })
      // Scaling never touches the pod template (no restart of existing pods).
      const t = JSON.stringify(set.spec?.template)
      if (template === undefined) template = t
      else expect(t).toBe(template)
      expect((await configOf('sc')).p2p.bootstrap).toEqual(p.status?.peers?.map(x => x.address))
      await eventually(async () => (await pods('sc')).length === replicas,
        { what: `${replicas} pods`, detail: async () => (await pods('sc')).map(x => x.metadata?.name).join(' ') })
    }
    await step(3, 'spec')
    await step(5, 'scale')
    await step(2, 'spec')
    await step(4, 'scale')
    expect(seen.size).toBe(5)
    expect(new Set(seen.values()).size).toBe(5)
    // The scale subresource reads back what the operator reports.
    const scale = await c.custom.getNamespacedCustomObjectScale({ group: 'mesh.dawn.dev', version: 'v1alpha1', namespace: ns, plural: 'dawnnodes', name: 'sc' }) as { spec?: { replicas?: number }, status?: { selector?: string } }
    expect(scale.spec?.replicas).toBe(4)
    expect(scale.status?.selector).toBe('app.kubernetes.io/name=dawn-node,app.kubernetes.io/instance=sc')
  })

  it('one replica has no PodDisruptionBudget, and zero replicas keep the identities for later', async () => {
    await dawn.create(networkManifest(ns, 'zero-net'))
    await dawn.create(poolManifest(ns, 'sz', 'zero-net', { replicas: 2 }))
    await settledPool('sz', 2)
    const pdb = async (): Promise<boolean> => (await c.policy.listNamespacedPodDisruptionBudget({ namespace: ns, labelSelector: 'mesh.dawn.dev/pool=sz' })).items.length > 0
    await eventually(pdb, { what: 'the PDB of sz' })
    const keys = secretTexts((await findSecret(c, ns, 'sz-identity'))!)
    await dawn.scale(ns, 'sz', 1)
    await settledPool('sz', 1)
    await eventually(async () => !await pdb(), { what: 'the PDB of a 1-replica pool to be deleted' })
    await dawn.patch('DawnNode', ns, 'sz', { spec: { replicas: 0 } })
    const empty = await eventually(async () => {
      const p = await dawn.get('DawnNode', ns, 'sz')
      return p.status?.observedGeneration === p.metadata.generation && (p.status?.peers ?? []).length === 0 ? p : undefined
    }, { what: 'pool sz at 0 peers' })
    expect(conditionOf(empty, 'Ready')).toMatchObject({ status: 'True', reason: 'AllReplicasReady', message: '0/0 nodes ready' })
    await eventually(async () => (await sts('sz'))?.spec?.replicas === 0 && (await pods('sz')).length === 0, { what: 'StatefulSet sz at 0, no pods' })
    expect(secretTexts((await findSecret(c, ns, 'sz-identity'))!)).toEqual(keys)
    // The only bootstrap pool of its network is empty: so is the bootstrap list, and the node still accepts its config.
    await eventually(async () => (await configOf('sz')).p2p.bootstrap.length === 0, { what: 'empty bootstrap list' })
    const cm = await c.core.readNamespacedConfigMap({ namespace: ns, name: 'sz-config' })
    expect(() => parseConfig(JSON.parse(cm.data?.['config.json'] ?? ''), '/etc/dawn/config')).not.toThrow()
    await dawn.scale(ns, 'sz', 2)
    const back = await settledPool('sz', 2)
    for (const i of [0, 1]) expect(statusPeerIds(back)[i]).toBe(peerIdFromPrivateKeyPem(keys[`${i}.key`]!))
    await eventually(async () => await pdb(), { what: 'the PDB to come back at 2 replicas' })
  })
})

describe('drift', () => {
  it('puts back a hand-edited StatefulSet, ConfigMap, PDB, a removed label and a deleted Service, one at a time', async () => {
    await dawn.create(networkManifest(ns, 'drift-net'))
    // Network Secrets first: a pool reconciled before they exist also retries on a timer, which
    // would restore drift by itself and hide a missing watch.
    await eventually(async () => await findSecret(c, ns, 'drift-net-ca') !== undefined && await findSecret(c, ns, 'drift-net-swarm-key') !== undefined, { what: 'drift-net Secrets' })
    // No PDB on this pool: the disruption controller's status updates on a PDB would wake the
    // operator too and hide a missing StatefulSet watch. The PDB gets its own pool below.
    await dawn.create(poolManifest(ns, 'dr', 'drift-net', { replicas: 2, podDisruptionBudget: { enabled: false } }))
    await dawn.create(poolManifest(ns, 'drp', 'drift-net', { replicas: 2 }))
    await settledPool('dr', 2)
    await settledPool('drp', 2)
    await eventually(async () => await sts('dr'), { what: 'StatefulSet dr' })
    const edit = { fieldManager: 'kubectl-edit' }
    const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch)
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch)
    // The reference state is taken once the operator is idle: the two bootstrap pools put each
    // other's peers into their configs, so dr's config changes once more after drp reports them.
    // Each edit below also starts from an idle operator, so only a watch can bring it back.
    await quiesce(op!)
    const original = (await sts('dr'))!
    const originalTemplate = JSON.stringify(original.spec?.template)
    const originalConfig = (await c.core.readNamespacedConfigMap({ namespace: ns, name: 'dr-config' })).data?.['config.json']
    expect(JSON.parse(originalConfig ?? '{}')).toMatchObject({ p2p: { bootstrap: expect.arrayContaining([expect.stringContaining('/dns4/drp-1.drp-headless.')]) } })

    // 1. kubectl-edit-style changes by another field manager: another image, no security context.
    const nodeIndex = original.spec?.template.spec?.containers.findIndex(x => x.name === 'node') ?? -1
    expect(nodeIndex).toBeGreaterThanOrEqual(0)
    const edited = await c.apps.patchNamespacedStatefulSet({
      namespace: ns,
      name: 'dr',
      ...edit,
      body: [
        { op: 'replace', path: `/spec/template/spec/containers/${nodeIndex}/image`, value: 'evil.invalid/miner:latest' },
        { op: 'remove', path: `/spec/template/spec/containers/${nodeIndex}/securityContext` },
        { op: 'remove', path: '/spec/template/spec/securityContext/runAsNonRoot' }
      ]
    }, jsonPatch)
    expect(edited.spec?.template.spec?.containers[nodeIndex]?.image).toBe('evil.invalid/miner:latest')
    expect(edited.spec?.template.spec?.containers[nodeIndex]?.securityContext).toBeUndefined()
    const restored = await eventually(async () => {
      const s = await sts('dr')
      return s !== undefined && (s.metadata?.generation ?? 0) > (edited.metadata?.generation ?? 0) && JSON.stringify(s.spec?.template) === originalTemplate ? s : undefined
    }, { what: 'the StatefulSet template to be restored', detail: async () => JSON.stringify((await sts('dr'))?.spec?.template.spec?.containers[nodeIndex]) })
    expect(restored.spec?.template.spec?.containers[nodeIndex]?.image).toBe('example.invalid/dawn/node:test')
    expect(restored.spec?.template.spec?.containers[nodeIndex]?.securityContext?.runAsNonRoot).toBe(true)
    expect(restored.spec?.template.spec?.securityContext?.runAsNonRoot).toBe(true)

    await quiesce(op!)
    // 2. The node config.
    await c.core.patchNamespacedConfigMap({ namespace: ns, name: 'dr-config', ...edit, body: { data: { 'config.json': '{"hand":"edited"}' } } }, mergePatch)
    await eventually(async () => (await c.core.readNamespacedConfigMap({ namespace: ns, name: 'dr-config' })).data?.['config.json'] === originalConfig,
      { what: 'config.json to be restored' })

    await quiesce(op!)
    // 3. The PDB loosened by hand.
    await eventually(async () => await c.policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'drp' }), { what: 'PDB drp' })
    await c.policy.patchNamespacedPodDisruptionBudget({ namespace: ns, name: 'drp', ...edit, body: { spec: { maxUnavailable: 2 } } }, mergePatch)
    await eventually(async () => (await c.policy.readNamespacedPodDisruptionBudget({ namespace: ns, name: 'drp' })).spec?.maxUnavailable === 1,
      { what: 'PDB maxUnavailable to be restored' })

    await quiesce(op!)
    // 4. The managed-by label removed: the object drops out of the operator's (label-selected) cache.
    await c.apps.patchNamespacedStatefulSet({ namespace: ns, name: 'dr', ...edit, body: [{ op: 'remove', path: '/metadata/labels/app.kubernetes.io~1managed-by' }] }, jsonPatch)
    await eventually(async () => (await sts('dr'))?.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'dawn-operator', { what: 'the managed-by label to be restored' })

    await quiesce(op!)
    // 5. A deleted Service.
    await c.core.deleteNamespacedService({ namespace: ns, name: 'dr-headless' })
    const headless = await eventually(async () => await c.core.readNamespacedService({ namespace: ns, name: 'dr-headless' }), { what: 'the headless Service to be re-created' })
    expect(headless.spec?.publishNotReadyAddresses).toBe(true)
    expect(JSON.stringify((await sts('dr'))?.spec?.template)).toBe(originalTemplate)
  })
})

describe('deleting a DawnNode', () => {
  it('garbage-collects everything it owned (StatefulSet, pods, Services, ConfigMap, Secrets, PDB); the network keeps its Secrets', async () => {
    await dawn.create(networkManifest(ns, 'gc-net'))
    await dawn.create(poolManifest(ns, 'gone', 'gc-net', { replicas: 3 }))
    await settledPool('gone', 3)
    await eventually(async () => (await pods('gone')).length === 3, { what: '3 pods of gone' })
    const owned = async (): Promise<string[]> => {
      const sel = { namespace: ns, labelSelector: 'mesh.dawn.dev/pool=gone' }
      const all = [
        ...(await c.apps.listNamespacedStatefulSet(sel)).items.map(x => `StatefulSet/${x.metadata?.name ?? ''}`),
        ...(await c.core.listNamespacedService(sel)).items.map(x => `Service/${x.metadata?.name ?? ''}`),
        ...(await c.core.listNamespacedConfigMap(sel)).items.map(x => `ConfigMap/${x.metadata?.name ?? ''}`),
        ...(await c.core.listNamespacedSecret(sel)).items.map(x => `Secret/${x.metadata?.name ?? ''}`),
        ...(await c.policy.listNamespacedPodDisruptionBudget(sel)).items.map(x => `PodDisruptionBudget/${x.metadata?.name ?? ''}`),
        ...(await pods('gone')).map(x => `Pod/${x.metadata?.name ?? ''}`)
      ]
      return all.sort()
    }
    await eventually(async () => (await owned()).length === 10, { what: 'all 10 objects of pool gone', detail: async () => (await owned()).join(' ') })
    expect(await owned()).toEqual([
      'ConfigMap/gone-config', 'Pod/gone-0', 'Pod/gone-1', 'Pod/gone-2', 'PodDisruptionBudget/gone', 'Secret/gone-agent-headers',
      'Secret/gone-identity', 'Service/gone', 'Service/gone-headless', 'StatefulSet/gone'
    ])

    await dawn.delete('DawnNode', ns, 'gone')
    await eventually(async () => (await owned()).length === 0, { what: 'garbage collection of everything pool gone owned', timeoutMs: 60_000, detail: async () => (await owned()).join(' ') })
    expect(await dawn.find('DawnNode', ns, 'gone')).toBeUndefined()
    // The network's Secrets belong to the network, not the pool.
    expect(await findSecret(c, ns, 'gc-net-ca')).toBeDefined()
    expect(await findSecret(c, ns, 'gc-net-swarm-key')).toBeDefined()
    // The operator took note of the deletion (the network counts no nodes) and resurrected nothing.
    await eventually(async () => (await dawn.get('DawnNetwork', ns, 'gc-net')).status?.nodesTotal === 0, { what: 'gc-net to count 0 nodes' })
    expect(await owned()).toEqual([])
    // Volumes are retained on purpose (persistentVolumeClaimRetentionPolicy: Retain): a re-created pool gets its data back.
    const pvcs = (await c.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map(p => p.metadata?.name ?? '').filter(n => n.endsWith('-gone-0') || n.endsWith('-gone-1') || n.endsWith('-gone-2'))
    expect(pvcs.sort()).toEqual(['data-gone-0', 'data-gone-1', 'data-gone-2', 'kubo-gone-0', 'kubo-gone-1', 'kubo-gone-2'])
  })
})
