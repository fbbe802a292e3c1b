// A network's monitoring objects: finds out which prometheus-operator kinds the API server
// serves (discovery, cached and refreshed), applies what planMonitoring() renders, deletes
// what a toggle turned off (only when the network owns it), and reports MonitoringReady.
// The CRDs may be installed or removed at any time: a missing kind is looked for again on
// every reconcile once the cache is a few seconds old, and the network is requeued until
// it appears, so no restart is needed.
import type { KubernetesObject } from '@kubernetes/client-node'
import type { DawnNetwork } from '../api/index.ts'
import type { ObjectRef } from '../runtime/apply.ts'
import { KubeApiError, errorMessage, isAborted, isNotFound } from '../runtime/errors.ts'
import type { KubeClient, ResourceRef } from '../runtime/kube-client.ts'
import {
  MONITORING_KINDS, MONITORING_RESOURCES, canonicalJson, monitoringCondition, planMonitoring, sha256Hex,
  type ConditionUpdate, type MonitoringKind, type MonitoringObjectRef
} from '../render/index.ts'
import type { ControllerComponents } from './context.ts'
import { RESOURCES } from './resources.ts'

export interface MonitoringInit {
  client: KubeClient
  /** Look at discovery again after this long; default 60 s. Also the requeue of a network while kinds are missing. */
  refreshMs?: number
  /** While a kind is missing, a reconcile looks again once the last look is this old; default 5 s. */
  missingRetryMs?: number
  /** Apply an unchanged object again after this long (repairs hand edits between resyncs); default 10 min. */
  reapplyMs?: number
  now?: () => number
}

/** Retry of a network whose monitoring objects could not be applied. */
export const MONITORING_FAILURE_RETRY_MS = 30_000

const RESOURCE_OF: Record<string, ResourceRef> = {
  [MONITORING_RESOURCES.podMonitor.kind]: RESOURCES.podMonitors,
  [MONITORING_RESOURCES.prometheusRule.kind]: RESOURCES.prometheusRules,
  [MONITORING_RESOURCES.alertmanagerConfig.kind]: RESOURCES.alertmanagerConfigs,
  ConfigMap: RESOURCES.configMaps
}

const keyOf = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`

/** Discovery of the prometheus-operator kinds, and a memory of what was applied (shared by all networks). */
export class Monitoring {
  readonly refreshMs: number
  private readonly client: KubeClient
  private readonly missingRetryMs: number
  private readonly reapplyMs: number
  private readonly now: () => number
  private discovered: { at: number, served: ReadonlySet<MonitoringKind> } | undefined
  /** key -> hash of the object last applied and when; or 'absent' once a removal was confirmed. */
  private readonly memory = new Map<string, { hash: string, at: number } | 'absent'>()

  constructor (init: MonitoringInit) {
    this.client = init.client
    this.refreshMs = init.refreshMs ?? 60_000
    this.missingRetryMs = init.missingRetryMs ?? Math.min(5_000, this.refreshMs)
    this.reapplyMs = init.reapplyMs ?? 10 * 60_000
    this.now = init.now ?? Date.now
  }

  /** The kinds the API server serves now (cached; see MonitoringInit). */
  async served (signal: AbortSignal): Promise<ReadonlySet<MonitoringKind>> {
    const d = this.discovered
    const age = d === undefined ? Infinity : this.now() - d.at
    const missing = d !== undefined && d.served.size < MONITORING_KINDS.length
    if (d !== undefined && age < this.refreshMs && !(missing && age >= this.missingRetryMs)) return d.served
    const served = await this.discover(signal)
    this.discovered = { at: this.now(), served }
    // Objects of a kind that went away went with it: forget them, so they are made again when it returns.
    for (const kind of MONITORING_KINDS) if (!served.has(kind)) this.forgetKind(kind)
    return served
  }

  /** Forget the cached discovery (an apply found a kind gone). */
  invalidate (): void {
    this.discovered = undefined
  }

  /** Server-side applies `obj` unless the same object was applied recently. */
  async apply (c: Pick<ControllerComponents, 'applier'>, obj: KubernetesObject, signal: AbortSignal): Promise<void> {
    const key = keyOf(obj.kind ?? '', obj.metadata?.namespace ?? '', obj.metadata?.name ?? '')
    const hash = sha256Hex(canonicalJson(obj))
    const last = this.memory.get(key)
    if (last !== undefined && last !== 'absent' && last.hash === hash && this.now() - last.at < this.reapplyMs) return
    await c.applier.apply(obj, { signal, resource: resourceOf(obj.kind ?? '') })
    this.memory.set(key, { hash, at: this.now() })
  }

  /**
   * Deletes an object a toggle turned off, if the network owns it (a same-named object
   * someone else made is left alone). Resolves true when a deletion was issued.
   */
  async remove (c: Pick<ControllerComponents, 'applier' | 'caches'>, net: DawnNetwork, ref: MonitoringObjectRef, signal: AbortSignal): Promise<boolean> {
    const key = keyOf(ref.kind, ref.namespace, ref.name)
    if (this.memory.get(key) === 'absent') return false
    const resource = resourceOf(ref.kind)
    const target: ObjectRef = { apiVersion: ref.apiVersion, kind: ref.kind, namespace: ref.namespace, name: ref.name }
    // ConfigMaps the operator labels are cached; the prometheus-operator kinds are read.
    const existing = ref.kind === 'ConfigMap'
      ? c.caches.configMaps.get(`${ref.namespace}/${ref.name}`)
      : await c.applier.get(target, { signal, resource })
    const uid = existing?.metadata?.uid
    const owned = existing?.metadata?.ownerReferences?.some(o => o.controller === true && o.uid === net.metadata.uid) === true
    let deleted = false
    if (existing !== undefined && owned && uid !== undefined) deleted = await c.applier.deleteIfExists(target, { signal, resource, uid })
    this.memory.set(key, 'absent')
    return deleted
  }

  private forgetKind (kind: string): void {
    for (const key of this.memory.keys()) if (key.startsWith(`${kind}/`)) this.memory.delete(key)
  }

  private async discover (signal: AbortSignal): Promise<Set<MonitoringKind>> {
    const served = new Set<MonitoringKind>()
    const versions = [...new Set(Object.values(MONITORING_RESOURCES).map(r => `${r.group}/${r.version}`))]
    for (const gv of versions) {
      let list: { resources?: Array<{ name: string }> }
      try {
        list = await this.client.request({ method: 'GET', path: `/apis/${gv}`, signal })
      } catch (e) {
        // 404: the group/version is not served (no CRD defines it).
        if (isNotFound(e)) continue
        throw e
      }
      const names = new Set((list.resources ?? []).map(r => r.name))
      for (const r of Object.values(MONITORING_RESOURCES)) {
        if (`${r.group}/${r.version}` === gv && names.has(r.plural)) served.add(r.kind)
      }
    }
    return served
  }
}

function resourceOf (kind: string): ResourceRef {
  const r = RESOURCE_OF[kind]
  if (r === undefined) throw new TypeError(`no resource for monitoring kind ${kind}`)
  return r
}

export interface MonitoringOutcome {
  condition: ConditionUpdate
  requeueAfterMs?: number
}

/** Brings a network's monitoring objects in line with its spec; never throws for an API failure (the condition says it). */
export async function reconcileMonitoring (c: ControllerComponents, net: DawnNetwork, input: { expectedNodes: number }, signal: AbortSignal): Promise<MonitoringOutcome> {
  const m = c.monitoring
  const generation = net.metadata.generation ?? 0
  let served: ReadonlySet<MonitoringKind>
  try {
    served = await m.served(signal)
  } catch (e) {
    if (isAborted(signal)) throw e
    const plan = planMonitoring(net, { served: new Set(), expectedNodes: input.expectedNodes })
    return {
      condition: monitoringCondition({ ...plan, apply: [] }, { failures: [`discovery of monitoring.coreos.com failed: ${errorMessage(e)}`], generation }),
      requeueAfterMs: MONITORING_FAILURE_RETRY_MS
    }
  }
  const plan = planMonitoring(net, { served, expectedNodes: input.expectedNodes })
  const failures: string[] = []
  const attempt = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn()
    } catch (e) {
      if (isAborted(signal)) throw e
      // 404 on a prometheus-operator kind: its CRD went away since discovery.
      if (isNotFound(e)) m.invalidate()
      failures.push(`${what}: ${e instanceof KubeApiError ? e.apiMessage || e.message : errorMessage(e)}`)
    }
  }
  for (const obj of plan.apply) await attempt(`apply ${obj.kind ?? ''} ${obj.metadata?.name ?? ''}`, async () => { await m.apply(c, obj, signal) })
  for (const ref of plan.remove) {
    await attempt(`delete ${ref.kind} ${ref.name}`, async () => {
      if (await m.remove(c, net, ref, signal)) void c.events.record(net, { reason: 'MonitoringObjectDeleted', action: 'Delete', note: `deleted ${ref.kind} ${ref.name}: turned off in spec.monitoring` })
    })
  }
  const condition = monitoringCondition(plan, { failures, generation })
  const requeueAfterMs = failures.length > 0 ? MONITORING_FAILURE_RETRY_MS : plan.missing.length > 0 ? m.refreshMs : undefined
  return { condition, ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }) }
}
