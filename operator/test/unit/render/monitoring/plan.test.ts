import { describe, it, expect } from 'vitest'
import { MONITORING_KINDS, type MonitoringKind } from '../../../../src/render/monitoring/common.ts'
import { monitoringCondition, planMonitoring } from '../../../../src/render/monitoring/plan.ts'
import { network } from '../fixtures.ts'

const ALL = new Set<MonitoringKind>(MONITORING_KINDS)
const NONE = new Set<MonitoringKind>()
const webhook = { receiver: { webhook: { urlSecretRef: { name: 'hook' } } } }
const names = (objs: Array<{ kind?: string, metadata?: { name?: string } }>): string[] => objs.map(o => `${o.kind ?? ''}/${o.metadata?.name ?? ''}`)

describe('planMonitoring', () => {
  it('with the CRDs: PodMonitor, PrometheusRule, AlertmanagerConfig and the dashboard', () => {
    const plan = planMonitoring(network({ monitoring: { alertmanagerConfig: webhook } }), { served: ALL, expectedNodes: 2 })
    expect(names(plan.apply)).toEqual(['PodMonitor/demo-nodes', 'PrometheusRule/demo-alerts', 'AlertmanagerConfig/demo-alerts', 'ConfigMap/demo-dashboard'])
    expect(plan).toMatchObject({ remove: [], missing: [], notes: [] })
    expect(monitoringCondition(plan, { generation: 3 })).toEqual({
      type: 'MonitoringReady',
      status: 'True',
      reason: 'Applied',
      message: 'applied PodMonitor demo-nodes, PrometheusRule demo-alerts, AlertmanagerConfig demo-alerts, ConfigMap demo-dashboard',
      observedGeneration: 3
    })
  })

  it('without the CRDs: only the dashboard, and a False condition naming the missing kinds', () => {
    const plan = planMonitoring(network({ monitoring: { alertmanagerConfig: webhook } }), { served: NONE })
    expect(names(plan.apply)).toEqual(['ConfigMap/demo-dashboard'])
    expect(plan.missing).toEqual(['PodMonitor', 'PrometheusRule', 'AlertmanagerConfig'])
    expect(plan.remove).toEqual([])
    const c = monitoringCondition(plan)
    expect(c).toMatchObject({ status: 'False', reason: 'PrometheusOperatorCRDsMissing' })
    expect(c.message).toMatch(/^the cluster does not serve PodMonitor, PrometheusRule, AlertmanagerConfig \(monitoring\.coreos\.com\)/)
    expect(c.message).toContain('applied ConfigMap demo-dashboard')
  })

  it('missing kinds count only when asked for', () => {
    const plan = planMonitoring(network({ monitoring: { alertmanagerConfig: { enabled: false } } }), { served: new Set(['PodMonitor', 'PrometheusRule']) })
    expect(plan.missing).toEqual([])
    expect(monitoringCondition(plan).status).toBe('True')
  })

  it('toggled off: removes what the served kinds may still hold, and the dashboard', () => {
    const net = network({ monitoring: { podMonitor: false, prometheusRule: false, alertmanagerConfig: { enabled: false }, grafanaDashboard: false } })
    const plan = planMonitoring(net, { served: new Set(['PodMonitor', 'AlertmanagerConfig']) })
    expect(plan.apply).toEqual([])
    expect(plan.remove).toEqual([
      { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', namespace: 'mesh', name: 'demo-nodes' },
      { apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'AlertmanagerConfig', namespace: 'mesh', name: 'demo-alerts' },
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'mesh', name: 'demo-dashboard' }
    ])
    expect(monitoringCondition(plan)).toMatchObject({ status: 'True', reason: 'Disabled' })
  })

  it('an AlertmanagerConfig without a webhook is not made (and one made before is removed), with a note', () => {
    const plan = planMonitoring(network(), { served: ALL })
    expect(names(plan.apply)).toEqual(['PodMonitor/demo-nodes', 'PrometheusRule/demo-alerts', 'ConfigMap/demo-dashboard'])
    expect(plan.remove.map(r => r.kind)).toEqual(['AlertmanagerConfig'])
    expect(monitoringCondition(plan).message).toContain('set spec.monitoring.alertmanagerConfig.receiver.webhook')
  })

  it('failures win: ApplyFailed with what failed', () => {
    const plan = planMonitoring(network(), { served: ALL })
    expect(monitoringCondition(plan, { failures: ['apply PodMonitor demo-nodes: forbidden'] })).toMatchObject({
      status: 'False', reason: 'ApplyFailed', message: 'apply PodMonitor demo-nodes: forbidden'
    })
  })
})
