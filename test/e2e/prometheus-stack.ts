// A real Prometheus (Debian's) and Alertmanager, and a webhook receiver, run inside the
// cluster's network namespace for the live alert test: Prometheus discovers the node pods
// through the Kubernetes API (kubernetes_sd, as a PodMonitor would have prometheus-operator
// configure it) and scrapes them at their pod IPs; the host reaches Prometheus through a
// loopback bridge.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { cacheDir } from '../controlplane/controlplane.ts'
import { clusterPaths } from '../cluster/layout.ts'
import { inClusterNet } from '../cluster/namespaces.ts'
import { killPid, startProcess, tail, type Proc } from '../support/processes.ts'
import { eventually } from './access.ts'

const HERE = fileURLToPath(new URL('.', import.meta.url))
export const PROMETHEUS_PORT = 9090
export const ALERTMANAGER_PORT = 9093
export const WEBHOOK_PORT = 9095
/** Where the in-namespace components reach each other. */
export const WEBHOOK_URL = `http://127.0.0.1:${WEBHOOK_PORT}/alerts`
const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager'
/** Built by scripts/fetch-prometheus.sh: Debian's Prometheus has no Kubernetes service discovery. */
function prometheusBin (): string {
  const v = /^PROMETHEUS_VERSION=(\S+)$/m.exec(readFileSync(fileURLToPath(new URL('../controlplane/versions.env', import.meta.url)), 'utf8'))?.[1] ?? ''
  return join(cacheDir(), `prometheus-${v}`, 'bin', 'prometheus')
}

export interface Notification { status: 'firing' | 'resolved', alerts: Array<{ status: string, labels: Record<string, string> }> }

export interface PrometheusStack {
  dir: string
  /** The kubeconfig Prometheus uses for discovery (inside the namespace). */
  kubeconfig: string
  notifications: () => Notification[]
  /** Throws, with its log, if a component has exited. */
  check: () => void
  stop: () => Promise<void>
}

export function missingMonitoringTools (): string | undefined {
  if (!existsSync(prometheusBin())) return `${prometheusBin()} is missing: run sh scripts/fetch-prometheus.sh`
  if (!existsSync(ALERTMANAGER_BIN)) return `${ALERTMANAGER_BIN} is missing: run sh scripts/install-debian-packages.sh (Debian package prometheus-alertmanager)`
  return undefined
}

/** Starts the three in the namespace; `prometheusConfig` is given the rule files, the Alertmanager address and the discovery kubeconfig. */
export async function startPrometheusStack (o: {
  prometheusConfig: (paths: { kubeconfig: string, ruleFiles: string[], alertmanager: string }) => string
  /** Rule files by name: content. */
  ruleFiles: Record<string, string>
  alertmanagerConfig: (webhookUrl: string) => string
}): Promise<PrometheusStack> {
  const missing = missingMonitoringTools()
  if (missing !== undefined) throw new Error(missing)
  const dir = mkdtempSync(join(tmpdir(), 'dawn-prometheus-'))
  const recorded = join(dir, 'notifications.jsonl')
  const kubeconfig = join(clusterPaths().state, 'admin.kubeconfig')
  const [net, ...netArgs] = inClusterNet()
  const procs: Proc[] = []
  const launch = (name: string, argv: string[]): void => { procs.push(startProcess(name, net!, [...netArgs, ...argv], dir)) }
  const ruleFiles = Object.entries(o.ruleFiles).map(([name, content]) => { writeFileSync(join(dir, name), content); return join(dir, name) })
  writeFileSync(join(dir, 'alertmanager.yml'), o.alertmanagerConfig(WEBHOOK_URL))
  writeFileSync(join(dir, 'prometheus.yml'), o.prometheusConfig({ kubeconfig, ruleFiles, alertmanager: `127.0.0.1:${ALERTMANAGER_PORT}` }))
  launch('webhook', [process.execPath, '--disable-warning=ExperimentalWarning', join(HERE, 'webhook-recorder-main.ts'), '127.0.0.1', String(WEBHOOK_PORT), recorded])
  launch('alertmanager', [ALERTMANAGER_BIN, `--config.file=${join(dir, 'alertmanager.yml')}`, `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${ALERTMANAGER_PORT}`, '--cluster.listen-address=', '--log.level=warn'])
  launch('prometheus', [prometheusBin(), `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${PROMETHEUS_PORT}`, '--web.enable-lifecycle', '--log.level=warn'])
  const stop = async (): Promise<void> => {
    for (const p of procs.reverse()) if (p.child.pid !== undefined) await killPid(p.child.pid, 5000)
    rmSync(dir, { recursive: true, force: true })
  }
  const check = (): void => {
    const gone = procs.find(p => p.exit !== undefined)
    if (gone !== undefined) throw new Error(`${gone.name} exited (code ${String(gone.exit)}):\n${tail(gone.log)}`)
  }
  return {
    dir,
    kubeconfig,
    notifications: () => existsSync(recorded)
      ? readFileSync(recorded, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l) as Notification)
      : [],
    check,
    stop
  }
}

/** Waits until Prometheus answers on `url` (a bridge to its port), failing at once if a component of `stack` died. */
export async function prometheusReady (stack: PrometheusStack, url: string): Promise<void> {
  await eventually(async () => {
    stack.check()
    return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(3000) })).ok
  }, { what: 'Prometheus ready', timeoutMs: 60_000 })
  // A component that could not bind exits within moments of its start.
  await new Promise(r => setTimeout(r, 1000))
  stack.check()
}

/** An instant query's result vector. */
export async function query (url: string, expr: string): Promise<Array<{ metric: Record<string, string>, value: [number, string] }>> {
  const r = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(10_000) })
  const body = await r.json() as { status: string, error?: string, data?: { resultType: string, result: Array<{ metric: Record<string, string>, value: [number, string] }> } }
  if (body.status !== 'success') throw new Error(`query ${expr}: ${body.error ?? r.status}`)
  return body.data?.result ?? []
}
