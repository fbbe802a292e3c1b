import { describe, it, expect } from 'vitest'
import { readFile, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { ALERTS, ALERT_NAMES, RUNBOOK_BASE_URL, alertRuleGroups, type AlertGroup } from '../../../../src/render/monitoring/alerts.ts'
import { renderMonitoringFiles } from '../../../../src/render/monitoring/files.ts'
import { GEN_MONITORING_COMMAND, RULES_FILE, renderPlainRulesFile, renderPrometheusRule } from '../../../../src/render/monitoring/rules.ts'
import { network } from '../fixtures.ts'

const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..', '..')
const RUNBOOKS = join(ROOT, 'docs', 'runbooks')
const rulesOf = (groups: AlertGroup[]): AlertGroup['rules'] => groups.flatMap(g => g.rules)

describe('the alert definitions', () => {
  it('has the alerts operators page on, each with severity, summary, description and runbook', () => {
    expect(ALERT_NAMES).toEqual([
      'DawnNodeDown', 'DawnPeersLow', 'DawnMeshPartitioned', 'DawnRegistryDiverged', 'DawnAntiEntropyFailing', 'DawnToolCallErrorsHigh',
      'DawnToolCallLatencyHigh', 'DawnContentUnderReplicated', 'DawnMembershipRejectionsSpiking', 'DawnOperatorReconcileErrors', 'DawnOperatorNotLeading'
    ])
    for (const rule of rulesOf(alertRuleGroups({}))) {
      expect(['warning', 'critical']).toContain(rule.labels.severity)
      expect(rule.annotations.summary).not.toBe('')
      expect(rule.annotations.description).not.toBe('')
      expect(rule.annotations.runbook_url).toBe(`${RUNBOOK_BASE_URL}/${rule.alert}.md`)
      expect(rule.for).toMatch(/^\d+m$/)
    }
  })

  it('has a runbook for every alert, every runbook_url resolves to a file, and no runbook is left over', async () => {
    const files = (await readdir(RUNBOOKS)).filter(f => f.endsWith('.md') && f !== 'README.md').sort()
    expect(files).toEqual(ALERT_NAMES.map(a => `${a}.md`).sort())
    for (const rule of rulesOf(alertRuleGroups({ namespace: 'mesh', network: 'demo', expectedNodes: 3 }))) {
      const relative = rule.annotations.runbook_url.slice(RUNBOOK_BASE_URL.length + 1)
      const text = await readFile(join(RUNBOOKS, relative), 'utf8')
      expect(text.startsWith(`# ${rule.alert}\n`), `${relative} is titled after its alert`).toBe(true)
      for (const section of ['## What it means', '## Confirm', '## Fix']) expect(text, `${relative}: ${section}`).toContain(section)
    }
  })

  it('renders a runbook base URL given to it', () => {
    const [rule] = rulesOf(alertRuleGroups({}, { runbookBaseUrl: 'https://runbooks.example/dawn' }))
    expect(rule!.annotations.runbook_url).toBe('https://runbooks.example/dawn/DawnNodeDown.md')
  })

  it('unscoped: every node series is selected by the scrape job alone', () => {
    for (const rule of rulesOf(alertRuleGroups({})).filter(r => ALERTS.find(a => a.alert === r.alert)?.group === 'nodes')) {
      expect(rule.expr).toContain('{job="dawn-node"')
      expect(rule.expr).not.toContain('network="')
      expect(rule.labels).toEqual({ severity: rule.labels.severity })
    }
  })
})

describe('renderPrometheusRule', () => {
  const net = network({ monitoring: { labels: { role: 'alert-rules' } } })
  const pr = renderPrometheusRule(net, { expectedNodes: 3 })

  it('is owned by the network, labelled for a ruleSelector, in groups of node and operator alerts', () => {
    expect(pr.apiVersion).toBe('monitoring.coreos.com/v1')
    expect(pr.kind).toBe('PrometheusRule')
    expect(pr.metadata).toMatchObject({ name: 'demo-alerts', namespace: 'mesh', labels: { role: 'alert-rules', 'mesh.dawn.dev/network': 'demo' } })
    expect(pr.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'DawnNetwork', name: 'demo', uid: 'uid-network-demo', controller: true })
    expect(pr.spec.groups.map(g => g.name)).toEqual(['dawn-nodes', 'dawn-operator'])
  })

  it('scopes every node expression to the network, and labels every alert with it for routing', () => {
    for (const rule of rulesOf(pr.spec.groups)) {
      expect(rule.labels).toMatchObject({ namespace: 'mesh', network: 'demo' })
      if (rule.alert.startsWith('DawnOperator')) continue
      const selectors = rule.expr.match(/\{[^}]*\}/g) ?? []
      expect(selectors.length, rule.alert).toBeGreaterThan(0)
      for (const s of selectors) expect(s, rule.alert).toMatch(/^\{job="dawn-node",namespace="mesh",network="demo"/)
    }
  })

  it('knows how many nodes the network runs: pods that are no scrape target at all fire DawnNodeDown', () => {
    const down = rulesOf(pr.spec.groups).filter(r => r.alert === 'DawnNodeDown')
    expect(down.map(r => r.expr)).toEqual([
      'up{job="dawn-node",namespace="mesh",network="demo"} == 0',
      '(count(up{job="dawn-node",namespace="mesh",network="demo"}) or on() vector(0)) < 3'
    ])
    expect(down[1]!.annotations.description).toContain('of the 3 nodes of network mesh/demo')
    // Without pools there is nothing to miss.
    expect(rulesOf(renderPrometheusRule(net, { expectedNodes: 0 }).spec.groups).filter(r => r.alert === 'DawnNodeDown')).toHaveLength(1)
  })
})

describe('checked-in monitoring files', () => {
  it.each([...renderMonitoringFiles().keys()])('%s is what the definitions render', async file => {
    const current = await readFile(join(ROOT, file), 'utf8').catch(() => '(missing)')
    if (current !== renderMonitoringFiles().get(file)) expect.fail(`${file} is stale; regenerate it with: ${GEN_MONITORING_COMMAND}`)
  })

  it('the plain rule file is the unscoped rule groups', async () => {
    expect(parse(renderPlainRulesFile())).toEqual({ groups: alertRuleGroups({}) })
    expect(parse(await readFile(join(ROOT, RULES_FILE), 'utf8'))).toEqual({ groups: alertRuleGroups({}) })
  })
})
