// The one definition of the Dawn alerts. The PrometheusRule of each network renders
// them scoped to that network; monitoring/rules/dawn.rules.yaml renders them for every
// Dawn node a Prometheus scrapes (promtool tests it). Durations and thresholds are
// constants here, so tests and runbooks can name them.
import { nodeMatchers, type MonitoringScope } from './common.ts'

/** Where the runbooks live: change this one constant to point the alerts elsewhere. */
export const RUNBOOK_BASE_URL = 'https://github.com/dawn-mesh/dawn/blob/main/docs/runbooks'
export const runbookUrl = (alert: string, base: string = RUNBOOK_BASE_URL): string => `${base}/${alert}.md`

/** How long each condition must hold before its alert fires. */
export const ALERT_FOR = {
  nodeDown: '1m',
  peersLow: '2m',
  meshPartitioned: '2m',
  registryDiverged: '5m',
  antiEntropyFailing: '5m',
  toolCallErrors: '5m',
  toolCallLatency: '5m',
  contentUnderReplicated: '10m',
  membershipRejections: '2m',
  operatorReconcileErrors: '10m',
  operatorNotLeading: '2m'
} as const

export const ALERT_THRESHOLDS = {
  /** A node should see at least this many peers (fewer when the network is smaller). */
  minPeers: 2,
  /** Peers a node aims for: half its connection limit (p2p.maxConnections defaults to 300). */
  peerTarget: 150,
  /** Partitioned: a node reaches at most this share of the nodes that are up. */
  partitionShare: 0.5,
  antiEntropyFailureRatio: 0.5,
  toolCallErrorRatio: 0.05,
  /** Below this many calls in the window, an error ratio means little. */
  toolCallMinCalls: 10,
  toolCallP95Seconds: 5,
  membershipRejections: 10
} as const

/** The rate windows of the expressions. */
export const RATE_WINDOW = '5m'
export const OPERATOR_ERROR_WINDOW = '10m'

export type Severity = 'warning' | 'critical'

/** A Prometheus alerting rule, as rule files and PrometheusRule groups spell it. */
export interface AlertRule {
  alert: string
  expr: string
  for: string
  labels: Record<string, string>
  annotations: { summary: string, description: string, runbook_url: string }
}
export interface AlertGroup { name: string, rules: AlertRule[] }

interface Variant {
  /** undefined: this variant needs what the scope does not know (e.g. the expected node count). */
  expr: (s: MonitoringScope) => string | undefined
  description: (s: MonitoringScope) => string
}

export interface AlertDefinition {
  alert: string
  group: 'nodes' | 'operator'
  severity: Severity
  for: string
  summary: string
  variants: Variant[]
}

const NET = '{{ $labels.namespace }}/{{ $labels.network }}'
const T = ALERT_THRESHOLDS
const W = RATE_WINDOW
const sel = (s: MonitoringScope, extra = ''): string => `{${nodeMatchers(s)}${extra === '' ? '' : `,${extra}`}}`
const byNet = 'namespace, network'
const scopeName = (s: MonitoringScope): string => s.network === undefined ? 'the network' : `network ${s.namespace ?? ''}/${s.network}`

export const ALERTS: readonly AlertDefinition[] = [
  {
    alert: 'DawnNodeDown',
    group: 'nodes',
    severity: 'warning',
    for: ALERT_FOR.nodeDown,
    summary: 'A Dawn node is down',
    variants: [
      {
        expr: s => `up${sel(s)} == 0`,
        description: () => `Prometheus cannot scrape node {{ $labels.pod }} of network ${NET}: the pod is not running, not serving /metrics, or unreachable.`
      },
      {
        // Pods that are gone or never scheduled are no scrape target at all: compare with what the operator runs.
        expr: s => s.expectedNodes === undefined || s.expectedNodes < 1 ? undefined : `(count(up${sel(s)}) or on() vector(0)) < ${s.expectedNodes}`,
        description: s => `Only {{ $value }} of the ${s.expectedNodes ?? 0} nodes of ${scopeName(s)} are scrape targets: pods are gone, pending or not yet discovered.`
      }
    ]
  },
  {
    alert: 'DawnPeersLow',
    group: 'nodes',
    severity: 'warning',
    for: ALERT_FOR.peersLow,
    summary: 'A Dawn node has too few peers',
    variants: [{
      expr: s => `dawn_peers${sel(s)} < on (${byNet}) group_left () clamp_max(count by (${byNet}) (up${sel(s)} == 1) - 1, ${T.minPeers})`,
      description: () => `Node {{ $labels.pod }} of network ${NET} has {{ $value }} verified peers, fewer than ${T.minPeers} (or than the other nodes that are up).`
    }]
  },
  {
    alert: 'DawnMeshPartitioned',
    group: 'nodes',
    severity: 'critical',
    for: ALERT_FOR.meshPartitioned,
    summary: 'A Dawn mesh is split into parts that do not see each other',
    variants: [{
      // Per node: one node cut off from the rest splits the mesh as surely as a cut down the middle.
      expr: s => `dawn_peers${sel(s)} + 1 <= on (${byNet}) group_left () (${T.partitionShare} * clamp_max(count by (${byNet}) (up${sel(s)} == 1), ${T.peerTarget}))`,
      description: () => `Node {{ $labels.pod }} of network ${NET} reaches only {{ $value }} nodes (itself included), at most half of the nodes that are up: the mesh is split.`
    }]
  },
  {
    alert: 'DawnRegistryDiverged',
    group: 'nodes',
    severity: 'warning',
    for: ALERT_FOR.registryDiverged,
    summary: 'Dawn nodes disagree about the agent registry',
    variants: [{
      expr: s => `max by (${byNet}) (dawn_registry_entries${sel(s)}) - min by (${byNet}) (dawn_registry_entries${sel(s)}) > 0`,
      description: () => `The nodes of network ${NET} have counted different numbers of registry entries (spread {{ $value }}) for ${ALERT_FOR.registryDiverged}; anti-entropy converges them within seconds when it works.`
    }]
  },
  {
    alert: 'DawnAntiEntropyFailing',
    group: 'nodes',
    severity: 'warning',
    for: ALERT_FOR.antiEntropyFailing,
    summary: 'Registry anti-entropy exchanges of a Dawn node fail',
    variants: [{
      expr: s => `sum by (${byNet}, pod) (rate(dawn_anti_entropy_runs_total${sel(s, 'result="failed"')}[${W}])) / sum by (${byNet}, pod) (rate(dawn_anti_entropy_runs_total${sel(s)}[${W}])) > ${T.antiEntropyFailureRatio}`,
      description: () => `{{ $value | humanizePercentage }} of the registry anti-entropy exchanges of node {{ $labels.pod }} (network ${NET}) failed over the last ${W}.`
    }]
  },
  {
    alert: 'DawnToolCallErrorsHigh',
    group: 'nodes',
    severity: 'warning',
    for: ALERT_FOR.toolCallErrors,
    summary: 'Many tool calls through a Dawn mesh fail',
    variants: [{
      // tool-error: the tool ran and reported a failure, which the mesh delivered fine.
      expr: s => `sum by (${byNet}) (rate(dawn_tool_calls_total${sel(s, 'result!~"ok|tool-error"')}[${W}])) / sum by (${byNet}) (rate(dawn_tool_calls_total${sel(s)}[${W}])) > ${T.toolCallErrorRatio}` +
        ` and on (${byNet}) sum by (${byNet}) (increase(dawn_tool_calls_total${sel(s)}[${W}])) >= ${T.toolCallMinCalls}`,
      description: () => `{{ $value | humanizePercentage }} of the tool calls made in network ${NET} failed over the last ${W} (timeouts, unreachable nodes, refused frames).`
    }]
  },
  {
    alert: 'DawnToolCallLatencyHigh',
    group: 'nodes',
    severity: 'warning',
    for: ALERT_FOR.toolCallLatency,
    summary: 'Tool calls through a Dawn mesh are slow',
    variants: [{
      expr: s => `histogram_quantile(0.95, sum by (${byNet}, route, le) (rate(dawn_tool_call_duration_seconds_bucket${sel(s, 'result=~"ok|tool-error"')}[${W}]))) > ${T.toolCallP95Seconds}`,
      description: () => `The 95th percentile latency of {{ $labels.route }} tool calls in network ${NET} is {{ $value | humanizeDuration }} (threshold ${T.toolCallP95Seconds}s).`
    }]
  },
  {
    alert: 'DawnContentUnderReplicated',
    group: 'nodes',
    severity: 'warning',
    for: ALERT_FOR.contentUnderReplicated,
    summary: 'Pinned content of a Dawn mesh has too few holders',
    variants: [{
      expr: s => `max by (${byNet}) (dawn_content_replication_deficit${sel(s)}) > 0`,
      description: () => `{{ $value }} holders are missing across the pins of network ${NET} for ${ALERT_FOR.contentUnderReplicated}: repair is not keeping up.`
    }]
  },
  {
    alert: 'DawnMembershipRejectionsSpiking',
    group: 'nodes',
    severity: 'warning',
    for: ALERT_FOR.membershipRejections,
    summary: 'Dawn nodes reject many peers without a valid membership certificate',
    variants: [{
      expr: s => `sum by (${byNet}, reason) (increase(dawn_membership_rejected_total${sel(s)}[${W}])) > ${T.membershipRejections}`,
      description: () => `The nodes of network ${NET} rejected {{ $value }} peers (reason {{ $labels.reason }}) over the last ${W}.`
    }]
  },
  {
    alert: 'DawnOperatorReconcileErrors',
    group: 'operator',
    severity: 'warning',
    for: ALERT_FOR.operatorReconcileErrors,
    summary: 'The Dawn operator keeps failing to reconcile',
    variants: [{
      expr: () => `sum by (kind) (increase(dawn_operator_reconcile_errors_total[${OPERATOR_ERROR_WINDOW}])) > 0`,
      description: () => `Reconciles of {{ $labels.kind }} have failed in every ${OPERATOR_ERROR_WINDOW} window for ${ALERT_FOR.operatorReconcileErrors} ({{ $value }} in the last one).`
    }]
  },
  {
    alert: 'DawnOperatorNotLeading',
    group: 'operator',
    severity: 'critical',
    for: ALERT_FOR.operatorNotLeading,
    summary: 'No Dawn operator replica holds the leader lease',
    variants: [{
      expr: () => 'max by (job) (dawn_operator_is_leader) < 1',
      description: () => `No replica of the operator scraped as job {{ $labels.job }} has led for ${ALERT_FOR.operatorNotLeading}: Dawn resources are not reconciled.`
    }]
  }
]

export const ALERT_NAMES: readonly string[] = ALERTS.map(a => a.alert)

export interface AlertRulesOptions { runbookBaseUrl?: string }

/**
 * The rule groups for a scope. Scoped to a network, every alert also carries its
 * `namespace` and `network` labels, so Alertmanager routes even the operator's alerts
 * (which have no such series labels) to the network's receiver.
 */
export function alertRuleGroups (scope: MonitoringScope, opts: AlertRulesOptions = {}): AlertGroup[] {
  const scoped: Record<string, string> = {
    ...(scope.namespace === undefined ? {} : { namespace: scope.namespace }),
    ...(scope.network === undefined ? {} : { network: scope.network })
  }
  const groups: AlertGroup[] = []
  for (const group of ['nodes', 'operator'] as const) {
    const rules: AlertRule[] = []
    for (const def of ALERTS.filter(a => a.group === group)) {
      for (const v of def.variants) {
        const expr = v.expr(scope)
        if (expr === undefined) continue
        rules.push({
          alert: def.alert,
          expr,
          for: def.for,
          labels: { severity: def.severity, ...scoped },
          annotations: { summary: def.summary, description: v.description(scope), runbook_url: runbookUrl(def.alert, opts.runbookBaseUrl) }
        })
      }
    }
    groups.push({ name: `dawn-${group}`, rules })
  }
  return groups
}

