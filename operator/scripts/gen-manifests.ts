// Writes manifests/install.yaml: `helm template` of charts/dawn (CRDs, Namespace, RBAC,
// the operator) with the fixed values of operator/src/install/install-manifest.ts.
// Needs the pinned helm (sh scripts/fetch-helm.sh).
//   sh scripts/node.sh operator/scripts/gen-manifests.ts [--check]
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { renderInstallManifest, GEN_MANIFESTS_COMMAND } from '../src/install/install-manifest.ts'
import { REPO_ROOT } from '../src/install/helm.ts'

const FILE = join(REPO_ROOT, 'manifests', 'install.yaml')

async function main (): Promise<number> {
  const text = await renderInstallManifest()
  const current = await readFile(FILE, 'utf8').catch(() => undefined)
  if (current === text) return 0
  if (process.argv.includes('--check')) {
    console.error(`stale ${FILE}; regenerate with: ${GEN_MANIFESTS_COMMAND}`)
    return 1
  }
  await mkdir(resolve(FILE, '..'), { recursive: true })
  await writeFile(FILE, text)
  console.log(`wrote ${FILE}`)
  return 0
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exitCode = 1
})
