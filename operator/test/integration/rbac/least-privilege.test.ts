import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { KubeConfig } from '@kubernetes/client-node'
import { Applier } from '../../../src/runtime/apply.ts'
import { KubeClient } from '../../../src/runtime/kube-client.ts'
import { KubeApiError } from '../../../src/runtime/errors.ts'
import { renderCrdFiles } from '../../../src/api/crds.ts'
import { parse } from 'yaml'
import { installObjects } from '../../../src/install/install-manifest.ts'
import { createOperator, type Operator } from '../../../src/operator.ts'
import { kubeClient, createNamespace, deleteNamespace, eventually } from '../runtime/helpers.ts'
import { inject } from 'vitest'
import type {} from '../../../../test/controlplane/global-setup.ts'

/**
 * The operator runs as the ServiceAccount of manifests/install.yaml, with exactly
 * its RBAC: if a rule is missing, the pool never appears; if the role were too
 * broad, the forbidden reads below would succeed.
 */
describe('the shipped RBAC is enough, and no more', () => {
  const admin = kubeClient()
  const applier = new Applier({ client: admin })
  let systemNs: string
  let userNs: string
  let operator: Operator | undefined
  let asOperator: KubeClient

  beforeAll(async () => {
    for (const text of renderCrdFiles().values()) await applier.apply(parse(text) as { apiVersion: string, kind: string })
    systemNs = await createNamespace(admin, 'dawn-system')
    userNs = await createNamespace(admin, 'team')
    const clusterScoped = new Set(['ClusterRole', 'ClusterRoleBinding'])
    const rbac = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'])
    for (const obj of await installObjects({ namespace: systemNs, image: 'dawn/operator:test', replicas: 1 }) as Array<{ apiVersion: string, kind: string, metadata: { name: string } }>) {
      if (!rbac.has(obj.kind)) continue
      // Cluster-wide names get the test's suffix so parallel runs cannot collide.
      if (clusterScoped.has(obj.kind)) obj.metadata.name = `${obj.metadata.name}-${systemNs}`
      if (obj.kind === 'ClusterRoleBinding') (obj as unknown as { roleRef: { name: string } }).roleRef.name = `dawn-operator-${systemNs}`
      await applier.apply(obj)
    }
    const token = await admin.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${systemNs}/serviceaccounts/dawn-operator/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } }
    })
    const adminConfig = new KubeConfig()
    adminConfig.loadFromFile(inject('kubeconfig'))
    const cluster = adminConfig.getCurrentCluster()
    if (cluster === null) throw new Error('no cluster in kubeconfig')
    const kc = new KubeConfig()
    kc.loadFromOptions({
      clusters: [cluster],
      users: [{ name: 'dawn-operator', token: token.status.token }],
      contexts: [{ name: 'sa', cluster: cluster.name, user: 'dawn-operator' }],
      currentContext: 'sa'
    })
    asOperator = new KubeClient({ kubeConfig: kc })
    operator = createOperator({ client: asOperator, leaderElection: { enabled: true, namespace: systemNs, leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 } })
    await operator.start()
  })
  afterAll(async () => {
    await operator?.stop()
    await deleteNamespace(admin, userNs)
    await deleteNamespace(admin, systemNs)
  })

  it('reconciles a network and a pool as the ServiceAccount', async () => {
    await applier.apply({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNetwork', metadata: { name: 'net', namespace: userNs }, spec: {} })
    await applier.apply({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', metadata: { name: 'pool', namespace: userNs }, spec: { networkRef: { name: 'net' }, replicas: 2 } })
    const node = await eventually(async () => {
      const n = await applier.get<{ apiVersion: string, kind: string, status?: { peers?: unknown[] } }>({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', namespace: userNs, name: 'pool' })
      const sts = await applier.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: userNs, name: 'pool' })
      return sts !== undefined && n?.status?.peers?.length === 2 ? n : undefined
    }, { what: 'the pool reconciled under the shipped RBAC', timeoutMs: 60_000 })
    expect(node.status?.peers).toHaveLength(2)
    const lease = await applier.get<{ apiVersion: string, kind: string, spec?: { holderIdentity?: string } }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: systemNs, name: 'dawn-operator' })
    expect(lease?.spec?.holderIdentity).toBeTruthy()
    // Events are written too (their RBAC is part of the role).
    const events = await eventually(async () => {
      const list = await admin.request<{ items: Array<{ reason?: string, regarding?: { name?: string } }> }>({ method: 'GET', path: `/apis/events.k8s.io/v1/namespaces/${userNs}/events` })
      const reasons = list.items.map(e => `${e.regarding?.name ?? ''}:${e.reason ?? ''}`)
      return reasons.includes('pool:IdentitiesGenerated') && reasons.includes('net:SecretGenerated') ? reasons : undefined
    }, { what: 'IdentitiesGenerated and SecretGenerated events' })
    expect(events).toContain('pool:CertificatesIssued')
  })

  it('cannot read pods, or touch the specs of Dawn resources', async () => {
    const status = async (req: Parameters<KubeClient['request']>[0]): Promise<number> => await asOperator.request(req).then(() => 200, (e: unknown) => e instanceof KubeApiError ? e.status : -1)
    expect(await status({ method: 'GET', path: `/api/v1/namespaces/${userNs}/pods` })).toBe(403)
    expect(await status({ method: 'DELETE', path: `/apis/mesh.dawn.dev/v1alpha1/namespaces/${userNs}/dawnnodes/pool` })).toBe(403)
    expect(await status({ method: 'GET', path: '/api/v1/nodes' })).toBe(403)
  })
})
