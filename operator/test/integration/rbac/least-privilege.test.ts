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

interface Rule { apiGroups?: string[], resources?: string[], verbs: string[], resourceNames?: string[] }
interface Obj { apiVersion: string, kind: string, metadata: { name: string, namespace?: string }, rules?: Rule[], roleRef?: { name: string }, subjects?: Array<{ name: string, namespace?: string }> }

const CLUSTER_SCOPED = new Set(['ClusterRole', 'ClusterRoleBinding'])
const RBAC = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'])

/** `group/resource:verb` for every resource rule, `*` kept as is. */
const flatten = (rules: Rule[]): Set<string> => new Set(rules.flatMap(r =>
  (r.apiGroups ?? ['']).flatMap(g => (r.resources ?? []).flatMap(res => r.verbs.map(v => `${g}/${res}:${v}`)))))

/**
 * The operator runs as the ServiceAccount the chart creates (through manifests/install.yaml's
 * renderer, i.e. `helm template` of charts/dawn), with exactly its RBAC, in both modes:
 * cluster-wide and single-namespace. If a rule is missing, the pool never appears. What the
 * token may do, as the apiserver itself reports it (SelfSubjectRulesReview), is exactly what
 * the chart grants plus what any authenticated account may do, and the forbidden calls below
 * are refused.
 */
for (const mode of ['cluster-wide', 'single-namespace'] as const) {
  describe(`the chart's RBAC is enough, and no more (${mode})`, () => {
    const admin = kubeClient()
    const applier = new Applier({ client: admin })
    let systemNs: string
    let userNs: string
    let otherNs: string
    let operator: Operator | undefined
    let asOperator: KubeClient
    let asNobody: KubeClient
    let granted: Obj[] = []

    const clientFor = async (sa: string): Promise<KubeClient> => {
      const token = await admin.request<{ status: { token: string } }>({
        method: 'POST',
        path: `/api/v1/namespaces/${systemNs}/serviceaccounts/${sa}/token`,
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } }
      })
      const adminConfig = new KubeConfig()
      adminConfig.loadFromFile(inject('kubeconfig'))
      const cluster = adminConfig.getCurrentCluster()
      if (cluster === null) throw new Error('no cluster in kubeconfig')
      const kc = new KubeConfig()
      kc.loadFromOptions({ clusters: [cluster], users: [{ name: sa, token: token.status.token }], contexts: [{ name: 'sa', cluster: cluster.name, user: sa }], currentContext: 'sa' })
      return new KubeClient({ kubeConfig: kc })
    }

    /** What `client` may do in `namespace`, as the apiserver reports it. */
    const rulesOf = async (client: KubeClient, namespace: string): Promise<Set<string>> => {
      const review = await client.request<{ status: { resourceRules: Rule[] } }>({
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews',
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace } }
      })
      return flatten(review.status.resourceRules)
    }

    beforeAll(async () => {
      for (const text of renderCrdFiles().values()) await applier.apply(parse(text) as { apiVersion: string, kind: string })
      systemNs = await createNamespace(admin, 'dawn-system')
      userNs = await createNamespace(admin, 'team')
      otherNs = await createNamespace(admin, 'other')
      const objects = await installObjects({ namespace: systemNs, image: 'dawn/operator:test', replicas: 1, ...(mode === 'single-namespace' ? { watchNamespace: userNs } : {}) }) as Obj[]
      for (const obj of objects) {
        if (!RBAC.has(obj.kind)) continue
        // Cluster-wide names get the test's suffix so parallel runs cannot collide.
        if (CLUSTER_SCOPED.has(obj.kind)) obj.metadata.name = `${obj.metadata.name}-${systemNs}`
        if (obj.kind === 'ClusterRoleBinding' && obj.roleRef !== undefined) obj.roleRef.name = `dawn-operator-${systemNs}`
        await applier.apply(obj)
        granted.push(obj)
      }
      expect(granted.some(o => o.kind === 'ClusterRole')).toBe(mode === 'cluster-wide')
      await applier.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody', namespace: systemNs } })
      asOperator = await clientFor('dawn-operator')
      asNobody = await clientFor('nobody')
      operator = createOperator({
        client: asOperator,
        ...(mode === 'single-namespace' ? { namespace: userNs } : {}),
        leaderElection: { enabled: true, namespace: systemNs, leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 }
      })
      await operator.start()
    })
    afterAll(async () => {
      await operator?.stop()
      for (const ns of [userNs, otherNs, systemNs]) await deleteNamespace(admin, ns)
      for (const obj of granted) if (CLUSTER_SCOPED.has(obj.kind)) await applier.deleteIfExists(obj).catch(() => false)
      granted = []
    })

    it('reconciles a network and a pool as the ServiceAccount', async () => {
      await applier.apply({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNetwork', metadata: { name: 'net', namespace: userNs }, spec: {} })
      await applier.apply({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', metadata: { name: 'pool', namespace: userNs }, spec: { networkRef: { name: 'net' }, replicas: 2 } })
      const node = await eventually(async () => {
        const n = await applier.get<{ apiVersion: string, kind: string, status?: { peers?: unknown[] } }>({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', namespace: userNs, name: 'pool' })
        const sts = await applier.get({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace: userNs, name: 'pool' })
        return sts !== undefined && n?.status?.peers?.length === 2 ? n : undefined
      }, { what: 'the pool reconciled under the chart\'s RBAC', timeoutMs: 60_000 })
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

    it('may do exactly what the chart grants, and is refused the rest', async () => {
      const baseline = await rulesOf(asNobody, userNs)
      const role = granted.find(o => o.kind === (mode === 'cluster-wide' ? 'ClusterRole' : 'Role') && !o.metadata.name.endsWith('-leader-election') && (o.metadata.namespace === undefined || o.metadata.namespace === userNs))
      expect(role?.rules, 'the chart\'s operator role').toBeDefined()
      const chart = flatten(role?.rules ?? [])
      const actual = await rulesOf(asOperator, userNs)
      const beyond = [...actual].filter(r => !chart.has(r) && !baseline.has(r))
      expect(beyond, 'granted beyond the chart').toEqual([])
      expect([...chart].filter(r => !actual.has(r)), 'chart rules the apiserver does not grant').toEqual([])
      // Outside the watched namespace, single-namespace mode grants nothing of its own.
      const elsewhere = [...await rulesOf(asOperator, otherNs)].filter(r => !baseline.has(r))
      if (mode === 'single-namespace') expect(elsewhere).toEqual([])
      else expect(elsewhere.length).toBeGreaterThan(0)

      const status = async (req: Parameters<KubeClient['request']>[0]): Promise<number> => await asOperator.request(req).then(() => 200, (e: unknown) => e instanceof KubeApiError ? e.status : -1)
      expect(await status({ method: 'GET', path: `/api/v1/namespaces/${userNs}/pods` })).toBe(403)
      expect(await status({ method: 'DELETE', path: `/apis/mesh.dawn.dev/v1alpha1/namespaces/${userNs}/dawnnodes/pool` })).toBe(403)
      expect(await status({ method: 'GET', path: '/api/v1/nodes' })).toBe(403)
      expect(await status({ method: 'GET', path: `/api/v1/namespaces/${otherNs}/secrets` })).toBe(mode === 'single-namespace' ? 403 : 200)
    })
  })
}
