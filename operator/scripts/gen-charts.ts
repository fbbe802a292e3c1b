// Writes the generated parts of charts/: the CRD templates of charts/dawn-crds (from
// the operator's TypeBox types) and charts/dawn/templates/_rules.tpl (from rbac.ts).
//   sh scripts/node.sh operator/scripts/gen-charts.ts           write the files
//   sh scripts/node.sh operator/scripts/gen-charts.ts --check   exit 1 if any file is stale
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { renderChartFiles, GEN_CHARTS_COMMAND } from '../src/install/chart.ts'
import { CHARTS_DIR } from '../src/install/helm.ts'

async function main (): Promise<number> {
  const check = process.argv.includes('--check')
  const stale: string[] = []
  for (const [name, text] of renderChartFiles()) {
    const file = join(CHARTS_DIR, name)
    const current = await readFile(file, 'utf8').catch(() => undefined)
    if (current === text) continue
    if (check) {
      stale.push(file)
    } else {
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, text)
      console.log(`wrote ${file}`)
    }
  }
  if (stale.length > 0) {
    console.error(`stale chart file(s):\n  ${stale.join('\n  ')}\nregenerate with: ${GEN_CHARTS_COMMAND}`)
    return 1
  }
  return 0
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
})
