// The whole runtime against a real control plane: a Manager with leader election runs a
// controller for a test CRD (Widget) that owns one ConfigMap per Widget and reports status.
// This is the shape the operator's own controllers take.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { V1ConfigMap } from '@kubernetes/client-node'
import { Controller, watch, ownerKeys } from '../../../src/runtime/controller.ts'
import { createInformer } from '../../../src/runtime/informer.ts'
import { Manager } from '../../../src/runtime/manager.ts'
import { LeaderElector } from '../../../src/runtime/leader-election.ts'
import { OperatorMetrics, MetricsServer } from '../../../src/runtime/metrics.ts'
import { Applier } from '../../../src/runtime/apply.ts'
import type { KubeClient, ResourceRef } from '../../../src/runtime/kube-client.ts'
import { kubeClient, createNamespace, deleteNamespace, installWidgetCrd, eventually, CONFIGMAPS, type Widget } from './helpers.ts'

/** One operator replica: informers, controller, elector, metrics. */
function replica (client: KubeClient, widgets: ResourceRef, ns: string, identity: string): {
  manager: Manager, elector: LeaderElector, metrics: OperatorMetrics, server: MetricsServer, reconciles: string[]
} {
  const applier = new Applier({ client })
  const widgetInf = createInformer<Widget>(client, widgets, { namespace: ns })
  const cmInf = createInformer<V1ConfigMap>(client, CONFIGMAPS, { namespace: ns, labelSelector: 'app.kubernetes.io/managed-by=dawn-operator' })
  const metrics = new OperatorMetrics({ defaultMetrics: false })
  const reconciles: string[] = []

  const controller = new Controller<Widget>({
    name: 'Widget',
    primary: widgetInf,
    watches: [watch(cmInf, ownerKeys({ group: widgets.group, kind: 'Widget' }))],
    metrics,
    concurrency: 2,
    reconcile: async (key, signal, { object: w, name, namespace }) => {
      reconciles.push(key)
      if (w === undefined || w.metadata?.deletionTimestamp !== undefined) return // garbage collection removes what we own
      await applier.apply({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `${name}-config`,
          namespace,
          labels: { 'app.kubernetes.io/managed-by': 'dawn-operator' },
          ownerReferences: [{ apiVersion: w.apiVersion ?? 'test.dawn.dev/v1', kind: 'Widget', name, uid: w.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }]
        },
        data: { size: String(w.spec?.size ?? 0), color: w.spec?.color ?? 'none' }
      }, { signal })
      await applier.applyStatus<Widget>({
        apiVersion: w.apiVersion, kind: 'Widget', metadata: { name, namespace },
        status: { phase: 'Ready', observedGeneration: w.metadata?.generation ?? 0 }
      }, { signal })
      return undefined
    }
  })

  const elector = new LeaderElector({ client, namespace: ns, name: 'widget-operator', identity, leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 500 })
  const server = new MetricsServer({ metrics, port: 0, host: '127.0.0.1' })
  const manager = new Manager({ controllers: [controller], elector, metrics, server, shutdownGraceMs: 2000 })
  return { manager, elector, metrics, server, reconciles }
}

describe('Controller + Manager + LeaderElector against kube-apiserver', () => {
  const client = kubeClient()
  const applier = new Applier({ client })
  let ns = ''
  let widgets: ResourceRef
  const replicas: Array<ReturnType<typeof replica>> = []

  beforeAll(async () => {
    widgets = await installWidgetCrd(client)
    ns = await createNamespace(client, 'ctrl')
  })
  afterAll(async () => {
    await Promise.all(replicas.map(async r => { await r.manager.stop() }))
    await deleteNamespace(client, ns)
  })

  const widget = (name: string, size: number, color = 'blue'): Widget => ({ apiVersion: 'test.dawn.dev/v1', kind: 'Widget', metadata: { name, namespace: ns }, spec: { size, color } })
  const config = async (name: string): Promise<V1ConfigMap | undefined> => await applier.get<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: `${name}-config` })

  it('reconciles: owned object created, status written, drift repaired, spec changes followed, deletion garbage-collected', async () => {
    await applier.apply(widget('w1', 1))
    const r = replica(client, widgets, ns, 'replica-a')
    replicas.push(r)
    await r.manager.start()
    await r.elector.waitForLeadership(AbortSignal.timeout(15_000))

    // Existing object reconciled on start.
    const cm = await eventually(async () => await config('w1'), { what: 'w1-config' })
    expect(cm.data).toEqual({ size: '1', color: 'blue' })
    expect(cm.metadata?.ownerReferences?.[0]?.kind).toBe('Widget')
    await eventually(async () => (await applier.get<Widget>(widget('w1', 1)))?.status?.phase === 'Ready', { what: 'w1 status' })

    // Drift: someone deletes the owned ConfigMap → the watch on ConfigMaps maps it back to w1.
    const uid = cm.metadata?.uid
    await applier.deleteIfExists(cm)
    const again = await eventually(async () => { const c = await config('w1'); return c?.metadata?.uid !== uid ? c : undefined }, { what: 'w1-config recreated' })
    expect(again.data?.size).toBe('1')

    // Spec change → generation 2 → reconciled, status follows.
    await applier.apply(widget('w1', 5, 'green'))
    await eventually(async () => (await config('w1'))?.data?.size === '5', { what: 'size 5' })
    await eventually(async () => (await applier.get<Widget>(widget('w1', 5)))?.status?.observedGeneration === 2, { what: 'observedGeneration 2' })

    // Metrics and probes of the running replica.
    const base = `http://127.0.0.1:${r.server.port}`
    const text = await (await fetch(`${base}/metrics`)).text()
    expect(text).toMatch(/dawn_operator_reconcile_total\{kind="Widget",result="success"\} [1-9]/)
    expect(text).toContain('dawn_operator_is_leader 1')
    expect(text).toMatch(/dawn_operator_informer_synced\{informer="widgets.test.dawn.dev in ctrl-[0-9a-f]+"\} 1/)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)

    // Deleting the Widget: kube-controller-manager's garbage collector removes what it owned.
    await applier.deleteIfExists(widget('w1', 0))
    await eventually(async () => (await config('w1')) === undefined, { what: 'w1-config garbage-collected', timeoutMs: 60_000 })
  })

  it('only the leader reconciles; when it stops, the standby takes over and catches up', async () => {
    const a = replicas[0] ?? replica(client, widgets, ns, 'replica-a')
    if (replicas.length === 0) { replicas.push(a); await a.manager.start() }
    const b = replica(client, widgets, ns, 'replica-b')
    replicas.push(b)
    await b.manager.start()
    await a.elector.waitForLeadership(AbortSignal.timeout(15_000))

    await applier.apply(widget('w2', 2))
    await eventually(async () => await config('w2'), { what: 'w2-config by the leader' })
    expect(b.reconciles).toEqual([])
    expect(b.elector.isLeader()).toBe(false)
    // The standby is ready too (warm caches), just not leading.
    expect((await fetch(`http://127.0.0.1:${b.server.port}/readyz`)).status).toBe(200)
    expect(await (await fetch(`http://127.0.0.1:${b.server.port}/metrics`)).text()).toContain('dawn_operator_is_leader 0')

    const t0 = performance.now()
    await a.manager.stop() // graceful: controllers stop, then the Lease is released
    await b.elector.waitForLeadership(AbortSignal.timeout(10_000))
    process.stderr.write(`[timing] manager stop → standby leading after ${Math.round(performance.now() - t0)} ms\n`)
    // Work that arrived during the hand-over is not lost: the new leader reconciles everything on start.
    await applier.apply(widget('w3', 3))
    await eventually(async () => await config('w3'), { what: 'w3-config by the new leader' })
    expect(b.reconciles).toContain(`${ns}/w2`)
    expect(b.reconciles).toContain(`${ns}/w3`)
  })
})
