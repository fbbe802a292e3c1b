// Flaky links on five real nodes: delay, jitter and loss on every node-to-node link.
// A probe cannot see delay, so the scenario proves it by call latency; without the fault
// that proof must fail.
import { describe, expect, it } from 'vitest'
import { flaky } from '../scenarios/links.ts'
import { runScenario } from '../scenarios/index.ts'
import type { ChaosTarget } from '../target.ts'
import { scenarioSuite } from './suite.ts'

describe('flaky links in network namespaces', () => {
  const suite = scenarioSuite(['flaky'])

  it('flaky links that were not applied fail the scenario at the latency proof', async () => {
    const noFault = new Proxy<ChaosTarget>(suite.target(), { get: (o, k): unknown => (k === 'flaky' ? async () => {} : Reflect.get(o, k)) })
    await expect(runScenario(noFault, flaky, { seed: 7, holdMs: 0, settleMs: 0 })).rejects.toThrow(/flaky links make it at least/)
  })
})
