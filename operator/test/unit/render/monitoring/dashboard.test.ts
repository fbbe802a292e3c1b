import { describe, it, expect } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import {
  DASHBOARD_SCHEMA_VERSION, dashboardQueries, renderDashboard, renderDashboardConfigMap, type GrafanaDashboard, type GrafanaPanel
} from '../../../../src/render/monitoring/dashboard.ts'
import { DASHBOARD_FILE } from '../../../../src/render/monitoring/rules.ts'
import { network } from '../fixtures.ts'

const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..', '..')
/** Grafana's data source variable, as every panel and target must name it. */
const DS_UID: string = ['$', '{datasource}'].join('')

/** What Grafana needs of a dashboard JSON model, checked on the parsed file rather than on our types. */
function checkGrafanaJson (d: unknown): string[] {
  const problems: string[] = []
  const dash = d as Partial<GrafanaDashboard>
  if (typeof dash.schemaVersion !== 'number' || dash.schemaVersion < 36) problems.push('schemaVersion')
  if (typeof dash.uid !== 'string' || dash.uid.length === 0 || dash.uid.length > 40) problems.push('uid')
  if (typeof dash.title !== 'string') problems.push('title')
  const vars = dash.templating?.list ?? []
  const ds = vars.find(v => v.name === 'datasource')
  if (ds?.type !== 'datasource' || ds.query !== 'prometheus') problems.push('no prometheus datasource variable')
  const ids = new Set<number>()
  for (const p of dash.panels ?? []) {
    if (ids.has(p.id)) problems.push(`duplicate panel id ${p.id}`)
    ids.add(p.id)
    const g = p.gridPos
    if (g.x < 0 || g.w < 1 || g.x + g.w > 24 || g.h < 1) problems.push(`${p.title}: gridPos`)
    if (p.type === 'row') continue
    if (p.datasource?.uid !== DS_UID) problems.push(`${p.title}: datasource`)
    if ((p.targets ?? []).length === 0) problems.push(`${p.title}: no targets`)
    for (const t of p.targets ?? []) {
      if (typeof t.expr !== 'string' || t.expr === '') problems.push(`${p.title}: empty expr`)
      if ((t.datasource as { uid?: string } | undefined)?.uid !== DS_UID) problems.push(`${p.title} ${t.refId}: datasource`)
    }
  }
  return problems
}

const overlaps = (a: GrafanaPanel['gridPos'], b: GrafanaPanel['gridPos']): boolean =>
  a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h

describe('the Grafana dashboard', () => {
  it(`${DASHBOARD_FILE} is valid Grafana JSON with a datasource variable and a query on every panel`, async () => {
    const json = JSON.parse(await readFile(join(ROOT, DASHBOARD_FILE), 'utf8')) as GrafanaDashboard
    expect(checkGrafanaJson(json)).toEqual([])
    expect(json.schemaVersion).toBe(DASHBOARD_SCHEMA_VERSION)
    expect(json.templating.list.map(v => v.name)).toEqual(['datasource', 'namespace', 'network'])
    const panels = json.panels.filter(p => p.type !== 'row')
    for (let i = 0; i < json.panels.length; i++) {
      for (let j = i + 1; j < json.panels.length; j++) expect(overlaps(json.panels[i]!.gridPos, json.panels[j]!.gridPos), `${json.panels[i]!.title} / ${json.panels[j]!.title}`).toBe(false)
    }
    // Fleet, tool calls, content and the operator.
    expect(json.panels.filter(p => p.type === 'row').map(p => p.title)).toEqual(['Fleet', 'Tool calls', 'Content', 'Operator'])
    const exprs = panels.flatMap(p => (p.targets ?? []).map(t => t.expr)).join('\n')
    for (const metric of ['up{', 'dawn_peers', 'dawn_registry_entries', 'dawn_tool_calls_total', 'dawn_tool_call_duration_seconds_bucket', 'dawn_content_pins',
      'dawn_content_replication_deficit', 'dawn_content_verification_failures_total', 'dawn_operator_reconcile_total', 'dawn_operator_is_leader']) {
      expect(exprs).toContain(metric)
    }
  })

  it('lists every query of the file, with the variables filled in', async () => {
    const json = JSON.parse(await readFile(join(ROOT, DASHBOARD_FILE), 'utf8')) as GrafanaDashboard
    const queries = dashboardQueries({ namespace: 'mesh', network: 'demo', rateInterval: '2m' })
    expect(queries.map(q => q.template)).toEqual(json.panels.flatMap(p => (p.targets ?? []).map(t => t.expr)))
    for (const q of queries) expect(q.expr, q.panel).not.toMatch(/\$/)
    expect(queries.find(q => q.panel === 'Peers per node')?.expr).toBe('dawn_peers{job="dawn-node",namespace=~"mesh",network=~"demo"}')
    expect(dashboardQueries().find(q => q.panel === 'Calls by route')?.expr).toBe('sum by (route) (rate(dawn_tool_calls_total{job="dawn-node",namespace=~".*",network=~".*"}[5m]))')
  })
})

describe('renderDashboardConfigMap', () => {
  it('wraps the dashboard for the Grafana sidecar, with this network preselected and a uid of its own', () => {
    const cm = renderDashboardConfigMap(network({ monitoring: { labels: { team: 'mesh' } } }))
    expect(cm.metadata).toMatchObject({
      name: 'demo-dashboard',
      namespace: 'mesh',
      labels: { team: 'mesh', grafana_dashboard: '1', 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': 'demo' }
    })
    expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'DawnNetwork', uid: 'uid-network-demo' })
    expect(Object.keys(cm.data ?? {})).toEqual(['dawn-demo.json'])
    const dash = JSON.parse(cm.data!['dawn-demo.json']!) as GrafanaDashboard
    expect(checkGrafanaJson(dash)).toEqual([])
    expect(dash.uid).toMatch(/^dawn-[0-9a-f]{16}$/)
    expect(dash.uid).not.toBe(renderDashboard().uid)
    expect(dash.title).toBe('Dawn mesh: mesh/demo')
    expect(dash.templating.list.find(v => v.name === 'network')?.current).toEqual({ selected: true, text: ['demo'], value: ['demo'] })
    expect(dash.panels).toEqual(renderDashboard().panels)
    // Another network gets another uid.
    expect((JSON.parse(renderDashboardConfigMap(network({}, 'other')).data!['dawn-other.json']!) as GrafanaDashboard).uid).not.toBe(dash.uid)
  })
})
