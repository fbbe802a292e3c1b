// What a network's monitoring should be, given which prometheus-operator kinds the cluster
// serves: the objects to apply, those a toggle turned off (to delete), the kinds that are
// missing, and the MonitoringReady condition that says so. Pure: the controller discovers
// the kinds, applies and deletes.
import type { KubernetesObject } from '@kubernetes/client-node'
import type { DawnNetwork } from '../../api/dawn-network.ts'
import type { ConditionUpdate } from '../conditions.ts'
import { renderAlertmanagerConfig } from './alertmanager.ts'
import {
  MONITORING_CONDITION, MONITORING_REASONS, MONITORING_RESOURCES, alertmanagerConfigName, dashboardConfigMapName, monitoringApiVersion,
  networkCoordinates, podMonitorName, prometheusRuleName, type MonitoringKind
} from './common.ts'
import { renderDashboardConfigMap } from './dashboard.ts'
import { renderPrometheusRule } from './rules.ts'
import { renderPodMonitor } from './scrape.ts'

/** An object to delete: its coordinates (the controller deletes it only if the network owns it). */
export interface MonitoringObjectRef { apiVersion: string, kind: string, namespace: string, name: string }

export interface MonitoringPlan {
  apply: KubernetesObject[]
  remove: MonitoringObjectRef[]
  /** Requested kinds the cluster does not serve (their CRDs are not installed). */
  missing: MonitoringKind[]
  /** Requested objects that cannot be made, and why. */
  notes: string[]
}

export interface PlanMonitoringInput {
  /** The prometheus-operator kinds the API server serves now. */
  served: ReadonlySet<MonitoringKind>
  /** Replicas of the network's pools (see renderPrometheusRule). */
  expectedNodes?: number
}

export function planMonitoring (net: DawnNetwork, input: PlanMonitoringInput): MonitoringPlan {
  const m = net.spec.monitoring
  const { name, namespace } = networkCoordinates(net)
  const plan: MonitoringPlan = { apply: [], remove: [], missing: [], notes: [] }
  const ref = (r: { group: string, version: string, kind: string }, objectName: string): MonitoringObjectRef =>
    ({ apiVersion: monitoringApiVersion(r), kind: r.kind, namespace, name: objectName })

  const crdBacked = (r: typeof MONITORING_RESOURCES[keyof typeof MONITORING_RESOURCES], objectName: string, wanted: boolean, render: () => KubernetesObject | undefined): void => {
    const served = input.served.has(r.kind)
    if (!wanted) {
      // Nothing of an unserved kind can exist.
      if (served) plan.remove.push(ref(r, objectName))
      return
    }
    if (!served) {
      plan.missing.push(r.kind)
      return
    }
    const obj = render()
    if (obj === undefined) plan.remove.push(ref(r, objectName))
    else plan.apply.push(obj)
  }

  crdBacked(MONITORING_RESOURCES.podMonitor, podMonitorName(name), m.podMonitor, () => renderPodMonitor(net))
  crdBacked(MONITORING_RESOURCES.prometheusRule, prometheusRuleName(name), m.prometheusRule,
    () => renderPrometheusRule(net, input.expectedNodes === undefined ? {} : { expectedNodes: input.expectedNodes }))
  crdBacked(MONITORING_RESOURCES.alertmanagerConfig, alertmanagerConfigName(name), m.alertmanagerConfig.enabled, () => {
    const amc = renderAlertmanagerConfig(net)
    if (amc === undefined) plan.notes.push('no AlertmanagerConfig: set spec.monitoring.alertmanagerConfig.receiver.webhook to route the alerts')
    return amc
  })
  if (m.grafanaDashboard) plan.apply.push(renderDashboardConfigMap(net))
  else plan.remove.push({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name: dashboardConfigMapName(name) })
  return plan
}

const describe = (o: KubernetesObject): string => `${o.kind ?? ''} ${o.metadata?.name ?? ''}`

/** MonitoringReady: True when everything requested exists; False naming what is missing or failed. */
export function monitoringCondition (plan: MonitoringPlan, input: { failures?: readonly string[], generation?: number } = {}): ConditionUpdate {
  const failures = input.failures ?? []
  const generation = input.generation === undefined ? {} : { observedGeneration: input.generation }
  const applied = plan.apply.length === 0 ? [] : [`applied ${plan.apply.map(describe).join(', ')}`]
  if (failures.length > 0) {
    return { type: MONITORING_CONDITION, status: 'False', reason: MONITORING_REASONS.applyFailed, message: failures.join('; '), ...generation }
  }
  if (plan.missing.length > 0) {
    const message = [
      `the cluster does not serve ${plan.missing.join(', ')} (${MONITORING_RESOURCES.podMonitor.group}): install the prometheus-operator CRDs, the operator looks again periodically`,
      ...applied,
      ...plan.notes
    ].join('; ')
    return { type: MONITORING_CONDITION, status: 'False', reason: MONITORING_REASONS.crdsMissing, message, ...generation }
  }
  if (plan.apply.length === 0 && plan.notes.length === 0) {
    return { type: MONITORING_CONDITION, status: 'True', reason: MONITORING_REASONS.disabled, message: 'spec.monitoring turns every monitoring object off', ...generation }
  }
  return { type: MONITORING_CONDITION, status: 'True', reason: MONITORING_REASONS.applied, message: [...applied, ...plan.notes].join('; '), ...generation }
}
