/**
 * `npm run bench -- operator`
 *
 * The operator as users run it: a separate `dawn-operator` process against a fresh, real
 * control plane (etcd + kube-apiserver + kube-controller-manager from test/controlplane).
 *
 * Part 1, one change at a time: one DawnNetwork and one DawnNode; then N times the pool's
 * spec.image is patched and we time until the StatefulSet's pod template carries it
 * (watch event arrival in the bench).
 * Part 2, a burst: M DawnNodes (1 replica each, one network) created with C requests in
 * flight; we time from the first create until every pool has its StatefulSet and a status
 * for its current generation with a Ready condition.
 * Throughout, the operator's VmRSS is sampled every 100 ms from /proc (peak reported, next
 * to the kernel's own high-water mark VmHWM), with its CPU time and open sockets.
 *
 * Diagnostics printed with the numbers: reconciles per kind (from the operator's /metrics),
 * apiserver requests by verb and resource during part 2 (apiserver /metrics, all clients),
 * and whether the operator goes quiet after the burst (and if not, which fields keep changing).
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { request as httpsRequest, type RequestOptions } from 'node:https'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import {
  ApiextensionsV1Api, AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, loadYaml, setHeaderOptions,
  type KubernetesObject, type V1CustomResourceDefinition, type V1StatefulSet
} from '@kubernetes/client-node'
import { startControlPlane, type ControlPlane } from '../../test/controlplane/controlplane.ts'
import type { DawnNetwork, DawnNode } from '../src/api/index.ts'
import { GROUP, VERSION } from '../src/api/index.ts'
import { NODE_CONTAINER } from '../src/render/statefulset.ts'
import { RssSampler, startOperator, waitOperatorReady, type OperatorProcess } from './operator-process.ts'
import { Budget, diffCounts, fmtMiB, fmtMs, formatTable, promSum, sleep, summarize } from './stats.ts'
import { Tracker, TrackerTimeoutError, type ListResult } from './tracker.ts'

const GOALS = { p99ChangeMs: 1000, poolsMs: 30_000, rssBytes: 200 * 1024 * 1024 }
const CRD_DIR = fileURLToPath(new URL('../../crds/', import.meta.url))
const NAMESPACE = 'dawn-bench'

const USAGE = `usage: npm run bench -- operator [options]

  --changes N            part 1: single spec changes timed (default 50)
  --gap MS               part 1: pause after each change so the operator is idle again (default 250)
  --change-timeout S     part 1: a change not in the StatefulSet after S seconds is a timeout (default 15)
  --pools N              part 2: DawnNodes created in one burst (default 200)
  --concurrency N        part 2: creates in flight (default 20)
  --pools-timeout S      part 2: give up waiting for the pools after S seconds (default 300)
  --settle-timeout S     after part 2: wait at most S seconds for the operator to go quiet (default 60)
  --budget S             wall-clock budget of the whole bench, start-up included (default 1200)
  --only WHAT            part1 | part2 (default both)
  --cpu-prof DIR         run the operator with --cpu-prof into DIR (written when it exits)
  --operator-flags=F     extra node flags for the operator, space-separated (e.g. --operator-flags=--max-old-space-size=128)
  --log-level LEVEL      operator log level (default info)
  --keep                 keep the temp dir (control-plane logs, operator.log) after the run
  --verbose              print every change of part 1 and progress of part 2
  --help`

interface Options {
  changes: number
  gapMs: number
  changeTimeoutMs: number
  pools: number
  concurrency: number
  poolsTimeoutMs: number
  settleTimeoutMs: number
  budgetMs: number
  only: 'part1' | 'part2' | undefined
  cpuProfDir: string | undefined
  operatorFlags: string[]
  logLevel: string
  keep: boolean
  verbose: boolean
}

function parseOptions (args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      changes: { type: 'string', default: '50' },
      gap: { type: 'string', default: '250' },
      'change-timeout': { type: 'string', default: '15' },
      pools: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '20' },
      'pools-timeout': { type: 'string', default: '300' },
      'settle-timeout': { type: 'string', default: '60' },
      budget: { type: 'string', default: '1200' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'operator-flags': { type: 'string', default: '' },
      'log-level': { type: 'string', default: 'info' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) { process.stdout.write(USAGE + '\n'); return undefined }
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${v}"`)
    return n
  }
  const only = values.only
  if (only !== undefined && only !== 'part1' && only !== 'part2') throw new Error(`--only must be part1 or part2, got "${only}"`)
  return {
    changes: int('changes', values.changes, 1),
    gapMs: int('gap', values.gap, 0),
    changeTimeoutMs: int('change-timeout', values['change-timeout'], 1) * 1000,
    pools: int('pools', values.pools, 1),
    concurrency: int('concurrency', values.concurrency, 1),
    poolsTimeoutMs: int('pools-timeout', values['pools-timeout'], 1) * 1000,
    settleTimeoutMs: int('settle-timeout', values['settle-timeout'], 0) * 1000,
    budgetMs: int('budget', values.budget, 60) * 1000,
    only,
    cpuProfDir: values['cpu-prof'],
    operatorFlags: values['operator-flags'].split(' ').filter(s => s !== ''),
    logLevel: values['log-level'],
    keep: values.keep,
    verbose: values.verbose
  }
}

const out = (line = ''): void => { process.stdout.write(line + '\n') }
const progress = (line: string): void => { process.stderr.write(`[operator bench] ${line}\n`) }
const errText = (e: unknown): string => {
  if (e instanceof Error) {
    const body = (e as { body?: unknown }).body
    return body === undefined ? e.message : `${e.message} ${typeof body === 'string' ? body : JSON.stringify(body)}`
  }
  return String(e)
}

// ---------------------------------------------------------------------------------------
// cluster helpers

interface Clients {
  kc: KubeConfig
  core: CoreV1Api
  apps: AppsV1Api
  ext: ApiextensionsV1Api
  custom: CustomObjectsApi
}

function clientsFor (kubeconfigPath: string): Clients {
  const kc = new KubeConfig()
  kc.loadFromFile(kubeconfigPath)
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), ext: kc.makeApiClient(ApiextensionsV1Api), custom: kc.makeApiClient(CustomObjectsApi) }
}

async function poll<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 100): Promise<T> {
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

async function applyCrds (c: Clients, timeoutMs: number): Promise<string[]> {
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
async function apiserverRequests (kc: KubeConfig): Promise<Map<string, number>> {
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

function customTracker<T extends DawnNode | DawnNetwork> (c: Clients, plural: string, log: (m: string) => void): Tracker<T> {
  return new Tracker<T>({
    kubeConfig: c.kc,
    name: plural,
    path: `/apis/${GROUP}/${VERSION}/namespaces/${NAMESPACE}/${plural}`,
    log,
    list: async () => {
      const list = await c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NAMESPACE, plural }) as { items?: T[], metadata?: { resourceVersion?: string } }
      return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' }
    }
  })
}

function statefulSetTracker (c: Clients, log: (m: string) => void): Tracker<V1StatefulSet> {
  return new Tracker<V1StatefulSet>({
    kubeConfig: c.kc,
    name: 'statefulsets',
    path: `/apis/apps/v1/namespaces/${NAMESPACE}/statefulsets`,
    log,
    list: async (): Promise<ListResult<V1StatefulSet>> => {
      const list = await c.apps.listNamespacedStatefulSet({ namespace: NAMESPACE })
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' }
    }
  })
}

const nodeImage = (sts: V1StatefulSet | undefined): string | undefined =>
  sts?.spec?.template.spec?.containers.find(x => x.name === NODE_CONTAINER)?.image

/** Reconciled: status for the current generation, with a Ready condition (any status: no kubelet runs pods). */
function reconciled (node: DawnNode | undefined): boolean {
  if (node === undefined) return false
  const gen = node.metadata.generation
  return node.status?.observedGeneration !== undefined && node.status.observedGeneration === gen &&
    (node.status.conditions ?? []).some(x => x.type === 'Ready')
}

const ownerPool = (sts: V1StatefulSet): string | undefined =>
  sts.metadata?.ownerReferences?.find(r => r.kind === 'DawnNode' && r.controller === true)?.name

function networkBody (name: string): DawnNetwork {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'DawnNetwork', metadata: { name, namespace: NAMESPACE }, spec: {} } as unknown as DawnNetwork
}

function nodeBody (name: string, network: string, image: string): DawnNode {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'DawnNode',
    metadata: { name, namespace: NAMESPACE },
    spec: { networkRef: { name: network }, replicas: 1, image }
  } as unknown as DawnNode
}

async function createCustom (c: Clients, plural: string, body: object): Promise<void> {
  await c.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NAMESPACE, plural, body })
}

async function waitNetworkReady (c: Clients, net: Tracker<DawnNetwork>, name: string, timeoutMs: number, budget: Budget): Promise<void> {
  // The network controller has generated the PSK and CA Secrets once it wrote a status.
  await net.waitFor(name, n => n?.status?.observedGeneration !== undefined, timeoutMs, budget.signal)
  await poll(`Secrets of network ${name}`, timeoutMs, async () => {
    await c.core.readNamespacedSecret({ namespace: NAMESPACE, name: `${name}-swarm-key` })
    await c.core.readNamespacedSecret({ namespace: NAMESPACE, name: `${name}-ca` })
    return true
  })
}

async function reconcileTotals (op: OperatorProcess): Promise<Map<string, number>> {
  return promSum(await operatorMetrics(op), 'dawn_operator_reconcile_total', ['kind', 'result'])
}

async function operatorMetrics (op: OperatorProcess): Promise<string> {
  try { return await op.metrics() } catch { return '' }
}

/** Reconciles between two scrapes: "kind result count" and the mean duration per kind. */
function reconcileDelta (before: string, after: string): { counts: Map<string, number>, meanMs: Map<string, number> } {
  const counts = diffCounts(promSum(after, 'dawn_operator_reconcile_total', ['kind', 'result']), promSum(before, 'dawn_operator_reconcile_total', ['kind', 'result']))
  const sum = diffCounts(promSum(after, 'dawn_operator_reconcile_duration_seconds_sum', ['kind']), promSum(before, 'dawn_operator_reconcile_duration_seconds_sum', ['kind']))
  const count = diffCounts(promSum(after, 'dawn_operator_reconcile_duration_seconds_count', ['kind']), promSum(before, 'dawn_operator_reconcile_duration_seconds_count', ['kind']))
  const meanMs = new Map<string, number>()
  for (const [k, n] of count) meanMs.set(k, (sum.get(k) ?? 0) * 1000 / n)
  return { counts, meanMs }
}

const sumValues = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0)

// ---------------------------------------------------------------------------------------
// the parts

interface Part1Result { latencies: number[], timeouts: number, errors: string[] }

async function part1 (o: Options, c: Clients, nodes: Tracker<DawnNode>, sets: Tracker<V1StatefulSet>, networks: Tracker<DawnNetwork>, budget: Budget): Promise<Part1Result> {
  const network = 'net-single'
  const pool = 'single'
  await createCustom(c, 'dawnnetworks', networkBody(network))
  await waitNetworkReady(c, networks, network, budget.cap(60_000), budget)
  await createCustom(c, 'dawnnodes', nodeBody(pool, network, 'dawn/node:0.1.0'))
  await sets.waitFor(pool, s => nodeImage(s) === 'dawn/node:0.1.0', budget.cap(60_000), budget.signal)
  await nodes.waitFor(pool, reconciled, budget.cap(60_000), budget.signal)
  await sleep(Math.max(o.gapMs, 500), budget.signal)

  const res: Part1Result = { latencies: [], timeouts: 0, errors: [] }
  for (let i = 1; i <= o.changes; i++) {
    budget.throwIfAborted()
    if (budget.remaining < 5000) { res.errors.push(`budget exhausted after ${i - 1} changes`); break }
    const image = `dawn/node:0.1.${i}`
    const t0 = performance.now()
    try {
      await c.custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: NAMESPACE, plural: 'dawnnodes', name: pool, body: { spec: { image } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      const tPatched = performance.now()
      const at = await sets.waitFor(pool, s => nodeImage(s) === image, budget.cap(o.changeTimeoutMs), budget.signal)
      res.latencies.push(at - t0)
      if (o.verbose) progress(`change ${i}: ${fmtMs(at - t0)} (patch call ${fmtMs(tPatched - t0)})`)
    } catch (e) {
      if (e instanceof TrackerTimeoutError) {
        res.timeouts++
        progress(`change ${i}: timed out (${e.message})`)
        if (res.timeouts >= 3) { res.errors.push('3 changes timed out; part 1 stopped'); break }
      } else {
        res.errors.push(`change ${i}: ${errText(e)}`)
        if (res.errors.length >= 3) break
      }
    }
    await sleep(o.gapMs, budget.signal)
  }
  budget.throwIfAborted()
  return res
}

interface SettleInfo {
  ms: number
  reconciles: Map<string, number>
  events: Map<string, number>
  /** "<resource> <field path>" → updates that changed it */
  changedFields: Map<string, number>
}

/** Tallies which top-level fields of metadata/spec/status change between consecutive versions of each object. */
function fieldChanges<T extends KubernetesObject> (tracker: Tracker<T>, into: Map<string, number>): () => void {
  const prev = new Map<string, string>()
  const flat = (obj: T): Record<string, string> => {
    const o = obj as unknown as Record<string, Record<string, unknown> | undefined>
    const fields: Record<string, string> = {}
    for (const part of ['spec', 'status']) {
      for (const [k, v] of Object.entries(o[part] ?? {})) fields[`${part}.${k}`] = JSON.stringify(v)
    }
    const md = o.metadata ?? {}
    for (const k of ['generation', 'labels', 'annotations', 'ownerReferences']) fields[`metadata.${k}`] = JSON.stringify(md[k])
    return fields
  }
  for (const obj of tracker.values()) prev.set(obj.metadata?.name ?? '', JSON.stringify(flat(obj)))
  return tracker.subscribe((name, obj) => {
    if (obj === undefined) { prev.delete(name); return }
    const now = flat(obj)
    const before = prev.get(name)
    prev.set(name, JSON.stringify(now))
    if (before === undefined) { into.set(`${tracker.name} (created)`, (into.get(`${tracker.name} (created)`) ?? 0) + 1); return }
    const old = JSON.parse(before) as Record<string, string>
    let any = false
    for (const k of new Set([...Object.keys(old), ...Object.keys(now)])) {
      if (old[k] === now[k]) continue
      any = true
      const key = `${tracker.name} ${k}`
      into.set(key, (into.get(key) ?? 0) + 1)
    }
    if (!any) into.set(`${tracker.name} (no spec/status change)`, (into.get(`${tracker.name} (no spec/status change)`) ?? 0) + 1)
  })
}

interface Part2Result {
  pools: number
  done: number
  totalMs: number
  createPhaseMs: number
  createErrors: string[]
  perPoolMs: number[]
  firstDoneMs: number
  timedOut: boolean
  quietAfterMs: number | undefined
  settle: SettleInfo
  stsGenerationBumps: number
}

async function part2 (o: Options, c: Clients, nodes: Tracker<DawnNode>, sets: Tracker<V1StatefulSet>, networks: Tracker<DawnNetwork>, budget: Budget, op: OperatorProcess): Promise<Part2Result> {
  const network = 'net-burst'
  await createCustom(c, 'dawnnetworks', networkBody(network))
  await waitNetworkReady(c, networks, network, budget.cap(60_000), budget)
  await sleep(1000, budget.signal)

  const names = Array.from({ length: o.pools }, (_, i) => `burst-${String(i).padStart(4, '0')}`)
  const wanted = new Set(names)
  const createdAt = new Map<string, number>()
  const doneAt = new Map<string, number>()
  let t0 = 0
  let resolveAll: (() => void) | undefined
  const allDone = new Promise<void>(resolve => { resolveAll = resolve })
  const check = (name: string, at: number): void => {
    if (!wanted.has(name) || doneAt.has(name) || t0 === 0) return
    const sts = sets.get(name)
    if (sts === undefined || ownerPool(sts) !== name || !reconciled(nodes.get(name))) return
    doneAt.set(name, at)
    if (o.verbose && doneAt.size % 25 === 0) progress(`part 2: ${doneAt.size}/${o.pools} pools reconciled after ${fmtMs(at - t0)}`)
    if (doneAt.size === wanted.size) resolveAll?.()
  }
  const unsubs = [
    nodes.subscribe((name, _obj, at) => { check(name, at) }),
    sets.subscribe((name, obj, at) => { check(obj === undefined ? name : (ownerPool(obj) ?? name), at) })
  ]

  const createErrors: string[] = []
  let next = 0
  t0 = performance.now()
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++
      const name = names[i]
      if (name === undefined || budget.signal.aborted) return
      for (let attempt = 1; ; attempt++) {
        try {
          await createCustom(c, 'dawnnodes', nodeBody(name, network, 'dawn/node:0.1.0'))
          createdAt.set(name, performance.now())
          break
        } catch (e) {
          const code = (e as { code?: number }).code
          if (code === 409) { createdAt.set(name, performance.now()); break }
          if (attempt >= 5) { createErrors.push(`${name}: ${errText(e)}`); wanted.delete(name); break }
          await sleep(200 * attempt)
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.pools) }, worker))
  const createPhaseMs = performance.now() - t0
  progress(`part 2: ${createdAt.size} DawnNodes created in ${fmtMs(createPhaseMs)}; waiting for the operator`)
  // Pools whose events came before t0 was set (none should) or all already done.
  for (const n of names) check(n, performance.now())
  if (wanted.size === 0 || doneAt.size === wanted.size) resolveAll?.()

  const wait = { timedOut: false }
  let timer: NodeJS.Timeout | undefined
  const ticker = setInterval(() => {
    if (!o.verbose) progress(`part 2: ${doneAt.size}/${wanted.size} pools reconciled after ${fmtMs(performance.now() - t0)}`)
  }, 10_000)
  try {
    await budget.race(Promise.race([allDone, new Promise<void>(resolve => { timer = setTimeout(() => { wait.timedOut = true; resolve() }, budget.cap(o.poolsTimeoutMs)) })]))
  } finally {
    clearTimeout(timer)
    clearInterval(ticker)
  }
  for (const u of unsubs) u()
  const timedOut = wait.timedOut
  const lastDone = doneAt.size === 0 ? performance.now() : Math.max(...doneAt.values())
  const totalMs = timedOut ? performance.now() - t0 : lastDone - t0

  // Does the operator go quiet afterwards? (reconcile counter unchanged for 3 s) And if not,
  // what keeps changing: reconciles and watched fields during the settle window.
  let quietAfterMs: number | undefined
  const settle: SettleInfo = { ms: 0, reconciles: new Map(), events: new Map(), changedFields: new Map() }
  if (!timedOut && o.settleTimeoutMs > 0) {
    const settleStart = performance.now()
    const settleEnd = settleStart + budget.cap(o.settleTimeoutMs)
    const before = await reconcileTotals(op)
    const events0 = new Map([nodes, sets, networks].map(t => [t.name, t.events]))
    const unsubsSettle = [
      fieldChanges(nodes, settle.changedFields),
      fieldChanges(networks, settle.changedFields),
      fieldChanges(sets, settle.changedFields)
    ]
    let last = sumValues(before)
    let lastChange = performance.now()
    while (performance.now() < settleEnd && !budget.signal.aborted) {
      await sleep(500, budget.signal)
      const now = sumValues(await reconcileTotals(op))
      if (now !== last) { last = now; lastChange = performance.now() }
      if (performance.now() - lastChange >= 3000) { quietAfterMs = lastChange - t0; break }
    }
    for (const u of unsubsSettle) u()
    settle.ms = performance.now() - settleStart
    settle.reconciles = diffCounts(await reconcileTotals(op), before)
    for (const t of [nodes, sets, networks]) settle.events.set(t.name, t.events - (events0.get(t.name) ?? 0))
  }

  const stsGenerationBumps = names.reduce((n, name) => n + Math.max(0, (sets.get(name)?.metadata?.generation ?? 1) - 1), 0)
  return {
    pools: o.pools,
    done: doneAt.size,
    totalMs,
    createPhaseMs,
    createErrors,
    perPoolMs: [...doneAt].map(([name, at]) => at - (createdAt.get(name) ?? t0)),
    firstDoneMs: doneAt.size === 0 ? Number.NaN : Math.min(...doneAt.values()) - t0,
    timedOut,
    quietAfterMs,
    settle,
    stsGenerationBumps
  }
}

// ---------------------------------------------------------------------------------------

export async function run (args: string[]): Promise<void> {
  const o = parseOptions(args)
  if (o === undefined) return
  const abort = new AbortController()
  const budget = new Budget(o.budgetMs, abort.signal)
  // The control plane gets its own signal, aborted only while it starts: once it runs, an
  // abort would make it stop itself in the background, racing our own teardown.
  const startup = { cp: new AbortController(), starting: false }
  const onSignal = (): void => {
    progress('interrupted; tearing down')
    abort.abort()
    if (startup.starting) startup.cp.abort()
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const tmp = await mkdtemp(join(tmpdir(), 'dawn-operator-bench-'))
  const logPath = join(tmp, 'operator.log')
  let cp: ControlPlane | undefined
  let op: OperatorProcess | undefined
  let sampler: RssSampler | undefined
  const trackers: Array<{ stop: () => void }> = []
  let p1: Part1Result | undefined
  let p2: Part2Result | undefined
  let failure: unknown
  let stopInfo: { clean: boolean } | undefined
  let apiReqs: Map<string, number> | undefined
  let reconcilesP1: ReturnType<typeof reconcileDelta> | undefined
  let reconcilesP2: ReturnType<typeof reconcileDelta> | undefined
  let opMetricsAtEnd = ''
  let operatorReadyMs = 0
  const tailLog = (): string => {
    try {
      return tailSync(logPath, 30)
    } catch { return '(no operator log)' }
  }
  try {
    progress(`starting a control plane in ${tmp}/controlplane`)
    startup.starting = true
    try {
      cp = await startControlPlane({ dir: join(tmp, 'controlplane'), signal: startup.cp.signal, timeoutMs: budget.cap(180_000), log: m => { if (o.verbose) progress(m) } })
    } finally {
      startup.starting = false
    }
    budget.throwIfAborted()
    progress(`control plane ready in ${fmtMs(cp.startupMs)}`)
    const c = clientsFor(cp.kubeconfigPath)
    const crds = await applyCrds(c, budget.cap(60_000))
    progress(`CRDs applied: ${crds.join(', ')}`)
    await c.core.createNamespace({ body: { metadata: { name: NAMESPACE } } })

    op = await startOperator({
      kubeconfigPath: cp.kubeconfigPath,
      logPath,
      logLevel: o.logLevel,
      ...(o.cpuProfDir !== undefined ? { cpuProfDir: o.cpuProfDir } : {}),
      nodeFlags: o.operatorFlags
    })
    sampler = new RssSampler(op.pid)
    sampler.start(100)
    sampler.mark('start-up (idle, informers syncing)')
    operatorReadyMs = await waitOperatorReady(op, budget.cap(60_000), tailLog)
    progress(`operator pid ${op.pid} ready in ${fmtMs(operatorReadyMs)} (metrics on :${op.metricsPort})`)

    const log = (m: string): void => { progress(m) }
    const networks = customTracker<DawnNetwork>(c, 'dawnnetworks', log)
    const nodes = customTracker<DawnNode>(c, 'dawnnodes', log)
    const sets = statefulSetTracker(c, log)
    for (const t of [networks, nodes, sets]) { await t.start(); trackers.push(t) }

    if (o.only !== 'part2') {
      sampler.mark('part 1 (single changes)')
      progress(`part 1: ${o.changes} single changes`)
      const before = await operatorMetrics(op)
      p1 = await part1(o, c, nodes, sets, networks, budget)
      reconcilesP1 = reconcileDelta(before, await operatorMetrics(op))
    }
    if (abort.signal.aborted) throw new Error('interrupted')
    if (o.only !== 'part1') {
      sampler.mark(`part 2 (${o.pools} pools burst)`)
      const before = await operatorMetrics(op)
      const reqBefore = await apiserverRequests(c.kc).catch(() => undefined)
      progress(`part 2: ${o.pools} DawnNodes, ${o.concurrency} creates in flight`)
      p2 = await part2(o, c, nodes, sets, networks, budget, op)
      reconcilesP2 = reconcileDelta(before, await operatorMetrics(op))
      const reqAfter = await apiserverRequests(c.kc).catch(() => undefined)
      if (reqBefore !== undefined && reqAfter !== undefined) apiReqs = diffCounts(reqAfter, reqBefore)
    }
    opMetricsAtEnd = await operatorMetrics(op)
  } catch (e) {
    failure = e
  } finally {
    for (const t of trackers) t.stop()
    sampler?.stop()
    if (op !== undefined) {
      progress('stopping the operator')
      stopInfo = await op.stop(25_000)
    }
    if (cp !== undefined) {
      progress('stopping the control plane')
      await cp.stop({ keepState: o.keep }).catch((e: unknown) => { progress(`control plane stop failed: ${errText(e)}`) })
    }
    process.removeListener('SIGINT', onSignal)
    process.removeListener('SIGTERM', onSignal)
  }

  report(o, { p1, p2, sampler, stopInfo, apiReqs, reconcilesP1, reconcilesP2, opMetricsAtEnd, operatorReadyMs, failure, logPath })
  if (o.cpuProfDir !== undefined) {
    const profiles = await readdir(o.cpuProfDir).catch(() => [])
    out(`CPU profiles in ${o.cpuProfDir}: ${profiles.filter(f => f.endsWith('.cpuprofile')).join(', ') || '(none written: the operator did not exit cleanly)'}`)
  }
  if (o.keep) out(`kept: ${tmp} (operator.log, controlplane/*.log)`)
  else {
    const troubled = failure !== undefined || p2?.timedOut === true || (p1 !== undefined && (p1.timeouts > 0 || p1.errors.length > 0))
    if (troubled) {
      out('operator log (last lines):')
      out(tailLog())
    }
    await rm(tmp, { recursive: true, force: true })
  }
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(errText(failure))
}

/** Last lines of a file (synchronous: used in error paths). */
function tailSync (path: string, lines: number): string {
  return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n')
}

interface ReportInput {
  p1: Part1Result | undefined
  p2: Part2Result | undefined
  sampler: RssSampler | undefined
  stopInfo: { clean: boolean } | undefined
  apiReqs: Map<string, number> | undefined
  reconcilesP1: ReturnType<typeof reconcileDelta> | undefined
  reconcilesP2: ReturnType<typeof reconcileDelta> | undefined
  opMetricsAtEnd: string
  operatorReadyMs: number
  failure: unknown
  logPath: string
}

function report (o: Options, r: ReportInput): void {
  const goal = (met: boolean | undefined): string => met === undefined ? 'not measured' : met ? 'met' : 'NOT met'
  out()
  out(`Node ${process.version} on ${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'} (${availableParallelism()} available); load average ${loadavg().map(l => l.toFixed(2)).join(' ')}`)
  out('Absolute numbers on this shared 2-core machine are noisy: etcd, kube-apiserver,')
  out('kube-controller-manager, the operator and this bench all share the same cores.')
  out()

  let s1: ReturnType<typeof summarize> | undefined
  if (r.p1 !== undefined) {
    s1 = summarize(r.p1.latencies)
    out(`Part 1: single change (spec.image) -> StatefulSet pod template, idle operator, ${o.gapMs} ms between changes`)
    out(formatTable(['changes', 'timeouts', 'min', 'p50', 'p90', 'p99', 'max', 'mean'], [[
      String(s1.n), String(r.p1.timeouts), fmtMs(s1.min), fmtMs(s1.p50), fmtMs(s1.p90), fmtMs(s1.p99), fmtMs(s1.max), fmtMs(s1.mean)
    ]]))
    if (s1.n < 100) out(`(nearest-rank p99 of ${s1.n} samples is the max)`)
    for (const e of r.p1.errors) out(`  error: ${e}`)
    if (r.reconcilesP1 !== undefined) out(`reconciles during part 1: ${fmtCounts(r.reconcilesP1.counts)}; mean duration ${fmtMeans(r.reconcilesP1.meanMs)}`)
    out()
  }

  if (r.p2 !== undefined) {
    const p = r.p2
    const per = summarize(p.perPoolMs)
    out(`Part 2: ${p.pools} DawnNodes (replicas 1, one network), ${o.concurrency} creates in flight`)
    out('Note: kube-controller-manager creates a Pod for each StatefulSet (they stay Pending, no')
    out('kubelet), so it and the apiserver compete with the operator for the same 2 cores.')
    out(formatTable(['pools reconciled', 'creates done after', 'first pool', 'all pools', 'pools/s', 'ms/pool'], [[
      `${p.done}/${p.pools}${p.timedOut ? ' (TIMEOUT)' : ''}`, fmtMs(p.createPhaseMs), fmtMs(p.firstDoneMs), fmtMs(p.totalMs),
      (p.done / (p.totalMs / 1000)).toFixed(1), (p.totalMs / Math.max(1, p.done)).toFixed(1)
    ]]))
    out(`per pool, create -> reconciled: p50 ${fmtMs(per.p50)}, p99 ${fmtMs(per.p99)}, max ${fmtMs(per.max)}`)
    out(`operator quiet (no reconcile for 3 s) after: ${p.quietAfterMs === undefined ? `not within ${o.settleTimeoutMs / 1000} s` : fmtMs(p.quietAfterMs)} from the first create`)
    out(`StatefulSet spec updates after creation (generation bumps): ${p.stsGenerationBumps}`)
    if (p.settle.ms > 0) {
      const perSec = (n: number): string => (n / (p.settle.ms / 1000)).toFixed(1)
      out(`settle window (${fmtMs(p.settle.ms)} after the last pool): ${sumValues(p.settle.reconciles)} reconciles (${perSec(sumValues(p.settle.reconciles))}/s): ${fmtCounts(p.settle.reconciles)}`)
      out(`  watch events seen by the bench: ${fmtCounts(p.settle.events)}`)
      const fields = [...p.settle.changedFields].sort((a, b) => b[1] - a[1]).slice(0, 8)
      if (fields.length > 0) out(`  fields that changed: ${fields.map(([k, v]) => `${k} x${v}`).join(', ')}`)
    }
    for (const e of p.createErrors.slice(0, 5)) out(`  create error: ${e}`)
    if (r.reconcilesP2 !== undefined) {
      const total = sumValues(r.reconcilesP2.counts)
      out(`reconciles during part 2: ${total} (${(total / p.pools).toFixed(1)} per pool): ${fmtCounts(r.reconcilesP2.counts)}; mean duration ${fmtMeans(r.reconcilesP2.meanMs)}`)
    }
    if (r.apiReqs !== undefined) {
      const top = [...r.apiReqs].filter(([, v]) => v >= p.pools / 4).sort((a, b) => b[1] - a[1]).slice(0, 14)
      const total = sumValues(r.apiReqs)
      out(`apiserver requests during part 2 (all clients): ${total}; largest:`)
      out(top.map(([k, v]) => `  ${k.padEnd(44)} ${String(v).padStart(7)}`).join('\n'))
    }
    out()
  }

  const sampler = r.sampler
  if (sampler !== undefined) {
    out('Operator process (VmRSS sampled every 100 ms from /proc):')
    out(formatTable(['phase', 'wall', 'peak RSS', 'CPU s', 'CPU %', 'peak sockets'], sampler.phases.map(ph => [
      ph.name, fmtMs(ph.wallMs), fmtMiB(ph.peakRssBytes), ph.cpuSeconds.toFixed(1), `${((ph.cpuSeconds * 1000 / Math.max(1, ph.wallMs)) * 100).toFixed(0)} %`, String(ph.peakSockets)
    ])))
    const metric = (name: string): number | undefined => [...promSum(r.opMetricsAtEnd, name).values()][0]
    const heapUsed = metric('nodejs_heap_size_used_bytes')
    const heapTotal = metric('nodejs_heap_size_total_bytes')
    const external = metric('nodejs_external_memory_bytes')
    out(`peak RSS ${fmtMiB(sampler.peakRssBytes)} (kernel VmHWM ${fmtMiB(sampler.hwmBytes)}); RSS at end ${fmtMiB(sampler.lastRssBytes)}${heapUsed !== undefined ? `; at end V8 heap used ${fmtMiB(heapUsed)} of ${fmtMiB(heapTotal ?? Number.NaN)}, external ${fmtMiB(external ?? Number.NaN)}` : ''}; ${sampler.samples} samples; total CPU ${sampler.cpuSeconds.toFixed(1)} s`)
    if (r.stopInfo !== undefined) out(`operator shutdown: ${r.stopInfo.clean ? 'clean (exit 0)' : 'NOT clean (killed or non-zero exit)'}`)
    out()
  }

  if (s1 !== undefined && r.p2 !== undefined && !r.p2.timedOut) {
    out(`ratio: part 2 total / part 1 p50 = ${(r.p2.totalMs / s1.p50).toFixed(0)}x  (${r.p2.pools} pools; ${(r.p2.totalMs / s1.p50 / r.p2.pools).toFixed(2)}x per pool)`)
  }
  const peak = sampler === undefined ? undefined : Math.max(sampler.peakRssBytes, sampler.hwmBytes)
  out('goals:')
  out(`  p99 single change < ${fmtMs(GOALS.p99ChangeMs)}: ${s1 === undefined || s1.n === 0 ? goal(undefined) : `${goal(s1.p99 < GOALS.p99ChangeMs && (r.p1?.timeouts ?? 0) === 0)} (p99 ${fmtMs(s1.p99)})`}`)
  out(`  ${o.pools} pools < ${fmtMs(GOALS.poolsMs)}: ${r.p2 === undefined ? goal(undefined) : `${goal(!r.p2.timedOut && r.p2.totalMs < GOALS.poolsMs)} (${fmtMs(r.p2.totalMs)})`}${o.pools !== 200 ? ' (the goal is for 200 pools)' : ''}`)
  out(`  operator RSS < ${fmtMiB(GOALS.rssBytes)}: ${peak === undefined || peak === 0 ? goal(undefined) : `${goal(peak < GOALS.rssBytes)} (peak ${fmtMiB(peak)})`}`)
  if (r.failure !== undefined) out(`\nbench FAILED: ${errText(r.failure)}`)
}

function fmtMeans (m: Map<string, number>): string {
  return [...m].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${fmtMs(v)}`).join(', ')
}

function fmtCounts (m: Map<string, number>): string {
  return [...m].sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${k} ${v}`).join(', ')
}
