// The generated parts of the charts (CRD templates, RBAC rules) match the code, and
// the chart's version matches the operator's.
import { describe, it, expect } from 'vitest'
import { readFile, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { renderChartFiles, GEN_CHARTS_COMMAND, KEEP_ANNOTATION } from '../../operator/src/install/chart.ts'
import { renderCrdFiles } from '../../operator/src/api/crds.ts'
import operatorPackage from '../../operator/package.json' with { type: 'json' }
import { CHARTS, CRDS_CHART, DAWN_CHART } from './support.ts'

describe('generated chart files', () => {
  const files = renderChartFiles()

  it.each([...files.keys()])('charts/%s is fresh', async name => {
    const current = await readFile(join(CHARTS, name), 'utf8').catch(() => '(missing)')
    if (current !== files.get(name)) expect.fail(`charts/${name} is stale (the API types or rbac.ts changed); regenerate it with: ${GEN_CHARTS_COMMAND}`)
  })

  it('charts/dawn-crds/templates holds only generated files', async () => {
    const present = (await readdir(join(CRDS_CHART, 'templates'))).map(f => `dawn-crds/templates/${f}`)
    expect(present.filter(f => !files.has(f)), `remove stray template(s) or add them to the generator (${GEN_CHARTS_COMMAND})`).toEqual([])
  })

  it('the chart CRDs are crds/ plus the keep annotation', () => {
    for (const [name, text] of renderCrdFiles()) {
      const plain = parse(text) as { metadata: Record<string, unknown> }
      const templated = parse(files.get(`dawn-crds/templates/${name}`) ?? '') as { metadata: Record<string, unknown> }
      expect(templated).toEqual({ ...plain, metadata: { ...plain.metadata, annotations: KEEP_ANNOTATION } })
    }
  })

  it('both charts carry the operator version as appVersion', async () => {
    for (const dir of [DAWN_CHART, CRDS_CHART]) {
      const chart = parse(await readFile(join(dir, 'Chart.yaml'), 'utf8')) as { version: string, appVersion: string }
      expect(chart.appVersion, `${dir}/Chart.yaml appVersion`).toBe(operatorPackage.version)
    }
  })

  it('the main chart holds the CRD chart as a link, not a copy', async () => {
    expect(await readlink(join(DAWN_CHART, 'charts', 'dawn-crds'))).toBe('../../dawn-crds')
    expect(await readdir(join(DAWN_CHART, 'charts')), 'only the link: `helm dependency build` would add a second copy of the CRDs').toEqual(['dawn-crds'])
  })

  it('the main chart depends on the CRD chart at its version', async () => {
    const chart = parse(await readFile(join(DAWN_CHART, 'Chart.yaml'), 'utf8')) as { dependencies: Array<{ name: string, version: string, repository: string, condition: string }> }
    const crds = parse(await readFile(join(CRDS_CHART, 'Chart.yaml'), 'utf8')) as { name: string, version: string }
    expect(chart.dependencies).toEqual([expect.objectContaining({ name: crds.name, version: crds.version, repository: 'file://../dawn-crds', condition: 'crds.install' })])
  })
})
