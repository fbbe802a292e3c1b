// The checked-in monitoring files, rendered: paths relative to the repository root ->
// exact text. operator/scripts/gen-monitoring.ts writes them; a test fails when stale.
import { renderDashboardJson } from './dashboard.ts'
import { DASHBOARD_FILE, RULES_FILE, renderPlainRulesFile } from './rules.ts'

export function renderMonitoringFiles (): Map<string, string> {
  return new Map([
    [RULES_FILE, renderPlainRulesFile()],
    [DASHBOARD_FILE, renderDashboardJson()]
  ])
}
