// The Grafana dashboard as JSON (schemaVersion 39), from DASHBOARD_ROWS: the generic one in
// monitoring/dashboards/dawn.json, and one per network in a ConfigMap the Grafana sidecar
// loads. Every panel queries the data source picked by the `datasource` variable.
import type { V1ConfigMap } from '@kubernetes/client-node'
import { KINDS } from '../../api/group.ts'
import type { DawnNetwork } from '../../api/dawn-network.ts'
import { sha256Hex } from '../canonical-json.ts'
import { ownerReference } from '../labels.ts'
import {
  GRAFANA_DASHBOARD_LABEL, NODE_JOB, dashboardConfigMapName, dashboardFileName, monitoringLabels, networkCoordinates, promString
} from './common.ts'
import { DASHBOARD_ROWS, type PanelDefinition } from './dashboard-panels.ts'

export const DASHBOARD_SCHEMA_VERSION = 39
export const DASHBOARD_UID = 'dawn-mesh'
export const DASHBOARD_TITLE = 'Dawn mesh'
/** The data source variable every panel refers to. */
/** `${datasource}`: Grafana's variable syntax, not a template literal. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const

export interface GrafanaTarget { refId: string, expr: string, legendFormat: string, datasource: typeof DATASOURCE }
export interface GrafanaPanel {
  id: number
  type: 'row' | 'stat' | 'timeseries'
  title: string
  gridPos: { x: number, y: number, w: number, h: number }
  description?: string
  datasource?: typeof DATASOURCE
  targets?: GrafanaTarget[]
  fieldConfig?: { defaults: { unit: string }, overrides: [] }
  options?: Record<string, unknown>
  collapsed?: boolean
  panels?: []
}
export interface GrafanaDashboard {
  uid: string
  title: string
  tags: string[]
  schemaVersion: number
  version: number
  editable: boolean
  refresh: string
  time: { from: string, to: string }
  timezone: string
  annotations: { list: [] }
  templating: { list: Array<Record<string, unknown>> }
  panels: GrafanaPanel[]
}

const refId = (i: number): string => String.fromCharCode(65 + i)

function panel (def: PanelDefinition, id: number, gridPos: GrafanaPanel['gridPos']): GrafanaPanel {
  return {
    id,
    type: def.type,
    title: def.title,
    description: def.description,
    gridPos,
    datasource: DATASOURCE,
    targets: def.targets.map((t, i) => ({ refId: refId(i), expr: t.expr, legendFormat: t.legend ?? '__auto', datasource: DATASOURCE })),
    fieldConfig: { defaults: { unit: def.unit }, overrides: [] },
    options: def.type === 'stat'
      ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'area' }
      : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
  }
}

/** Rows and panels left to right, wrapping at 24 columns. */
function layout (): GrafanaPanel[] {
  const out: GrafanaPanel[] = []
  let id = 1
  let y = 0
  for (const row of DASHBOARD_ROWS) {
    out.push({ id: id++, type: 'row', title: row.title, gridPos: { x: 0, y, w: 24, h: 1 }, collapsed: false, panels: [] })
    y += 1
    let x = 0
    let lineHeight = 0
    for (const def of row.panels) {
      const h = def.type === 'stat' ? 5 : 8
      if (x + def.width > 24) { y += lineHeight; x = 0; lineHeight = 0 }
      out.push(panel(def, id++, { x, y, w: def.width, h }))
      x += def.width
      lineHeight = Math.max(lineHeight, h)
    }
    y += lineHeight
  }
  return out
}

const ALL = { selected: true, text: ['All'], value: ['$__all'] }
const picked = (v: string): Record<string, unknown> => ({ selected: true, text: [v], value: [v] })

function queryVariable (name: string, label: string, query: string, current: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    label,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: `${name}-values` },
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: '.*',
    sort: 1,
    current,
    options: [],
    hide: 0
  }
}

export interface DashboardInit {
  uid?: string
  title?: string
  /** Preselect one network (its namespace and DawnNetwork name); default: all. */
  namespace?: string
  network?: string
}

export function renderDashboard (init: DashboardInit = {}): GrafanaDashboard {
  const job = `job=${promString(NODE_JOB)}`
  return {
    uid: init.uid ?? DASHBOARD_UID,
    title: init.title ?? DASHBOARD_TITLE,
    tags: ['dawn', 'mesh'],
    schemaVersion: DASHBOARD_SCHEMA_VERSION,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    timezone: 'browser',
    annotations: { list: [] },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', refresh: 1, regex: '', current: {}, options: [], hide: 0 },
        queryVariable('namespace', 'Namespace', `label_values(up{${job}}, namespace)`, init.namespace === undefined ? ALL : picked(init.namespace)),
        queryVariable('network', 'Network', `label_values(up{${job},namespace=~"$namespace"}, network)`, init.network === undefined ? ALL : picked(init.network))
      ]
    },
    panels: layout()
  }
}

/** The text of monitoring/dashboards/dawn.json. */
export function renderDashboardJson (init: DashboardInit = {}): string {
  return JSON.stringify(renderDashboard(init), null, 2) + '\n'
}

export interface DashboardQuery { panel: string, refId: string, template: string, expr: string }

/**
 * Every query of the dashboard, with the Grafana variables filled in (default: all
 * namespaces and networks, a 5m rate window), ready to send to a Prometheus.
 */
export function dashboardQueries (vars: { namespace?: string, network?: string, rateInterval?: string } = {}): DashboardQuery[] {
  const fill = (expr: string): string => expr
    .replaceAll('$__rate_interval', vars.rateInterval ?? '5m')
    .replaceAll('$namespace', vars.namespace ?? '.*')
    .replaceAll('$network', vars.network ?? '.*')
  return renderDashboard().panels.flatMap(p => (p.targets ?? []).map(t => ({ panel: p.title, refId: t.refId, template: t.expr, expr: fill(t.expr) })))
}

/** `<network>-dashboard`: the dashboard with this network preselected, for the Grafana sidecar. */
export function renderDashboardConfigMap (net: DawnNetwork): V1ConfigMap {
  const { name, namespace } = networkCoordinates(net)
  // Grafana uids are at most 40 characters and unique per Grafana: derive one per network.
  const uid = `dawn-${sha256Hex(`${namespace}/${name}`).slice(0, 16)}`
  const json = renderDashboardJson({ uid, title: `${DASHBOARD_TITLE}: ${namespace}/${name}`, namespace, network: name })
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: dashboardConfigMapName(name),
      namespace,
      labels: { ...monitoringLabels(net), ...GRAFANA_DASHBOARD_LABEL },
      ownerReferences: [ownerReference(KINDS.network, net)]
    },
    data: { [dashboardFileName(name)]: json }
  }
}
