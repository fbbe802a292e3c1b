// Shared bits of the operator's control-plane tests: API clients (plain @kubernetes/client-node,
// never the operator's own runtime, so a bug there cannot hide itself), CRD install, namespaces,
// resource builders, and an in-process operator.
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, beforeEach, inject, onTestFailed } from 'vitest'
import {
  ApiException, AppsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubernetesObjectApi, PatchStrategy, PolicyV1Api,
  loadAllYaml, setHeaderOptions, type KubernetesObject, type V1Secret
} from '@kubernetes/client-node'
import { createOperator, type Operator, type OperatorInit } from '../../../src/operator.ts'
import { createLogger, type Logger, type LogLevel } from '../../../src/runtime/logger.ts'
import type { DawnAgent, DawnNetwork, DawnNode } from '../../../src/api/index.ts'
import { eventually, isNotFound, loadKubeConfig, uniqueName } from '../../../../test/controlplane/kube.ts'
// Brings in the typing of inject('kubeconfig') (a `ProvidedContext` augmentation).
import type {} from '../../../../test/controlplane/global-setup.ts'
import { kubectlPath } from '../../../../test/controlplane/controlplane.ts'
import { run } from '../../../../test/support/processes.ts'

export { eventually, isNotFound, uniqueName }

export const GROUP = 'mesh.dawn.dev'
export const VERSION = 'v1alpha1'
export const API_VERSION = `${GROUP}/${VERSION}`
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url))
export const OPERATOR_BIN = `${ROOT}operator/bin/dawn-operator`

export const kubeconfigPath = (): string => inject('kubeconfig')

export interface Clients {
  core: CoreV1Api
  apps: AppsV1Api
  policy: PolicyV1Api
  custom: CustomObjectsApi
  coordination: CoordinationV1Api
  objects: KubernetesObjectApi
}

export function clients (): Clients {
  const kc = loadKubeConfig()
  return {
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    coordination: kc.makeApiClient(CoordinationV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc)
  }
}

/** The apiserver's message of a failed call (the Status body), or the error text. */
export function apiMessage (e: unknown): string {
  if (e instanceof ApiException) {
    const body: unknown = e.body
    if (typeof body === 'string') {
      try { return (JSON.parse(body) as { message?: string }).message ?? body } catch { return body }
    }
    if (typeof body === 'object' && body !== null && 'message' in body) return String(body.message)
    return e.message
  }
  return e instanceof Error ? e.message : String(e)
}

export const apiCode = (e: unknown): number | undefined => e instanceof ApiException ? e.code : undefined

/** Server-side applies crds/*.yaml (idempotent) and waits until the three kinds are served. */
/** The pinned kubectl against this run's control plane. */
export async function kubectl (args: string[]): Promise<string> {
  return await run(kubectlPath(), args, undefined, { ...process.env, KUBECONFIG: kubeconfigPath(), KUBECACHEDIR: join(tmpdir(), 'dawn-kube-cache') })
}

export async function applyCrds (c: Clients): Promise<void> {
  // kubectl, as the README documents: client-node's object API would serialize the plain
  // YAML through its typed models and drop every `default` (install-paths.test.ts shows it).
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=dawn-integration-test', '-f', `${ROOT}crds`])
  const names = readdirSync(`${ROOT}crds`).filter(f => f.endsWith('.yaml')).sort()
    .flatMap(f => (loadAllYaml(readFileSync(`${ROOT}crds/${f}`, 'utf8')) as KubernetesObject[]).map(d => d.metadata?.name ?? ''))
  for (const name of names) {
    await eventually(async () => {
      const crd = await c.objects.read<KubernetesObject & { status?: { conditions?: Array<{ type: string, status: string }> } }>(
        { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } })
      return crd.status?.conditions?.some(x => x.type === 'Established' && x.status === 'True') === true
    }, { what: `CRD ${name} established` })
  }
  for (const plural of ['dawnnetworks', 'dawnnodes', 'dawnagents']) {
    await eventually(async () => { await c.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural }); return true },
      { what: `${plural} served` })
  }
}

export async function createNamespace (c: Clients, prefix: string): Promise<string> {
  const name = uniqueName(prefix)
  await c.core.createNamespace({ body: { metadata: { name } } })
  // Pods (created by the StatefulSet controller) need the namespace's default ServiceAccount.
  await eventually(async () => await c.core.readNamespacedServiceAccount({ namespace: name, name: 'default' }), { what: `default service account in ${name}` })
  return name
}

export async function deleteNamespace (c: Clients, name: string): Promise<void> {
  if (name === '') return
  await c.core.deleteNamespace({ name }).catch(() => {})
}

// ---------------------------------------------------------------------------------------
// Dawn resources

export type Kind = 'DawnNetwork' | 'DawnNode' | 'DawnAgent'
const PLURALS: Record<Kind, string> = { DawnNetwork: 'dawnnetworks', DawnNode: 'dawnnodes', DawnAgent: 'dawnagents' }
interface KindTypes { DawnNetwork: DawnNetwork, DawnNode: DawnNode, DawnAgent: DawnAgent }

/** What the test sends: the CRD defaults fill in the rest. */
export interface Manifest<K extends Kind = Kind> { apiVersion: string, kind: K, metadata: { name: string, namespace: string, labels?: Record<string, string> }, spec: Record<string, unknown> }

export const networkManifest = (namespace: string, name: string, spec: Record<string, unknown> = {}): Manifest<'DawnNetwork'> =>
  ({ apiVersion: API_VERSION, kind: 'DawnNetwork', metadata: { name, namespace }, spec })

export const poolManifest = (namespace: string, name: string, network: string, spec: Record<string, unknown> = {}): Manifest<'DawnNode'> =>
  ({ apiVersion: API_VERSION, kind: 'DawnNode', metadata: { name, namespace }, spec: { networkRef: { name: network }, image: 'example.invalid/dawn/node:test', ...spec } })

export const agentManifest = (namespace: string, name: string, network: string, spec: Record<string, unknown> = { builtin: { name: 'echo' } }): Manifest<'DawnAgent'> =>
  ({ apiVersion: API_VERSION, kind: 'DawnAgent', metadata: { name, namespace }, spec: { networkRef: { name: network }, ...spec } })

/** Typed CRUD on the Dawn kinds through CustomObjectsApi. */
export class Dawn {
  readonly c: Clients
  constructor (c: Clients) { this.c = c }

  async create<K extends Kind> (m: Manifest<K>): Promise<KindTypes[K]> {
    return await this.c.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: m.metadata.namespace, plural: PLURALS[m.kind], body: m }) as KindTypes[K]
  }

  async get<K extends Kind> (kind: K, namespace: string, name: string): Promise<KindTypes[K]> {
    return await this.c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind], name }) as KindTypes[K]
  }

  async find<K extends Kind> (kind: K, namespace: string, name: string): Promise<KindTypes[K] | undefined> {
    try {
      return await this.get(kind, namespace, name)
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  }

  /** JSON merge patch of the object (spec changes). */
  async patch<K extends Kind> (kind: K, namespace: string, name: string, body: Record<string, unknown>): Promise<KindTypes[K]> {
    return await this.c.custom.patchNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind], name, body },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch)) as KindTypes[K]
  }

  /** Sets spec.replicas through the scale subresource (what `kubectl scale` and an HPA do). */
  async scale (namespace: string, name: string, replicas: number): Promise<void> {
    await this.c.custom.patchNamespacedCustomObjectScale({ group: GROUP, version: VERSION, namespace, plural: PLURALS.DawnNode, name, body: { spec: { replicas } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
  }

  async delete (kind: Kind, namespace: string, name: string): Promise<void> {
    await this.c.custom.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURALS[kind], name })
  }
}

// ---------------------------------------------------------------------------------------
// Reading what the operator made

export const secretTexts = (s: V1Secret): Record<string, string> =>
  Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))

export async function findSecret (c: Clients, namespace: string, name: string): Promise<V1Secret | undefined> {
  try {
    return await c.core.readNamespacedSecret({ namespace, name })
  } catch (e) {
    if (isNotFound(e)) return undefined
    throw e
  }
}

export type Condition = NonNullable<NonNullable<DawnNode['status']>['conditions']>[number]
export const conditionOf = (obj: { status?: { conditions?: Condition[] } }, type: string): Condition | undefined =>
  obj.status?.conditions?.find(x => x.type === type)

/** peer ids by ordinal, from a pool's status. */
export const statusPeerIds = (pool: DawnNode): Record<number, string> =>
  Object.fromEntries((pool.status?.peers ?? []).map(p => [p.ordinal, p.peerId]))

// ---------------------------------------------------------------------------------------
// The operator, in process

/**
 * Operator logs, kept in memory at debug level (the last 2000 lines, printed when a test fails);
 * `DAWN_TEST_OPERATOR_LOG=debug|info|warn|error` also echoes them to stderr from that level.
 */
export function testLogger (name: string): { logger: Logger, lines: string[] } {
  const lines: string[] = []
  const env = process.env.DAWN_TEST_OPERATOR_LOG
  const echo: LogLevel | undefined = env === 'debug' || env === 'info' || env === 'warn' || env === 'error' ? env : undefined
  const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 }
  const logger = createLogger({
    level: 'debug',
    fields: { operator: name },
    write: line => {
      lines.push(line.trimEnd())
      if (lines.length > 2000) lines.shift()
      if (echo !== undefined && rank[(JSON.parse(line) as { level: LogLevel }).level] >= rank[echo]) process.stderr.write(line)
    }
  })
  return { logger, lines }
}

export interface RunningOperator { operator: Operator, lines: string[], stop: () => Promise<void> }

/** createOperator on this run's control plane, watching `namespace`, metrics on a free port, no leader election. */
export async function startOperator (namespace: string, extra: Partial<OperatorInit> = {}): Promise<RunningOperator> {
  const { logger, lines } = testLogger(namespace)
  const operator = createOperator({ kubeconfigPath: kubeconfigPath(), namespace, metricsPort: 0, logger, ...extra })
  await operator.start()
  let stopped = false
  return {
    operator,
    lines,
    stop: async () => {
      if (stopped) return
      stopped = true
      await operator.stop()
    }
  }
}

/** `dawn_operator_reconcile_total` summed over results for `kind` (all kinds when omitted). */
export function reconcileCount (metricsText: string, kind?: string): number {
  let total = 0
  for (const line of metricsText.split('\n')) {
    const m = /^dawn_operator_reconcile_total\{([^}]*)\}\s+(\S+)$/.exec(line)
    if (m === null) continue
    if (kind !== undefined && !(m[1] ?? '').includes(`kind="${kind}"`)) continue
    total += Number(m[2])
  }
  return total
}

export function gauge (metricsText: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{\\})?\\s+(\\S+)$`, 'm').exec(metricsText)
  return m === null ? undefined : Number(m[1])
}

// ---------------------------------------------------------------------------------------
// The operator as a process (operator/bin/dawn-operator), for crash and leader-election tests

export interface OperatorProcess {
  readonly name: string
  readonly pid: number
  /** Every stdout/stderr line so far (JSON log lines on stderr). */
  readonly lines: string[]
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>
  isRunning: () => boolean
  /** The port of /metrics, from the "serving /metrics" log line. */
  metricsPort: () => Promise<number>
  metrics: () => Promise<string>
  /** Sends `signal` to the process (by its pid). */
  kill: (signal: NodeJS.Signals) => void
}

/** Starts `dawn-operator <args>` with this run's KUBECONFIG. */
export function spawnOperator (name: string, args: string[]): OperatorProcess {
  const child = spawn(OPERATOR_BIN, args, {
    env: { ...process.env, KUBECONFIG: kubeconfigPath(), LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start ${OPERATOR_BIN}`)
  const lines: string[] = []
  const echo = process.env.DAWN_TEST_OPERATOR_LOG !== undefined
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', line => {
      lines.push(line)
      if (lines.length > 5000) lines.shift()
      if (echo) process.stderr.write(`[${name}] ${line}\n`)
    })
  }
  let running = true
  const exited = new Promise<number | string>(resolve => {
    child.once('exit', (code, signal) => { running = false; resolve(code ?? signal ?? 'unknown') })
  })
  const metricsPort = async (): Promise<number> => await eventually(async () => {
    for (const line of lines) {
      if (!line.includes('serving /metrics')) continue
      const port = (JSON.parse(line) as { port?: unknown }).port
      if (typeof port === 'number') return port
    }
    if (!running) throw new Error(`${name} exited:\n${lines.slice(-20).join('\n')}`)
    return undefined
  }, { what: `${name} to serve /metrics`, timeoutMs: 30_000, detail: async () => lines.slice(-20).join('\n') })
  return {
    name,
    pid,
    lines,
    exited,
    isRunning: () => running,
    metricsPort,
    metrics: async () => {
      const res = await fetch(`http://127.0.0.1:${await metricsPort()}/metrics`, { signal: AbortSignal.timeout(5000) })
      if (!res.ok) throw new Error(`${name} /metrics: HTTP ${res.status}`)
      return await res.text()
    },
    kill: signal => { if (running) process.kill(pid, signal) }
  }
}

/** SIGKILLs what is still running and waits for it to be gone. */
export async function killAll (procs: readonly OperatorProcess[]): Promise<void> {
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map(async p => await p.exited))
}

/**
 * Waits until the in-process operator has stopped reconciling (its reconcile count is unchanged
 * for `quietMs`), so that what happens next is caused by what the test does next and not by
 * work still queued from before.
 */
export async function quiesce (op: RunningOperator, quietMs = 800): Promise<void> {
  let last = -1
  let since = Date.now()
  await eventually(async () => {
    const n = reconcileCount(await op.operator.metrics.text())
    if (n !== last) { last = n; since = Date.now(); return false }
    return Date.now() - since >= quietMs
  }, { what: 'the operator to go quiet', intervalMs: 100, timeoutMs: 30_000 })
}

/**
 * Prints, when a test of this file fails, each operator's log lines above debug level, its last
 * 40 lines, and (for in-process operators) its informer and queue metrics.
 */
export function printLogsOnFailure (sources: () => Array<{ name: string, lines: readonly string[], metrics?: () => Promise<string> }>): void {
  beforeEach(() => {
    onTestFailed(async () => {
      for (const { name, lines, metrics } of sources()) {
        const notable = lines.filter(l => !l.startsWith('{"level":"debug"'))
        const stats = metrics === undefined ? '' : (await metrics().catch((e: unknown) => String(e))).split('\n').filter(l => /^dawn_operator_(informer|queue|reconcile_total)/.test(l)).join('\n')
        process.stderr.write(`--- ${name}: log lines above debug ---\n${notable.slice(-60).join('\n')}\n--- ${name}: last log lines ---\n${lines.slice(-40).join('\n')}\n--- ${name}: metrics ---\n${stats}\n`)
      }
    })
  })
}

/**
 * One namespace and one in-process operator for a test file: made before its tests, stopped
 * and deleted after them, with the operator's log printed when a test fails. `ready` hands
 * both to the file (its own beforeAll hooks run after this one).
 */
export function useOperatorNamespace (c: Clients, prefix: string, ready: (ns: string, op: RunningOperator) => void): void {
  let ns = ''
  let op: RunningOperator | undefined
  beforeAll(async () => {
    await applyCrds(c)
    ns = await createNamespace(c, prefix)
    op = await startOperator(ns)
    ready(ns, op)
  })
  afterAll(async () => {
    await op?.stop()
    if (ns !== '') await deleteNamespace(c, ns)
  })
  printLogsOnFailure(() => op === undefined ? [] : [{ name: 'operator', lines: op.lines, metrics: async () => await op!.operator.metrics.text() }])
}
