// Writes monitoring/rules/dawn.rules.yaml and monitoring/dashboards/dawn.json from the
// alert and dashboard definitions in operator/src/render/monitoring.
//   sh scripts/node.sh operator/scripts/gen-monitoring.ts           write the files
//   sh scripts/node.sh operator/scripts/gen-monitoring.ts --check   exit 1 if any file is stale
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { GEN_MONITORING_COMMAND, renderMonitoringFiles } from '../src/render/index.ts'

const ROOT = resolve(import.meta.dirname, '..', '..')

async function main (): Promise<number> {
  const check = process.argv.includes('--check')
  const stale: string[] = []
  for (const [name, text] of renderMonitoringFiles()) {
    const file = join(ROOT, name)
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
    console.error(`stale monitoring file(s):\n  ${stale.join('\n  ')}\nregenerate with: ${GEN_MONITORING_COMMAND}`)
    return 1
  }
  return 0
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
})
