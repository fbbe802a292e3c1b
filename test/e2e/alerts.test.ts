// The shipped alerts, live: a real Prometheus discovers a 3-node pool through the Kubernetes
// API with the PodMonitor's relabelling and scrapes the pods; it evaluates the network's
// PrometheusRule and sends to a real Alertmanager, routed by the network's
// AlertmanagerConfig to a webhook receiver. A node that goes away fires DawnNodeDown and its
// return resolves it; a node cut off from its peers fires DawnMeshPartitioned and the heal
// resolves it. Every dashboard query returns data from the live nodes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { DawnNetwork } from '../../operator/src/api/index.ts'
import {
  dashboardQueries, NODE_JOB, renderPlainAlertmanagerConfig, renderPlainScrapeConfig, renderPrometheusRule
} from '../../operator/src/render/index.ts'
import type { ClusterChaosTarget } from '../chaos/cluster/target.ts'
import { NODE_NAME } from '../cluster/layout.ts'
import { dumpOnFailure, eventually, kubectl } from './access.ts'
import { attachChaosTarget } from './chaos-cluster.ts'
import { PoolFixture } from './pool-fixture.ts'
import { PROMETHEUS_PORT, prometheusReady, query, startPrometheusStack, WEBHOOK_URL, type Notification, type PrometheusStack } from './prometheus-stack.ts'

const f = new PoolFixture()
const NET = 'mon'
const POOL = 'watched'
let stack: PrometheusStack | undefined
let prom = ''
let chaos: ClusterChaosTarget | undefined

/** Waits for a notification about `alert` with `status`, and returns it. */
async function notified (alert: string, status: 'firing' | 'resolved', timeoutMs = 300_000): Promise<Notification> {
  return await eventually(async () => stack?.notifications().find(n => n.status === status && n.alerts.some(a => a.labels.alertname === alert && a.status === status)),
    { what: `a ${status} ${alert} notification at the webhook`, timeoutMs, intervalMs: 2000, detail: async () => JSON.stringify(await query(prom, 'ALERTS')) })
}

const upNodes = async (): Promise<number> => Number((await query(prom, `count(up{job="${NODE_JOB}",namespace="${f.ns}"} == 1)`))[0]?.value[1] ?? 0)

dumpOnFailure(() => f.ns)

beforeAll(async () => {
  await f.createNamespace('e2e-alerts')
  await f.c.core.createNamespacedSecret({ namespace: f.ns, body: { metadata: { name: 'alert-webhook' }, stringData: { url: WEBHOOK_URL } } })
  await f.apply(
    f.network(NET, {
      monitoring: {
        interval: '5s',
        alertmanagerConfig: { receiver: { name: 'test-webhook', webhook: { urlSecretRef: { name: 'alert-webhook' } } }, groupWait: '1s', groupInterval: '5s', repeatInterval: '1h' }
      }
    }),
    f.pool(POOL, NET, { replicas: 3 }),
    f.agent('echo', NET)
  )
  await f.readyPool(POOL, 3)
  const net: DawnNetwork = await f.dawn.get('DawnNetwork', f.ns, NET)
  stack = await startPrometheusStack({
    ruleFiles: { 'rules.json': JSON.stringify({ groups: renderPrometheusRule(net, { expectedNodes: 3 }).spec.groups }) },
    alertmanagerConfig: url => JSON.stringify(renderPlainAlertmanagerConfig(net, { webhookUrl: url })),
    prometheusConfig: ({ kubeconfig, ruleFiles, alertmanager }) => JSON.stringify({
      global: { scrape_interval: '5s', evaluation_interval: '5s' },
      rule_files: ruleFiles,
      alerting: { alertmanagers: [{ static_configs: [{ targets: [alertmanager] }] }] },
      scrape_configs: [
        renderPlainScrapeConfig({ networks: [{ namespace: f.ns, name: NET }], interval: '5s', kubeconfigFile: kubeconfig }),
        // The operator, as the chart's ServiceMonitor would have it scraped.
        {
          job_name: 'dawn-operator',
          scrape_interval: '5s',
          kubernetes_sd_configs: [{ role: 'pod', kubeconfig_file: kubeconfig, namespaces: { names: ['dawn-system'] } }],
          relabel_configs: [
            { action: 'keep', source_labels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'], regex: 'dawn-operator' },
            { action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: 'metrics' }
          ]
        }
      ]
    })
  })
  prom = await f.bridges.url('127.0.0.1', PROMETHEUS_PORT)
  await prometheusReady(stack, prom)
  // The rules are loaded: every Dawn alert is known to Prometheus.
  const rules = await (await fetch(`${prom}/api/v1/rules`)).json() as { data: { groups: Array<{ rules: Array<{ name: string }> }> } }
  expect(rules.data.groups.flatMap(g => g.rules.map(r => r.name))).toEqual(expect.arrayContaining(['DawnNodeDown', 'DawnMeshPartitioned']))
  await eventually(async () => await upNodes() === 3, { what: 'Prometheus to scrape all 3 nodes', timeoutMs: 120_000, intervalMs: 1000 })
})

afterAll(async () => {
  await kubectl(['uncordon', NODE_NAME]).catch(() => '')
  await chaos?.close().catch(() => {})
  await stack?.stop()
  await f.dispose()
})

describe('live alerts', () => {
  it('every dashboard query returns data from the live nodes', async () => {
    // Some traffic, so that rates and histograms have samples: content, tool calls across
    // nodes, and calls that fail.
    const pods = await f.pods(POOL)
    const ids = await Promise.all(pods.map(async p => (await f.node(p)).peerId))
    const client = new Client({ name: 'dawn-e2e', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', await f.nodeUrl(pods[0]!))))
    try {
      for (let i = 0; i < 5; i++) {
        await fetch(`${await f.nodeUrl(pods[0]!)}/api/v1/content`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(`dashboard ${i}`) })
        for (const id of ids.slice(1)) await client.callTool({ name: `${id.slice(-10)}.echo.echo`, arguments: { text: `call ${i}` } })
        // A call the mesh cannot deliver: an agent no node hosts.
        const failed = await fetch(`${await f.nodeUrl(pods[0]!)}/api/v1/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target: `${ids[1]!}:no-such-agent`, tool: 'echo' }) })
        expect(failed.ok).toBe(false)
      }
    } finally { await client.close() }
    const queries = dashboardQueries({ namespace: f.ns, network: NET, rateInterval: '1m' })
    expect(queries.length).toBeGreaterThan(10)
    let none: string[] = []
    const empty = await eventually(async () => {
      none = []
      for (const q of queries) if ((await query(prom, q.expr)).length === 0) none.push(`${q.panel} [${q.refId}]: ${q.expr}`)
      return none.length === 0 ? none : undefined
    }, { what: 'every dashboard query to return data', timeoutMs: 180_000, intervalMs: 5000, detail: async () => `no data:\n${none.join('\n')}` })
    expect(empty).toEqual([])
  })

  it('a node that goes away fires DawnNodeDown at the webhook, and its return resolves it', async () => {
    // Cordoned, the single node cannot take the replacement pod: the node stays away.
    await kubectl(['cordon', NODE_NAME])
    await f.c.core.deleteNamespacedPod({ namespace: f.ns, name: `${POOL}-2` })
    await eventually(async () => {
      const p = (await f.pods(POOL)).find(x => x.metadata?.name === `${POOL}-2`)
      return p?.status?.phase === 'Pending' && p.status.podIP === undefined
    }, { what: `${POOL}-2 to be Pending, unscheduled`, timeoutMs: 60_000 })
    await eventually(async () => await upNodes() === 2, { what: 'Prometheus to see 2 nodes', timeoutMs: 120_000 })
    const firing = await notified('DawnNodeDown', 'firing')
    expect(firing.alerts.find(a => a.labels.alertname === 'DawnNodeDown')?.labels).toMatchObject({ namespace: f.ns, network: NET })
    await kubectl(['uncordon', NODE_NAME])
    await f.readyPool(POOL, 3)
    await notified('DawnNodeDown', 'resolved')
  })

  it('a node cut off from its peers fires DawnMeshPartitioned, and the heal resolves it', async () => {
    const [p0] = await f.pods(POOL)
    // Pod-to-pod traffic only, inside the pods' network namespaces; Prometheus's scrapes come from the node, not another pod.
    chaos = await attachChaosTarget(f, NET, POOL, 3)
    await chaos.partition([[0], [1, 2]])
    // Proof that the cut happened: the node itself reports no verified peer.
    await eventually(async () => {
      const peers = await f.node<Array<{ verified: boolean }>>(p0!, '/api/v1/peers')
      return peers.filter(p => p.verified).length === 0
    }, { what: `${POOL}-0 to lose every peer`, timeoutMs: 180_000, intervalMs: 2000 })
    await notified('DawnMeshPartitioned', 'firing')
    await chaos.heal()
    await eventually(async () => (await f.node<Array<{ verified: boolean }>>(p0!, '/api/v1/peers')).filter(p => p.verified).length === 2,
      { what: `${POOL}-0 to verify both peers again`, timeoutMs: 180_000, intervalMs: 2000 })
    await notified('DawnMeshPartitioned', 'resolved')
  })
})

