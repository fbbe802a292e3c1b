// helm lint --strict on both charts, with every value combination the goldens render.
import { describe, it, expect } from 'vitest'
import { runHelm } from '../../operator/src/install/helm.ts'
import { INSTALL_SET } from '../../operator/src/install/install-manifest.ts'
import { CASES, CRDS_CHART, DAWN_CHART, NAMESPACE } from './support.ts'

const lint = async (chart: string, args: readonly string[]): Promise<void> => {
  const r = await runHelm(['lint', '--strict', chart, '--namespace', NAMESPACE, ...args])
  expect(r.code, `helm lint --strict ${chart} ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`).toBe(0)
  expect(r.stdout).toContain('0 chart(s) failed')
}

describe('helm lint --strict', () => {
  it('charts/dawn-crds', async () => { await lint(CRDS_CHART, []) })

  it.each(Object.entries(CASES))('charts/dawn: %s', async (_name, args) => { await lint(DAWN_CHART, args) })

  it('charts/dawn: as manifests/install.yaml renders it', async () => {
    await lint(DAWN_CHART, INSTALL_SET.flatMap(v => ['--set', v]))
  })

  it('charts/dawn: everything on at once', async () => {
    await lint(DAWN_CHART, [...Object.values(CASES).flat(), '--set', 'namespace.create=true'])
  })
})
