// Writes monitoring/rules/dawn.rules.yaml and monitoring/dashboards/dawn.json from the
// alert and dashboard definitions in operator/src/render/monitoring.
//   sh scripts/node.sh operator/scripts/gen-monitoring.ts           write the files
//   sh scripts/node.sh operator/scripts/gen-monitoring.ts --check   exit 1 if any file is stale
import { resolve } from 'node:path'
import { GEN_MONITORING_COMMAND, renderMonitoringFiles } from '../src/render/index.ts'
import { runGenerator, syncGeneratedFiles } from './generated-files.ts'

runGenerator(async () => await syncGeneratedFiles(renderMonitoringFiles(), {
  dir: resolve(import.meta.dirname, '..', '..'), what: 'monitoring', command: GEN_MONITORING_COMMAND, check: process.argv.includes('--check')
}))
