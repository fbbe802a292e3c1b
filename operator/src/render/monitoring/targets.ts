// The node scrape for a Prometheus without Kubernetes service discovery (Debian's
// prometheus package is built without kubernetes_sd_configs): the caller lists the pods,
// and these functions turn them into static target groups carrying exactly the labels
// the PodMonitor's relabellings give (they run the same relabellings on the same
// `__meta_kubernetes_*` labels a pod would have in service discovery).
import type { V1Pod } from '@kubernetes/client-node'
import { LABELS, NODE_APP } from '../labels.ts'
import { METRICS_PATH, METRICS_PORT, NODE_JOB, nodePodSelector, podLabelMeta } from './common.ts'
import { nodeRelabelings, type RelabelConfig } from './scrape.ts'

/** Prometheus's relabelling for the actions the scrapes use (regexes anchored; default regex `(.*)`, replacement `$1`). */
export function applyRelabelings (labels: Readonly<Record<string, string>>, rules: readonly RelabelConfig[]): Record<string, string> | undefined {
  const out: Record<string, string> = { ...labels }
  for (const r of rules) {
    const value = (r.sourceLabels ?? []).map(s => out[s] ?? '').join(';')
    const match = new RegExp(`^(?:${r.regex ?? '(.*)'})$`).exec(value)
    const action = r.action ?? 'replace'
    if (action === 'keep' && match === null) return undefined
    if (action === 'drop' && match !== null) return undefined
    if (action === 'replace' && match !== null && r.targetLabel !== undefined) {
      out[r.targetLabel] = (r.replacement ?? '$1').replace(/\$(\d+)|\$\{(\d+)\}/g, (_m, a: string | undefined, b: string | undefined) => match[Number(a ?? b)] ?? '')
    }
  }
  return out
}

/** The `__meta_kubernetes_*` labels Kubernetes service discovery (role: pod) gives one container port of a pod. */
export function podMetaLabels (pod: V1Pod, port: { name?: string }): Record<string, string> {
  const meta: Record<string, string> = {
    __meta_kubernetes_namespace: pod.metadata?.namespace ?? '',
    __meta_kubernetes_pod_name: pod.metadata?.name ?? '',
    __meta_kubernetes_pod_ip: pod.status?.podIP ?? '',
    __meta_kubernetes_pod_container_port_name: port.name ?? ''
  }
  for (const [k, v] of Object.entries(pod.metadata?.labels ?? {})) meta[podLabelMeta(k)] = v
  return meta
}

export interface TargetGroup { targets: string[], labels: Record<string, string> }

/**
 * One target group per node pod of the given networks (all Dawn nodes when none are given)
 * that has an IP: `<podIP>:<http port>`, labelled namespace, network, pool, pod (and job).
 */
export function nodeTargetGroups (pods: readonly V1Pod[], networks?: ReadonlyArray<{ namespace: string, name: string }>): TargetGroup[] {
  const groups: TargetGroup[] = []
  for (const pod of pods) {
    const labels = pod.metadata?.labels ?? {}
    const picked = networks === undefined || networks.length === 0
      ? labels[LABELS.name] === NODE_APP && labels[LABELS.network] !== undefined
      : networks.some(n => n.namespace === pod.metadata?.namespace && Object.entries(nodePodSelector(n.name)).every(([k, v]) => labels[k] === v))
    const ip = pod.status?.podIP
    if (!picked || ip === undefined || ip === '') continue
    for (const c of pod.spec?.containers ?? []) {
      for (const port of c.ports ?? []) {
        if (port.name !== METRICS_PORT) continue
        const out = applyRelabelings(podMetaLabels(pod, port), nodeRelabelings())
        if (out === undefined) continue
        const host = ip.includes(':') ? `[${ip}]` : ip
        groups.push({ targets: [`${host}:${port.containerPort}`], labels: Object.fromEntries(Object.entries(out).filter(([k]) => !k.startsWith('__'))) })
      }
    }
  }
  const key = (g: TargetGroup): string => `${g.labels.namespace ?? ''}/${g.labels.pod ?? ''}/${g.targets[0] ?? ''}`
  return groups.sort((a, b) => key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)
}

export interface StaticScrapeConfig {
  job_name: string
  scrape_interval: string
  metrics_path: string
  static_configs: TargetGroup[]
}

/** A `scrape_configs` entry with the pods as static targets (see nodeTargetGroups). */
export function renderStaticScrapeConfig (init: { pods: readonly V1Pod[], networks?: ReadonlyArray<{ namespace: string, name: string }>, interval?: string }): StaticScrapeConfig {
  return { job_name: NODE_JOB, scrape_interval: init.interval ?? '30s', metrics_path: METRICS_PATH, static_configs: nodeTargetGroups(init.pods, init.networks) }
}
