// Bundles the page's libraries into node-image/src/ui/vendor/*.js, which are committed:
// the node runs its sources as they are, with no build step, so the image and
// `./dawn mesh` serve exactly these files. esbuild's output is deterministic for pinned
// versions, and a unit test (test/unit/ui/vendor-bundle.test.ts) fails when the
// committed files differ from a fresh build.
//   sh scripts/node.sh scripts/ui-vendor.ts          rewrite the vendor files
//   sh scripts/node.sh scripts/ui-vendor.ts --check  exit 1 if they are stale
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { buildVendorFiles, VENDOR_DIR } from '../node-image/src/ui/vendor-build.ts'

const check = process.argv.includes('--check')
const files = await buildVendorFiles()
let stale = 0
for (const [name, text] of files) {
  const path = fileURLToPath(new URL(name, VENDOR_DIR))
  const current = await readFile(path, 'utf8').catch(() => '')
  if (current === text) continue
  stale++
  if (check) console.error(`stale: ${path}`)
  else await writeFile(path, text)
}
if (check && stale > 0) {
  console.error('rebuild with: sh scripts/node.sh scripts/ui-vendor.ts')
  process.exit(1)
}
console.log(check ? 'vendor files are current' : `vendor files written (${stale} changed)`)
