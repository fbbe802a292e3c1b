// Cluster helpers of the operator bench: typed clients, CRDs, trackers, object bodies, metrics.
import { readdir, readFile } from 'node:fs/promises'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, loadYaml,
  type V1CustomResourceDefinition, type V1StatefulSet
} from '@kubernetes/client-node'
import type { DawnNetwork, DawnNode } from '../src/api/index.ts'
import { GROUP, VERSION } from '../src/api/index.ts'
import { NODE_CONTAINER } from '../src/render/statefulset.ts'
import type { OperatorProcess } from './operator-process.ts'
import { diffCounts, promSum, sleep, type Budget } from './stats.ts'
import { Tracker, type ListResult } from './tracker.ts'

const CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url))

export const out = (line = ''): void => { process.stdout.write(line + '\n') }
export const progress = (line: string): void => { process.stderr.write(`[operator bench] ${line}\n`) }
export const errText = (e: unknown): string => {
  if (e instanceof Error) {
    const body = (e as { body?: unknown }).body
    return body === undefined ? e.message : `${e.message} ${typeof body === 'string' ? body : JSON.stringify(body)}`
  }
  return String(e)
}

export interface Clients {
  kc: KubeConfig
  core: CoreV1Api
  apps: AppsV1Api
  ext: ApiextensionsV1Api
  custom: CustomObjectsApi
}

export function clientsFor (kubeconfigPath: string): Clients {
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfigPath)
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), ext: kc.makeApiClient(ApiextensionsV1Api), custom: kc.makeApiClient(CustomObjectsApi) }
}

export async function poll<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (e) { last = e }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last !== undefined ? ` (last error: ${errText(last)})` : ''}`)
    await sleep(intervalMs)
  }
}

export async function applyCrds (c: Clients, timeoutMs: number): Promise<string[]> {
  const files = (await readdir(CRD_DIR)).filter(f => f.endsWith('.yaml')).sort()
  const names: string[] = []
  for (const f of files) {
    const crd = loadYaml<V1CustomResourceDefinition>(await readFile(join(CRD_DIR, f), 'utf8'))
    await c.ext.createCustomResourceDefinition({ body: crd })
    names.push(crd.metadata?.name ?? f)
  }
  for (const name of names) {
    await poll(`CRD ${name} to be established`, timeoutMs, async () => {
      const crd = await c.ext.readCustomResourceDefinition({ name })
      return crd.status?.conditions?.some(x => x.type === 'Established' && x.status === 'True') === true ? true : undefined
    })
  }
  // Discovery can lag the Established condition.
  for (const plural of ['dawnnetworks', 'dawnnodes', 'dawnagents']) {
    await poll(`${plural} to be served`, timeoutMs, async () => {
      await c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: 'default', plural })
      return true
    })
  }
  return names
}

/** GET a non-JSON path of the apiserver (its /metrics) with the admin credentials. */
async function apiserverText (kc: KubeConfig, path: string): Promise<string> {
  const server = kc.getCurrentCluster()?.server
  if (server === undefined) throw new Error('kubeconfig has no cluster')
  const url = new URL(path, server)
  const opts: RequestOptions = { method: 'GET', hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers: {}, timeout: 10_000 }
  await kc.applyToHTTPSOptions(opts)
  return await new Promise((resolve, reject) => {
    const req = httpsRequest(opts, res => {
      const chunks: Buffer[] = []
      res.on('data', (b: Buffer) => chunks.push(b))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        if ((res.statusCode ?? 0) >= 300) reject(new Error(`GET ${path}: HTTP ${res.statusCode ?? 0}`))
        else resolve(text)
      })
      res.on('error', reject)
    })
    req.on('timeout', () => { req.destroy(new Error(`GET ${path}: timeout`)) })
    req.on('error', reject)
    req.end()
  })
}

/** apiserver_request_total by "VERB resource[/subresource]" (all clients). */
export async function apiserverRequests (kc: KubeConfig): Promise<Map<string, number>> {
  const text = await apiserverText(kc, '/metrics')
  const byVerb = promSum(text, 'apiserver_request_total', ['verb', 'resource', 'subresource'])
  const outMap = new Map<string, number>()
  for (const [k, v] of byVerb) {
    const [verb, resource, sub] = k.split(' ')
    const key = `${verb ?? ''} ${resource ?? ''}${sub !== undefined && sub !== '' ? `/${sub}` : ''}`
    outMap.set(key, (outMap.get(key) ?? 0) + v)
  }
  return outMap
}

export function customTracker<T extends DawnNode | DawnNetwork> (c: Clients, ns: string, plural: string, log: (m: string) => void): Tracker<T> {
  return new Tracker<T>({
    kubeConfig: c.kc,
    name: plural,
    path: `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}`,
    log,
    list: async () => {
      const list = await c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural }) as { items?: T[], metadata?: { resourceVersion?: string } }
      return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' }
    }
  })
}

export function statefulSetTracker (c: Clients, ns: string, log: (m: string) => void): Tracker<V1StatefulSet> {
  return new Tracker<V1StatefulSet>({
    kubeConfig: c.kc,
    name: 'statefulsets',
    path: `/apis/apps/v1/namespaces/${ns}/statefulsets`,
    log,
    list: async (): Promise<ListResult<V1StatefulSet>> => {
      const list = await c.apps.listNamespacedStatefulSet({ namespace: ns })
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' }
    }
  })
}

export const nodeImage = (sts: V1StatefulSet | undefined): string | undefined =>
  sts?.spec?.template.spec?.containers.find(x => x.name === NODE_CONTAINER)?.image

/** Reconciled: status for the current generation, with a Ready condition (any status: no kubelet runs pods). */
export function reconciled (node: DawnNode | undefined): boolean {
  if (node === undefined) return false
  const gen = node.metadata.generation
  return node.status?.observedGeneration !== undefined && node.status.observedGeneration === gen &&
    (node.status.conditions ?? []).some(x => x.type === 'Ready')
}

export const ownerPool = (sts: V1StatefulSet): string | undefined =>
  sts.metadata?.ownerReferences?.find(r => r.kind === 'DawnNode' && r.controller === true)?.name

export function networkBody (ns: string, name: string): DawnNetwork {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'DawnNetwork', metadata: { name, namespace: ns }, spec: {} } as unknown as DawnNetwork
}

export function nodeBody (ns: string, name: string, network: string, image: string): DawnNode {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'DawnNode',
    metadata: { name, namespace: ns },
    spec: { networkRef: { name: network }, replicas: 1, image }
  } as unknown as DawnNode
}

export async function createCustom (c: Clients, ns: string, plural: string, body: object): Promise<void> {
  await c.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural, body })
}

export async function waitNetworkReady (c: Clients, ns: string, net: Tracker<DawnNetwork>, name: string, timeoutMs: number, budget: Budget): Promise<void> {
  // The network controller has generated the PSK and CA Secrets once it wrote a status.
  await net.waitFor(name, n => n?.status?.observedGeneration !== undefined, timeoutMs, budget.signal)
  await poll(`Secrets of network ${name}`, timeoutMs, async () => {
    await c.core.readNamespacedSecret({ namespace: ns, name: `${name}-swarm-key` })
    await c.core.readNamespacedSecret({ namespace: ns, name: `${name}-ca` })
    return true
  })
}

export async function reconcileTotals (op: OperatorProcess): Promise<Map<string, number>> {
  return promSum(await operatorMetrics(op), 'dawn_operator_reconcile_total', ['kind', 'result'])
}

export async function operatorMetrics (op: OperatorProcess): Promise<string> {
  try { return await op.metrics() } catch { return '' }
}

/** Reconciles between two scrapes: "kind result count" and the mean duration per kind. */
export interface ReconcileDelta { counts: Map<string, number>, meanMs: Map<string, number> }

export function reconcileDelta (before: string, after: string): ReconcileDelta {
  const counts = diffCounts(promSum(after, 'dawn_operator_reconcile_total', ['kind', 'result']), promSum(before, 'dawn_operator_reconcile_total', ['kind', 'result']))
  const sum = diffCounts(promSum(after, 'dawn_operator_reconcile_duration_seconds_sum', ['kind']), promSum(before, 'dawn_operator_reconcile_duration_seconds_sum', ['kind']))
  const count = diffCounts(promSum(after, 'dawn_operator_reconcile_duration_seconds_count', ['kind']), promSum(before, 'dawn_operator_reconcile_duration_seconds_count', ['kind']))
  const meanMs = new Map<string, number>()
  for (const [k, n] of count) meanMs.set(k, (sum.get(k) ?? 0) * 1000 / n)
  return { counts, meanMs }
}

export const sumValues = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)
