// Writes crds/<plural>.yaml from the operator's TypeBox schemas.
//   sh scripts/node.sh operator/scripts/gen-crds.ts           write the files
//   sh scripts/node.sh operator/scripts/gen-crds.ts --check   exit 1 if any file is stale
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { renderCrdFiles, GEN_CRDS_COMMAND } from '../src/api/crds.ts'

const CRD_DIR = resolve(import.meta.dirname, '..', '..', 'crds')

async function main (): Promise<number> {
  const check = process.argv.includes('--check')
  const stale: string[] = []
  await mkdir(CRD_DIR, { recursive: true })
  for (const [name, text] of renderCrdFiles()) {
    const file = join(CRD_DIR, name)
    const current = await readFile(file, 'utf8').catch(() => undefined)
    if (current === text) continue
    if (check) {
      stale.push(file)
    } else {
      await writeFile(file, text)
      console.log(`wrote ${file}`)
    }
  }
  if (stale.length > 0) {
    console.error(`stale CRD file(s):\n  ${stale.join('\n  ')}\nregenerate with: ${GEN_CRDS_COMMAND}`)
    return 1
  }
  return 0
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
})
