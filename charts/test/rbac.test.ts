// The chart grants exactly the rules the operator's code derives (rbac.ts, plus the
// monitoring reads of chart.ts), cluster-wide or in one namespace.
import { describe, it, expect } from 'vitest'
import { chartLeaseRules, chartOperatorRules, MONITORING_READ_RULES } from '../../operator/src/install/chart.ts'
import { operatorClusterRules, operatorLeaseRules } from '../../operator/src/install/rbac.ts'
import { CASES, NAMESPACE, find, objects, template, type K8sObject } from './support.ts'

const rulesOf = (o: K8sObject): unknown => o.rules
const argsOf = (objs: ReturnType<typeof objects>): string[] => {
  const spec = find(objs, 'Deployment').spec as { template: { spec: { containers: Array<{ args: string[] }> } } }
  return spec.template.spec.containers[0]!.args
}

describe('chart RBAC', () => {
  it('the chart rules are the code rules plus read-only monitoring access, nothing else', () => {
    const rules = chartOperatorRules()
    expect(rules.slice(0, operatorClusterRules().length)).toEqual(operatorClusterRules())
    for (const extra of rules.slice(operatorClusterRules().length)) {
      expect(extra.verbs).toEqual(['get', 'list', 'watch'])
      expect(MONITORING_READ_RULES.flatMap(r => r.apiGroups)).toEqual(expect.arrayContaining(extra.apiGroups ?? []))
    }
    // Every monitoring read is granted, by rbac.ts or by the chart.
    const granted = rules.flatMap(r => (r.apiGroups ?? []).flatMap(g => (r.resources ?? []).map(res => `${g}/${res}:${r.verbs.join(',')}`)))
    for (const r of MONITORING_READ_RULES) {
      for (const res of r.resources ?? []) expect(granted.some(g => g.startsWith(`monitoring.coreos.com/${res}:`) && g.includes('get,list,watch'))).toBe(true)
    }
    expect(chartLeaseRules()).toEqual(operatorLeaseRules())
  })

  it('cluster-wide: a ClusterRole with the code rules; the operator watches every namespace', async () => {
    const objs = objects(await template(CASES.defaults!))
    expect(rulesOf(find(objs, 'ClusterRole', 'dawn-operator'))).toEqual(chartOperatorRules())
    const binding = find(objs, 'ClusterRoleBinding', 'dawn-operator')
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'dawn-operator', namespace: NAMESPACE }])
    expect(objs.filter(o => o.kind === 'Role').map(o => o.metadata.name)).toEqual(['dawn-operator-leader-election'])
    expect(argsOf(objs)).not.toContain('--namespace')
  })

  it('single namespace: a Role with the same rules in that namespace, no ClusterRole, --namespace set', async () => {
    const objs = objects(await template(CASES['single-namespace']!))
    expect(objs.filter(o => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([])
    const role = find(objs, 'Role', 'dawn-operator')
    expect(role.metadata.namespace).toBe('team-a')
    expect(rulesOf(role)).toEqual(chartOperatorRules())
    const binding = find(objs, 'RoleBinding', 'dawn-operator')
    expect(binding.metadata.namespace).toBe('team-a')
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'dawn-operator' })
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'dawn-operator', namespace: NAMESPACE }])
    const args = argsOf(objs)
    expect(args.slice(args.indexOf('--namespace'), args.indexOf('--namespace') + 2)).toEqual(['--namespace', 'team-a'])
    // The Lease stays in the release namespace, where its Role is (not the watched one).
    expect(args.slice(args.indexOf('--lease-namespace'), args.indexOf('--lease-namespace') + 2)).toEqual(['--lease-namespace', NAMESPACE])
  })

  it('leader election: a Role for its Lease in the release namespace, with the code rules', async () => {
    for (const args of [CASES.defaults!, CASES['single-namespace']!]) {
      const objs = objects(await template(args))
      const role = find(objs, 'Role', 'dawn-operator-leader-election')
      expect(role.metadata.namespace).toBe(NAMESPACE)
      expect(rulesOf(role)).toEqual(operatorLeaseRules())
      expect(find(objs, 'RoleBinding', 'dawn-operator-leader-election').roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'dawn-operator-leader-election' })
    }
  })

  it('grants no wildcard, and nothing on pods or nodes', async () => {
    const role = find(objects(await template(CASES.defaults!)), 'ClusterRole')
    const rules = role.rules as Array<{ apiGroups: string[], resources: string[], verbs: string[] }>
    expect(rules.flatMap(r => [...r.apiGroups, ...r.resources, ...r.verbs])).not.toContain('*')
    expect(rules.flatMap(r => r.resources)).not.toContain('pods')
    expect(rules.flatMap(r => r.resources)).not.toContain('nodes')
  })
})
