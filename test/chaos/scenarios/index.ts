// Every scenario, by name: what `npm run chaos -- list` prints and every target runs.
import { bridge, halves, oneIsolated, ring } from './partitions.ts'
import { flaky, skew } from './links.ts'
import { killRestart, pause, podKill } from './processes.ts'
import type { Scenario } from './scenario.ts'

export const SCENARIOS: readonly Scenario[] = [halves, oneIsolated, ring, bridge, killRestart, podKill, pause, flaky, skew]

export function scenario (name: string): Scenario | undefined {
  return SCENARIOS.find(s => s.name === name)
}

export { runScenario, summarize, passed, CONVERGENCE_BOUND_MS, type ScenarioResult, type RunOptions } from './run.ts'
export type { Scenario, ScenarioContext } from './scenario.ts'
