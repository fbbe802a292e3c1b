// Smoke test of the control plane itself: the controllers the operator relies on really run.
// No kubelet and no scheduler: pods are created but stay Pending with no node.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node'
import { loadKubeConfig, uniqueName, eventually, isNotFound } from './kube.ts'

const podTemplate = (app: string): { metadata: { labels: Record<string, string> }, spec: { containers: Array<{ name: string, image: string }> } } => ({
  metadata: { labels: { app } },
  // Never pulled: nothing runs pods here.
  spec: { containers: [{ name: 'main', image: 'example.invalid/dawn/none:0' }] }
})

describe('control plane (kube-apiserver + etcd + kube-controller-manager)', () => {
  const kc = loadKubeConfig()
  const core = kc.makeApiClient(CoreV1Api)
  const apps = kc.makeApiClient(AppsV1Api)
  const ns = uniqueName('smoke')
  let nsDeleted = false

  const pods = async (selector: string): Promise<V1Pod[]> =>
    (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items
  const podSummary = async (selector: string): Promise<string> =>
    (await pods(selector)).map(p => `${p.metadata?.name} ${p.status?.phase} owner=${p.metadata?.ownerReferences?.[0]?.kind}`).join('\n')

  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: ns } } })
    // The service-account controller gives every namespace a `default` account; pods need it.
    await eventually(async () => await core.readNamespacedServiceAccount({ namespace: ns, name: 'default' }), { what: `default service account in ${ns}` })
  })
  afterAll(async () => {
    if (!nsDeleted) await core.deleteNamespace({ name: ns }).catch(() => {})
  })

  it('serves the default namespace and the built-in RBAC roles', async () => {
    const def = await core.readNamespace({ name: 'default' })
    expect(def.status?.phase).toBe('Active')
    const sa = await core.readNamespacedServiceAccount({ namespace: 'default', name: 'default' })
    expect(sa.metadata?.name).toBe('default')
  })

  it('Deployment → ReplicaSet → 2 Pending pods, and garbage collection on delete', async () => {
    const dep = await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: podTemplate('web') }
      }
    })
    const depUid = dep.metadata?.uid

    const rs = await eventually(async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' })
      return list.items.find(r => r.metadata?.ownerReferences?.some(o => o.kind === 'Deployment' && o.uid === depUid))
    }, { what: 'the deployment controller to create a ReplicaSet' })
    const rsUid = rs.metadata?.uid

    const created = await eventually(async () => {
      const list = await pods('app=web')
      return list.length === 2 && list.every(p => p.metadata?.ownerReferences?.[0]?.uid === rsUid) ? list : undefined
    }, { what: 'the replicaset controller to create 2 pods', detail: async () => await podSummary('app=web') })
    for (const p of created) {
      expect(p.status?.phase).toBe('Pending')
      expect(p.spec?.nodeName).toBeUndefined()
      // The ServiceAccount admission plugin + token controller wired a projected token in.
      expect(p.spec?.serviceAccountName).toBe('default')
    }

    // Default propagation for Deployments is background: the garbage collector removes the rest.
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'web' })
    await eventually(async () => (await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: 'app=web' })).items.length === 0,
      { what: 'garbage collection of the ReplicaSet' })
    await eventually(async () => (await pods('app=web')).length === 0,
      { what: 'garbage collection of the pods', detail: async () => await podSummary('app=web') })
  })

  it('StatefulSet (Parallel) creates pods name-0 and name-1', async () => {
    await core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: 'db' }, spec: { clusterIP: 'None', selector: { app: 'db' }, ports: [{ port: 5432 }] } }
    })
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'db' },
        spec: {
          serviceName: 'db',
          replicas: 2,
          // OrderedReady (the default) waits for db-0 to be Ready before creating db-1,
          // which never happens without a kubelet (see the next test).
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: { app: 'db' } },
          template: podTemplate('db')
        }
      }
    })
    const names = await eventually(async () => {
      const n = (await pods('app=db')).map(p => p.metadata?.name).sort()
      return n.length === 2 ? n : undefined
    }, { what: 'the statefulset controller to create 2 pods', detail: async () => await podSummary('app=db') })
    expect(names).toEqual(['db-0', 'db-1'])

    await apps.deleteNamespacedStatefulSet({ namespace: ns, name: 'db' })
    await eventually(async () => (await pods('app=db')).length === 0, { what: 'garbage collection of the StatefulSet pods' })
  })

  it('StatefulSet (OrderedReady) stops at name-0: no kubelet makes it Ready', async () => {
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: 'ordered' },
        spec: { serviceName: 'ordered', replicas: 2, selector: { matchLabels: { app: 'ordered' } }, template: podTemplate('ordered') }
      }
    })
    await eventually(async () => (await pods('app=ordered')).length === 1, { what: 'ordered-0' })
    // Make the controller look again with ordered-0 there (a new generation), and wait until
    // it has: status.observedGeneration is written at the end of that sync.
    await apps.patchNamespacedStatefulSet({ namespace: ns, name: 'ordered', body: { spec: { replicas: 3 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    const synced = await eventually(async () => {
      const set = await apps.readNamespacedStatefulSet({ namespace: ns, name: 'ordered' })
      return set.metadata?.generation === 2 && set.status?.observedGeneration === 2 ? set : undefined
    }, { what: 'the statefulset controller to sync generation 2' })
    expect(synced.status?.replicas).toBe(1)
    expect(synced.status?.readyReplicas ?? 0).toBe(0)
    expect((await pods('app=ordered')).map(p => p.metadata?.name)).toEqual(['ordered-0'])
  })

  it('deleting the namespace finalizes it (namespace controller)', async () => {
    await core.deleteNamespace({ name: ns })
    nsDeleted = true
    await eventually(async () => {
      try { await core.readNamespace({ name: ns }); return false } catch (e) { if (isNotFound(e)) return true; throw e }
    }, { what: `namespace ${ns} to be gone`, timeoutMs: 60_000 })
  })
})
