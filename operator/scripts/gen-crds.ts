// Writes crds/<plural>.yaml from the operator's TypeBox schemas.
//   sh scripts/node.sh operator/scripts/gen-crds.ts           write the files
//   sh scripts/node.sh operator/scripts/gen-crds.ts --check   exit 1 if any file is stale
import { resolve } from 'node:path'
import { renderCrdFiles, GEN_CRDS_COMMAND } from '../src/api/crds.ts'
import { runGenerator, syncGeneratedFiles } from './generated-files.ts'

runGenerator(async () => await syncGeneratedFiles(renderCrdFiles(), {
  dir: resolve(import.meta.dirname, '..', '..', 'crds'), what: 'CRD', command: GEN_CRDS_COMMAND, check: process.argv.includes('--check')
}))
