// One vitest suite per group of scenarios: five real nodes in namespaces, each scenario in
// turn on the same mesh, every invariant asserted, and the figures printed at the end.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { violations } from '../invariants.ts'
import { runScenario, scenario, summarize, type RunOptions, type ScenarioResult } from '../scenarios/index.ts'
import { NetnsTarget } from './target.ts'

export const NODES = 5

export interface Suite {
  target: () => NetnsTarget
  results: Map<string, ScenarioResult>
}

export function scenarioSuite (names: string[], opts: Partial<RunOptions> = {}): Suite {
  let target: NetnsTarget | undefined
  const results = new Map<string, ScenarioResult>()
  const figures: string[] = []
  beforeAll(async () => { target = await NetnsTarget.start({ nodes: NODES }) })
  afterAll(async () => {
    if (figures.length > 0) console.log(`chaos in network namespaces (${NODES} nodes):\n${figures.join('\n')}`)
    await target?.close()
  })
  const t = (): NetnsTarget => {
    if (target === undefined) throw new Error('the target did not start')
    return target
  }
  names.forEach((name, k) => {
    it(`${name}: every invariant holds after the heal`, async () => {
      const sc = scenario(name)
      if (sc === undefined) throw new Error(`no scenario ${name}`)
      const log: string[] = []
      const r = await runScenario(t(), sc, { seed: 1000 + k, ...opts, log: line => { log.push(line) } })
      results.set(name, r)
      const summary = summarize(r)
      figures.push(summary)
      expect(violations(r.verdict), `${summary}\n${log.join('\n')}`).toEqual([])
      expect(r.convergedMs, summary).toBeDefined()
      expect(r.calls.ok, 'the workload got calls through').toBeGreaterThan(0)
    })
  })
  return { target: t, results }
}
