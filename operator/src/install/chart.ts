// The parts of charts/ that come from the operator's code, so the charts cannot drift
// from it: the CRD templates of charts/dawn-crds (from the TypeBox types, like crds/)
// and the RBAC rules of charts/dawn (from rbac.ts). operator/scripts/gen-charts.ts
// writes them; a test fails when they are stale. Pure: no I/O.
import type { V1PolicyRule } from '@kubernetes/client-node'
import { stringify } from 'yaml'
import { buildCrd, CRD_INFOS } from '../api/crds.ts'
import { operatorClusterRules, operatorLeaseRules } from './rbac.ts'

export const GEN_CHARTS_COMMAND = 'npm run gen:charts'

/** Helm's annotation that keeps an object on `helm uninstall` (and when a value stops rendering it). */
export const KEEP_ANNOTATION = { 'helm.sh/resource-policy': 'keep' } as const

const READ = ['get', 'list', 'watch']

/**
 * MONITORING RULES: read-only access to the prometheus-operator objects the operator
 * looks at. They belong in rbac.ts with the operator's monitoring code; until rbac.ts
 * grants them, the chart adds exactly the reads rbac.ts lacks (and nothing once it
 * has them), so there is never a second copy of a rule.
 */
export const MONITORING_READ_RULES: readonly V1PolicyRule[] = [
  { apiGroups: ['monitoring.coreos.com'], resources: ['podmonitors', 'prometheusrules', 'alertmanagerconfigs'], verbs: READ }
]

function grants (rules: readonly V1PolicyRule[], group: string, resource: string, verb: string): boolean {
  const has = (list: string[] | undefined, v: string): boolean => list?.includes(v) === true || list?.includes('*') === true
  return rules.some(r => has(r.apiGroups, group) && has(r.resources, resource) && has(r.verbs, verb))
}

/** The operator's namespaced-resource rules as the chart grants them (ClusterRole, or Role per watched namespace). */
export function chartOperatorRules (): V1PolicyRule[] {
  const code = operatorClusterRules()
  const extra: V1PolicyRule[] = []
  for (const rule of MONITORING_READ_RULES) {
    for (const group of rule.apiGroups ?? []) {
      const missing = (rule.resources ?? []).filter(res => !READ.every(v => grants(code, group, res, v)))
      if (missing.length > 0) extra.push({ apiGroups: [group], resources: missing, verbs: READ })
    }
  }
  return [...code, ...extra]
}

/** The leader-election rules (a Role in the release namespace). */
export function chartLeaseRules (): V1PolicyRule[] {
  return operatorLeaseRules()
}

const yaml = (value: unknown): string => stringify(value, { lineWidth: 0 })

function noTemplateSyntax (file: string, text: string): string {
  // Helm would read `{{` in generated YAML as a template action.
  if (text.includes('{{') || text.includes('}}')) throw new Error(`${file}: generated YAML contains "{{" or "}}", which Helm would evaluate; escape it in the generator`)
  return text
}

function rulesTemplate (): string {
  const define = (name: string, rules: V1PolicyRule[]): string =>
    `{{- define "${name}" -}}\n${noTemplateSyntax('_rules.tpl', yaml(rules)).trimEnd()}\n{{- end -}}\n`
  return [
    `{{- /* Generated from operator/src/install/rbac.ts by operator/scripts/gen-charts.ts; do not edit.`,
    `Regenerate with: ${GEN_CHARTS_COMMAND} */ -}}`,
    '',
    '{{- /* The operator\'s rules: chartOperatorRules() in operator/src/install/chart.ts. */ -}}',
    define('dawn.operatorRules', chartOperatorRules()),
    '{{- /* Leader election: operatorLeaseRules(). */ -}}',
    define('dawn.leaseRules', chartLeaseRules())
  ].join('\n')
}

/** Paths under charts/ → file text, exactly as checked in. */
export function renderChartFiles (): Map<string, string> {
  const files = new Map<string, string>()
  for (const info of CRD_INFOS) {
    const crd = buildCrd(info)
    // Templates, not crds/: Helm installs crds/ once and never upgrades it.
    const text = yaml({ ...crd, metadata: { ...crd.metadata, annotations: { ...KEEP_ANNOTATION } } })
    const header = `# Generated from operator/src/api by operator/scripts/gen-charts.ts; do not edit.\n# Regenerate with: ${GEN_CHARTS_COMMAND}\n`
    const file = `dawn-crds/templates/${info.plural}.yaml`
    files.set(file, header + noTemplateSyntax(file, text))
  }
  files.set('dawn/templates/_rules.tpl', rulesTemplate())
  return files
}
