// The Grafana dashboard's content, as data: rows of panels and their PromQL. dashboard.ts
// lays it out as Grafana JSON; tests and the live test evaluate every query listed here.
import { NODE_JOB, promString } from './common.ts'

export interface PanelTarget { expr: string, legend?: string }
export interface PanelDefinition {
  title: string
  description: string
  type: 'stat' | 'timeseries'
  /** Grafana unit id: short, s, percentunit, bytes, reqps, ops. */
  unit: string
  /** Of the 24 grid columns. */
  width: 6 | 8 | 12
  targets: PanelTarget[]
}
export interface RowDefinition { title: string, panels: PanelDefinition[] }

/** Node series of the selected namespaces and networks (Grafana variables). */
const N = `job=${promString(NODE_JOB)},namespace=~"$namespace",network=~"$network"`
const RI = '$__rate_interval'
const sel = (extra = ''): string => `{${N}${extra === '' ? '' : `,${extra}`}}`
const rate = (metric: string, extra = ''): string => `rate(${metric}${sel(extra)}[${RI}])`
const p = (q: number, by: string, metric: string, extra = ''): string =>
  `histogram_quantile(${q}, sum by (${by}, le) (${rate(`${metric}_bucket`, extra)}))`

export const DASHBOARD_ROWS: readonly RowDefinition[] = [
  {
    title: 'Fleet',
    panels: [
      { title: 'Nodes up', description: 'Node pods Prometheus scrapes successfully.', type: 'stat', unit: 'short', width: 6, targets: [{ expr: `count(up${sel()} == 1) or vector(0)` }] },
      { title: 'Nodes down', description: 'Node pods that are scrape targets but do not answer.', type: 'stat', unit: 'short', width: 6, targets: [{ expr: `count(up${sel()} == 0) or vector(0)` }] },
      { title: 'Fewest peers', description: 'Verified peers of the least-connected node.', type: 'stat', unit: 'short', width: 6, targets: [{ expr: `min(dawn_peers${sel()})` }] },
      {
        title: 'Registry spread',
        description: 'Most minus fewest registry entries across nodes: 0 once the registry has converged.',
        type: 'stat',
        unit: 'short',
        width: 6,
        targets: [{ expr: `max by (namespace, network) (dawn_registry_entries${sel()}) - min by (namespace, network) (dawn_registry_entries${sel()})`, legend: '{{namespace}}/{{network}}' }]
      },
      { title: 'Peers per node', description: 'Connected peers with a valid membership certificate.', type: 'timeseries', unit: 'short', width: 12, targets: [{ expr: `dawn_peers${sel()}`, legend: '{{network}} {{pod}}' }] },
      { title: 'Registry entries per node', description: 'Agents in each node\'s registry; the lines meet when the registry has converged.', type: 'timeseries', unit: 'short', width: 12, targets: [{ expr: `dawn_registry_entries${sel()}`, legend: '{{network}} {{pod}}' }] },
      { title: 'Anti-entropy exchanges', description: 'Registry anti-entropy exchanges per second, by result.', type: 'timeseries', unit: 'ops', width: 12, targets: [{ expr: `sum by (result) (${rate('dawn_anti_entropy_runs_total')})`, legend: '{{result}}' }] },
      { title: 'Membership rejections', description: 'Peers disconnected for lacking a valid membership certificate, by reason.', type: 'timeseries', unit: 'ops', width: 12, targets: [{ expr: `sum by (reason) (${rate('dawn_membership_rejected_total')})`, legend: '{{reason}}' }] }
    ]
  },
  {
    title: 'Tool calls',
    panels: [
      { title: 'Calls by route', description: 'Tool calls made per second, by route (local, direct, relayed, flood).', type: 'timeseries', unit: 'reqps', width: 8, targets: [{ expr: `sum by (route) (${rate('dawn_tool_calls_total')})`, legend: '{{route}}' }] },
      { title: 'Failed calls by result', description: 'Calls the mesh could not deliver, by result (tool-error is a tool reporting failure, not counted).', type: 'timeseries', unit: 'reqps', width: 8, targets: [{ expr: `sum by (result) (${rate('dawn_tool_calls_total', 'result!~"ok|tool-error"')})`, legend: '{{result}}' }] },
      {
        title: 'Error ratio',
        description: 'Share of calls that failed.',
        type: 'timeseries',
        unit: 'percentunit',
        width: 8,
        targets: [{ expr: `sum(${rate('dawn_tool_calls_total', 'result!~"ok|tool-error"')}) / sum(${rate('dawn_tool_calls_total')})`, legend: 'errors' }]
      },
      {
        title: 'Latency by route',
        description: 'Median and 95th percentile latency of delivered calls, by route.',
        type: 'timeseries',
        unit: 's',
        width: 12,
        targets: [
          { expr: p(0.5, 'route', 'dawn_tool_call_duration_seconds', 'result=~"ok|tool-error"'), legend: 'p50 {{route}}' },
          { expr: p(0.95, 'route', 'dawn_tool_call_duration_seconds', 'result=~"ok|tool-error"'), legend: 'p95 {{route}}' }
        ]
      },
      { title: 'Calls served', description: 'Calls from other nodes served by this network\'s agents, by result.', type: 'timeseries', unit: 'reqps', width: 12, targets: [{ expr: `sum by (result) (${rate('dawn_tool_calls_served_total')})`, legend: '{{result}}' }] }
    ]
  },
  {
    title: 'Content',
    panels: [
      { title: 'Pins', description: 'Mesh-wide pins (the most any node knows of).', type: 'stat', unit: 'short', width: 6, targets: [{ expr: `max(dawn_content_pins${sel()})` }] },
      { title: 'Replication deficit', description: 'Holders missing across all pins (the worst view of any node); 0 when every pin has its replicas.', type: 'stat', unit: 'short', width: 6, targets: [{ expr: `max(dawn_content_replication_deficit${sel()})` }] },
      { title: 'Verification failures', description: 'Blocks whose bytes did not hash to their CID, over the range, by source.', type: 'timeseries', unit: 'short', width: 12, targets: [{ expr: `sum by (source) (increase(dawn_content_verification_failures_total${sel()}[${RI}]))`, legend: '{{source}}' }] },
      { title: 'Deficit per node', description: 'Replication deficit as each node sees the mesh.', type: 'timeseries', unit: 'short', width: 12, targets: [{ expr: `dawn_content_replication_deficit${sel()}`, legend: '{{network}} {{pod}}' }] },
      { title: 'Bytes stored per node', description: 'Bytes of blocks in each node\'s content store.', type: 'timeseries', unit: 'bytes', width: 12, targets: [{ expr: `dawn_content_bytes_stored${sel()}`, legend: '{{network}} {{pod}}' }] }
    ]
  },
  {
    title: 'Operator',
    panels: [
      { title: 'Leader', description: '1 when an operator replica holds the leader lease.', type: 'stat', unit: 'short', width: 6, targets: [{ expr: 'max(dawn_operator_is_leader)' }] },
      { title: 'Reconcile errors', description: 'Failed reconciles per second, by kind.', type: 'timeseries', unit: 'ops', width: 6, targets: [{ expr: `sum by (kind) (rate(dawn_operator_reconcile_errors_total[${RI}]))`, legend: '{{kind}}' }] },
      { title: 'Reconciles', description: 'Reconciles per second, by kind and result.', type: 'timeseries', unit: 'ops', width: 12, targets: [{ expr: `sum by (kind, result) (rate(dawn_operator_reconcile_total[${RI}]))`, legend: '{{kind}} {{result}}' }] },
      {
        title: 'Reconcile duration p95',
        description: '95th percentile time of one reconcile, by kind.',
        type: 'timeseries',
        unit: 's',
        width: 12,
        targets: [{ expr: `histogram_quantile(0.95, sum by (kind, le) (rate(dawn_operator_reconcile_duration_seconds_bucket[${RI}])))`, legend: '{{kind}}' }]
      },
      { title: 'Queue depth', description: 'Keys waiting in the work queues, by kind.', type: 'timeseries', unit: 'short', width: 12, targets: [{ expr: 'sum by (kind) (dawn_operator_queue_depth)', legend: '{{kind}}' }] }
    ]
  }
]
