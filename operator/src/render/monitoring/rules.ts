// The alerts of alerts.ts as a PrometheusRule (one per network, scoped to it) and as a
// plain Prometheus rule file for every Dawn node (monitoring/rules/dawn.rules.yaml,
// written by operator/scripts/gen-monitoring.ts and checked by promtool).
import type { KubernetesObject } from '@kubernetes/client-node'
import { stringify } from 'yaml'
import { KINDS } from '../../api/group.ts'
import type { DawnNetwork } from '../../api/dawn-network.ts'
import { ownerReference } from '../labels.ts'
import { alertRuleGroups, type AlertGroup, type AlertRulesOptions } from './alerts.ts'
import { MONITORING_RESOURCES, monitoringApiVersion, monitoringLabels, networkCoordinates, prometheusRuleName, scopeOf } from './common.ts'

export const GEN_MONITORING_COMMAND = 'sh scripts/node.sh operator/scripts/gen-monitoring.ts'

/** Paths of the generated files, relative to the repository root. */
export const RULES_FILE = 'monitoring/rules/dawn.rules.yaml'
export const DASHBOARD_FILE = 'monitoring/dashboards/dawn.json'

export type PrometheusRule = KubernetesObject & { spec: { groups: AlertGroup[] } }

/**
 * `<network>-alerts`: the Dawn alerts for this network's nodes. `expectedNodes` (the
 * replicas of its pools) adds the rule that notices pods which are not scrape targets at all.
 */
export function renderPrometheusRule (net: DawnNetwork, input: { expectedNodes?: number } = {}, opts: AlertRulesOptions = {}): PrometheusRule {
  const { name, namespace } = networkCoordinates(net)
  const r = MONITORING_RESOURCES.prometheusRule
  return {
    apiVersion: monitoringApiVersion(r),
    kind: r.kind,
    metadata: { name: prometheusRuleName(name), namespace, labels: monitoringLabels(net), ownerReferences: [ownerReference(KINDS.network, net)] },
    spec: { groups: alertRuleGroups(scopeOf(net, input.expectedNodes), opts) }
  }
}

/** The text of monitoring/rules/dawn.rules.yaml: every alert, for every Dawn node scraped. */
export function renderPlainRulesFile (opts: AlertRulesOptions = {}): string {
  const header = [
    '# The Dawn alerts for Prometheus without prometheus-operator (rule_files:), for every',
    '# scraped Dawn node (job="dawn-node"; see renderPlainScrapeConfig). Check with promtool.',
    `# Generated from operator/src/render/monitoring/alerts.ts; do not edit. Regenerate with: ${GEN_MONITORING_COMMAND}`,
    ''
  ].join('\n')
  return header + stringify({ groups: alertRuleGroups({}, opts) }, { lineWidth: 0 })
}
