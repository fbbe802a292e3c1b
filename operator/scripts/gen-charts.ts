// Writes the generated parts of charts/: the CRD templates of charts/dawn-crds (from
// the operator's TypeBox types) and charts/dawn/templates/_rules.tpl (from rbac.ts).
//   sh scripts/node.sh operator/scripts/gen-charts.ts           write the files
//   sh scripts/node.sh operator/scripts/gen-charts.ts --check   exit 1 if any file is stale
import { renderChartFiles, GEN_CHARTS_COMMAND } from '../src/install/chart.ts'
import { CHARTS_DIR } from '../src/install/helm.ts'
import { runGenerator, syncGeneratedFiles } from './generated-files.ts'

runGenerator(async () => await syncGeneratedFiles(renderChartFiles(), {
  dir: CHARTS_DIR, what: 'chart', command: GEN_CHARTS_COMMAND, check: process.argv.includes('--check')
}))
