// spec.monitoring on a real API server: without the prometheus-operator CRDs the network
// says so in MonitoringReady and gets only its dashboard ConfigMap; once the CRDs are
// installed (pinned, from prometheus-operator's Go module: fetch-prometheus-operator-crds.sh)
// the same running operator creates the PodMonitor, PrometheusRule and AlertmanagerConfig;
// turning one off deletes it. The CRDs are removed again afterwards (the control plane is shared).
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { KubernetesObject } from '@kubernetes/client-node'
import { cacheDir } from '../../../../test/controlplane/controlplane.ts'
import {
  ROOT, applyCrds, clients, conditionOf, createNamespace, Dawn, deleteNamespace, eventually, isNotFound, kubectl, networkManifest,
  poolManifest, printLogsOnFailure, startOperator, type RunningOperator
} from './helpers.ts'

const FETCH = 'sh test/controlplane/fetch-prometheus-operator-crds.sh'
const MONITORING = 'monitoring.coreos.com'
const PLURALS = ['podmonitors', 'prometheusrules', 'alertmanagerconfigs'] as const

/** The pinned CRD files (never copied into the repository). */
function crdFiles (): string[] {
  const line = readFileSync(join(ROOT, 'test/controlplane/versions.env'), 'utf8').split('\n').find(l => l.startsWith('PROMETHEUS_OPERATOR_VERSION='))
  const version = process.env.DAWN_PROMETHEUS_OPERATOR_VERSION ?? line?.slice(line.indexOf('=') + 1).trim()
  if (version === undefined || version === '') throw new Error('test/controlplane/versions.env lacks PROMETHEUS_OPERATOR_VERSION')
  const files = PLURALS.map(p => join(cacheDir(), `prometheus-operator-${version}`, `${MONITORING}_${p}.yaml`))
  const missing = files.filter(f => !existsSync(f))
  if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}; fetch them with: ${FETCH}`)
  return files
}

const c = clients()
const dawn = new Dawn(c)
let ns = ''
let op: RunningOperator | undefined
let files: string[] = []

type Obj = KubernetesObject & { spec: Record<string, unknown> }
const VERSIONS: Record<string, string> = { podmonitors: 'v1', prometheusrules: 'v1', alertmanagerconfigs: 'v1alpha1' }

async function findMonitoring (plural: typeof PLURALS[number], name: string): Promise<Obj | undefined> {
  try {
    return await c.custom.getNamespacedCustomObject({ group: MONITORING, version: VERSIONS[plural]!, namespace: ns, plural, name }) as Obj
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

async function crdsServed (): Promise<boolean> {
  const list = await c.custom.listClusterCustomObject({ group: MONITORING, version: 'v1', plural: 'podmonitors' }).then(() => true, (e: unknown) => isNotFound(e) ? false : Promise.reject(e as Error))
  return list
}

async function removeCrds (): Promise<void> {
  if (files.length === 0) return
  await kubectl(['delete', '--ignore-not-found', '--wait=true', ...files.flatMap(f => ['-f', f])])
  await eventually(async () => !(await crdsServed()), { what: 'the prometheus-operator CRDs to be gone' })
}

beforeAll(async () => {
  files = crdFiles()
  await applyCrds(c)
  // A run that died half-way may have left them: this file starts without.
  await removeCrds()
  ns = await createNamespace(c, 'op-monitoring')
  // Discovery looked at every 2 s instead of every minute, so the test need not wait.
  op = await startOperator(ns, { monitoringRefreshMs: 2000 })
})
afterAll(async () => {
  await op?.stop()
  await removeCrds()
  await deleteNamespace(c, ns)
})
printLogsOnFailure(() => op === undefined ? [] : [{ name: 'operator', lines: op.lines, metrics: async () => await op!.operator.metrics.text() }])

const NET = 'obs'
const monitoringSpec = {
  labels: { release: 'kube-prometheus' },
  alertmanagerConfig: { receiver: { name: 'mesh-oncall', webhook: { urlSecretRef: { name: 'oncall' } } }, matchers: [{ name: 'severity', value: 'critical' }] }
}
const condition = async (): Promise<ReturnType<typeof conditionOf>> => conditionOf(await dawn.get('DawnNetwork', ns, NET), 'MonitoringReady')

describe('spec.monitoring', () => {
  it('without the prometheus-operator CRDs: MonitoringReady says which are missing, and only the dashboard ConfigMap exists', async () => {
    expect(await crdsServed()).toBe(false)
    await c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'oncall' }, stringData: { url: 'http://alert-sink.invalid/hook' } } })
    const net = await dawn.create(networkManifest(ns, NET, { monitoring: monitoringSpec }))
    await dawn.create(poolManifest(ns, 'nodes', NET, { replicas: 2 }))

    // The operator looked, found nothing, and said so.
    const cond = await eventually(async () => {
      const x = await condition()
      return x?.reason === 'PrometheusOperatorCRDsMissing' ? x : undefined
    }, { what: 'MonitoringReady=False (PrometheusOperatorCRDsMissing)', detail: async () => JSON.stringify(await condition()) })
    expect(cond.status).toBe('False')
    expect(cond.message).toMatch(/^the cluster does not serve PodMonitor, PrometheusRule, AlertmanagerConfig \(monitoring\.coreos\.com\)/)
    expect(cond.message).toContain(`applied ConfigMap ${NET}-dashboard`)

    // The dashboard needs no CRD.
    const cm = await c.core.readNamespacedConfigMap({ namespace: ns, name: `${NET}-dashboard` })
    expect(cm.metadata?.labels).toMatchObject({ grafana_dashboard: '1', release: 'kube-prometheus', 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': NET })
    expect(cm.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'DawnNetwork', name: NET, uid: net.metadata.uid, controller: true })])
    const dashboard = JSON.parse(cm.data?.[`dawn-${NET}.json`] ?? '{}') as { title?: string, panels?: unknown[] }
    expect(dashboard.title).toBe(`Dawn mesh: ${ns}/${NET}`)
    expect(dashboard.panels?.length).toBeGreaterThan(10)
    // Nothing else can exist: the API does not serve the kinds at all.
    expect(await crdsServed()).toBe(false)
    // The rest of the network is unaffected.
    expect(conditionOf(await dawn.get('DawnNetwork', ns, NET), 'Degraded')?.status).toBe('False')
  })

  it('installing the CRDs later: the running operator creates the PodMonitor, PrometheusRule and AlertmanagerConfig', async () => {
    await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=dawn-integration-test', ...files.flatMap(f => ['-f', f])])
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...PLURALS.map(p => `crd/${p}.${MONITORING}`)])
    const net = await dawn.get('DawnNetwork', ns, NET)
    const owner = [{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNetwork', name: NET, uid: net.metadata.uid, controller: true, blockOwnerDeletion: true }]
    const labels = { release: 'kube-prometheus', 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': NET }

    const pm = await eventually(async () => await findMonitoring('podmonitors', `${NET}-nodes`), { what: 'the PodMonitor', timeoutMs: 60_000 })
    expect(pm.metadata?.ownerReferences).toEqual(owner)
    expect(pm.metadata?.labels).toMatchObject(labels)
    expect(pm.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': 'dawn-node', 'mesh.dawn.dev/network': NET } })
    expect(pm.spec.namespaceSelector).toEqual({ matchNames: [ns] })
    expect(pm.spec.podMetricsEndpoints).toEqual([expect.objectContaining({ port: 'http', path: '/metrics', interval: '30s' })])

    const pr = await eventually(async () => await findMonitoring('prometheusrules', `${NET}-alerts`), { what: 'the PrometheusRule' })
    expect(pr.metadata?.ownerReferences).toEqual(owner)
    expect(pr.metadata?.labels).toMatchObject(labels)
    const rules = (pr.spec.groups as Array<{ rules: Array<{ alert: string, expr: string, labels: Record<string, string> }> }>).flatMap(g => g.rules)
    expect(rules.find(r => r.alert === 'DawnPeersLow')?.expr).toContain(`{job="dawn-node",namespace="${ns}",network="${NET}"}`)
    // The pool's two replicas: a missing pod fires DawnNodeDown too.
    expect(rules.filter(r => r.alert === 'DawnNodeDown').map(r => r.expr)).toContain(`(count(up{job="dawn-node",namespace="${ns}",network="${NET}"}) or on() vector(0)) < 2`)
    for (const r of rules) expect(r.labels).toMatchObject({ namespace: ns, network: NET })

    const amc = await eventually(async () => await findMonitoring('alertmanagerconfigs', `${NET}-alerts`), { what: 'the AlertmanagerConfig' })
    expect(amc.metadata?.ownerReferences).toEqual(owner)
    expect(amc.spec.route).toMatchObject({
      receiver: 'mesh-oncall',
      matchers: [{ name: 'namespace', value: ns, matchType: '=' }, { name: 'network', value: NET, matchType: '=' }, { name: 'severity', value: 'critical', matchType: '=' }]
    })
    expect(amc.spec.receivers).toEqual([{ name: 'mesh-oncall', webhookConfigs: [{ urlSecret: { name: 'oncall', key: 'url' }, sendResolved: true }] }])

    const cond = await eventually(async () => {
      const x = await condition()
      return x?.status === 'True' ? x : undefined
    }, { what: 'MonitoringReady=True', detail: async () => JSON.stringify(await condition()) })
    expect(cond.reason).toBe('Applied')
    expect(cond.message).toBe(`applied PodMonitor ${NET}-nodes, PrometheusRule ${NET}-alerts, AlertmanagerConfig ${NET}-alerts, ConfigMap ${NET}-dashboard`)
  })

  it('turning one off deletes it, and leaves a same-named object the network does not own alone', async () => {
    await dawn.patch('DawnNetwork', ns, NET, { spec: { monitoring: { podMonitor: false } } })
    await eventually(async () => await findMonitoring('podmonitors', `${NET}-nodes`) === undefined, { what: 'the PodMonitor to be deleted' })
    expect(await findMonitoring('prometheusrules', `${NET}-alerts`)).toBeDefined()
    expect(await findMonitoring('alertmanagerconfigs', `${NET}-alerts`)).toBeDefined()
    await eventually(async () => (await condition())?.message.includes('PodMonitor') === false, { what: 'the condition to drop the PodMonitor' })

    // Someone else's PodMonitor of that name survives the toggle; the dashboard goes.
    await c.custom.createNamespacedCustomObject({
      group: MONITORING, version: 'v1', namespace: ns, plural: 'podmonitors',
      body: { apiVersion: `${MONITORING}/v1`, kind: 'PodMonitor', metadata: { name: `${NET}-nodes` }, spec: { selector: { matchLabels: { app: 'theirs' } }, podMetricsEndpoints: [{ port: 'web' }] } }
    })
    await dawn.patch('DawnNetwork', ns, NET, { spec: { monitoring: { grafanaDashboard: false } } })
    await eventually(async () => await c.core.readNamespacedConfigMap({ namespace: ns, name: `${NET}-dashboard` }).then(() => false, (e: unknown) => isNotFound(e)),
      { what: 'the dashboard ConfigMap to be deleted' })
    const theirs = await findMonitoring('podmonitors', `${NET}-nodes`)
    expect(theirs?.spec.selector).toEqual({ matchLabels: { app: 'theirs' } })
    expect(theirs?.metadata?.ownerReferences).toBeUndefined()

    // And back on: the PodMonitor is ours again only if the name is free, so remove theirs first.
    await c.custom.deleteNamespacedCustomObject({ group: MONITORING, version: 'v1', namespace: ns, plural: 'podmonitors', name: `${NET}-nodes` })
    await dawn.patch('DawnNetwork', ns, NET, { spec: { monitoring: { podMonitor: true } } })
    const back = await eventually(async () => await findMonitoring('podmonitors', `${NET}-nodes`), { what: 'the PodMonitor to come back' })
    expect(back.metadata?.ownerReferences?.[0]?.name).toBe(NET)
  })
})
