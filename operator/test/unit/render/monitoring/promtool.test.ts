// The rules, the scrape config, the dashboard's queries and the Alertmanager config,
// checked by the real tools: Debian's promtool (Prometheus 2.42) and amtool.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse, stringify } from 'yaml'
import { ALERT_NAMES } from '../../../../src/render/monitoring/alerts.ts'
import { renderPlainAlertmanagerConfig } from '../../../../src/render/monitoring/alertmanager.ts'
import { dashboardQueries } from '../../../../src/render/monitoring/dashboard.ts'
import { RULES_FILE, renderPrometheusRule } from '../../../../src/render/monitoring/rules.ts'
import { renderPlainScrapeConfig } from '../../../../src/render/monitoring/scrape.ts'
import { renderStaticScrapeConfig } from '../../../../src/render/monitoring/targets.ts'
import { network } from '../fixtures.ts'

const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..', '..')
const TESTS_DIR = join(ROOT, 'monitoring', 'rules', 'tests')
const INSTALL = 'sh scripts/install-debian-packages.sh (as root; it runs apt-get install prometheus prometheus-alertmanager)'

/** Runs a tool; resolves with its exit code and output (never rejects for a non-zero exit). */
async function tool (cmd: string, args: string[]): Promise<{ code: number, out: string }> {
  return await new Promise((resolvePromise, reject) => {
    execFile(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${cmd} is not installed; install it with: ${INSTALL}`))
        return
      }
      resolvePromise({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, out: `${stdout}${stderr}` })
    })
  })
}
const ok = async (cmd: string, args: string[]): Promise<string> => {
  const r = await tool(cmd, args)
  expect(r.code, `${cmd} ${args.join(' ')}:\n${r.out}`).toBe(0)
  return r.out
}

let tmp = ''
beforeAll(async () => { tmp = await mkdtemp(join(tmpdir(), 'dawn-promtool-')) })
afterAll(async () => { if (tmp !== '') await rm(tmp, { recursive: true, force: true }) })

describe('promtool', () => {
  it(`checks ${RULES_FILE}`, async () => {
    expect(await ok('promtool', ['check', 'rules', RULES_FILE])).toContain(`SUCCESS: ${ALERT_NAMES.length} rules found`)
  })

  it('passes the rule unit tests, which make every alert fire', async () => {
    const files = (await readdir(TESTS_DIR)).filter(f => f.endsWith('.yaml')).sort()
    const firing = new Set<string>()
    for (const f of files) {
      const doc = parse(await readFile(join(TESTS_DIR, f), 'utf8')) as { tests: Array<{ alert_rule_test?: Array<{ alertname: string, exp_alerts?: unknown[] }> }> }
      for (const t of doc.tests) for (const a of t.alert_rule_test ?? []) if ((a.exp_alerts ?? []).length > 0) firing.add(a.alertname)
    }
    expect([...firing].sort()).toEqual([...ALERT_NAMES].sort())
    const out = await ok('promtool', ['test', 'rules', ...files.map(f => join(TESTS_DIR, f))])
    expect(out.match(/SUCCESS/g)).toHaveLength(files.length)
  })

  it('checks and tests the PrometheusRule of a network: scoped, labelled, and counting missing pods', async () => {
    const rules = join(tmp, 'scoped.rules.yaml')
    await writeFile(rules, stringify({ groups: renderPrometheusRule(network(), { expectedNodes: 3 }).spec.groups }))
    await ok('promtool', ['check', 'rules', rules])
    const node = (network: string, pod: string): string => `up{job="dawn-node",namespace="mesh",network="${network}",pool="p",pod="${pod}"}`
    const test = {
      rule_files: [rules],
      evaluation_interval: '1m',
      tests: [{
        interval: '1m',
        input_series: [
          { series: node('demo', 'p-0'), values: '1x5' },
          { series: node('demo', 'p-1'), values: '1x5' },
          // Another network's node is down: not this network's alert.
          { series: node('other', 'o-0'), values: '0x5' },
          { series: 'dawn_operator_is_leader{job="dawn-operator"}', values: '0x5' }
        ],
        alert_rule_test: [
          {
            eval_time: '3m',
            alertname: 'DawnNodeDown',
            exp_alerts: [{
              exp_labels: { severity: 'warning', namespace: 'mesh', network: 'demo' },
              exp_annotations: {
                summary: 'A Dawn node is down',
                description: 'Only 2 of the 3 nodes of network mesh/demo are scrape targets: pods are gone, pending or not yet discovered.',
                runbook_url: 'https://github.com/dawn-mesh/dawn/blob/main/docs/runbooks/DawnNodeDown.md'
              }
            }]
          },
          {
            eval_time: '3m',
            alertname: 'DawnOperatorNotLeading',
            exp_alerts: [{
              exp_labels: { severity: 'critical', job: 'dawn-operator', namespace: 'mesh', network: 'demo' },
              exp_annotations: {
                summary: 'No Dawn operator replica holds the leader lease',
                description: 'No replica of the operator scraped as job dawn-operator has led for 2m: Dawn resources are not reconciled.',
                runbook_url: 'https://github.com/dawn-mesh/dawn/blob/main/docs/runbooks/DawnOperatorNotLeading.md'
              }
            }]
          }
        ]
      }]
    }
    const testFile = join(tmp, 'scoped.test.yaml')
    await writeFile(testFile, stringify(test))
    await ok('promtool', ['test', 'rules', testFile])
  })

  it('parses every dashboard query (as recording rules)', async () => {
    const queries = dashboardQueries({ namespace: 'mesh', network: 'demo', rateInterval: '1m' })
    const file = join(tmp, 'dashboard.rules.yaml')
    await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules: queries.map((q, i) => ({ record: `dawn:dashboard:q${i}`, expr: q.expr })) }] }))
    expect(await ok('promtool', ['check', 'rules', file])).toContain(`SUCCESS: ${queries.length} rules found`)
  })

  it('accepts a prometheus.yml with the static scrape config and the rule file', async () => {
    const file = join(tmp, 'prometheus.yml')
    const pod = { metadata: { name: 'p-0', namespace: 'mesh', labels: { 'app.kubernetes.io/name': 'dawn-node', 'mesh.dawn.dev/network': 'demo', 'mesh.dawn.dev/pool': 'p' } }, spec: { containers: [{ name: 'node', ports: [{ name: 'http', containerPort: 8080 }] }] }, status: { podIP: '10.1.0.7' } }
    await writeFile(file, stringify({
      global: { scrape_interval: '30s', evaluation_interval: '30s' },
      rule_files: [join(ROOT, RULES_FILE)],
      scrape_configs: [renderStaticScrapeConfig({ pods: [pod] })]
    }))
    await ok('promtool', ['check', 'config', file])
  })

  it('knows whether this promtool has Kubernetes discovery (Debian builds it without)', async () => {
    const file = join(tmp, 'prometheus-k8s.yml')
    await writeFile(file, stringify({ scrape_configs: [renderPlainScrapeConfig({ networks: [{ namespace: 'mesh', name: 'demo' }] })] }))
    const r = await tool('promtool', ['check', 'config', file])
    // Upstream builds accept the kubernetes_sd_configs job; Debian's reject only that field.
    if (r.code !== 0) expect(r.out).toContain('field kubernetes_sd_configs not found')
  })
})

describe('amtool', () => {
  it('accepts the plain alertmanager.yml of a network with a webhook receiver', async () => {
    const net = network({ monitoring: { alertmanagerConfig: { receiver: { name: 'oncall', webhook: { urlSecretRef: { name: 'hook' } } }, matchers: [{ name: 'severity', value: 'critical|warning', matchType: '=~' }] } } })
    const file = join(tmp, 'alertmanager.yml')
    await writeFile(file, stringify(renderPlainAlertmanagerConfig(net, { webhookUrl: 'http://127.0.0.1:9095/hook' })))
    const out = await ok('amtool', ['check-config', file])
    expect(out).toContain('SUCCESS')
  })
})
