// Process faults on five real nodes: kill -9 and restart, pod-deletion-like kills, SIGSTOP/SIGCONT.
// A paused node still completes TCP handshakes, so its proof is that it stops answering;
// a pause that did not happen must fail it.
import { describe, expect, it } from 'vitest'
import { pause } from '../scenarios/processes.ts'
import { runScenario } from '../scenarios/index.ts'
import type { ChaosTarget } from '../target.ts'
import { scenarioSuite } from './suite.ts'

describe('process faults in network namespaces', () => {
  const suite = scenarioSuite(['kill-restart', 'pod-kill', 'pause'])

  it('a pause that did not happen fails the scenario', async () => {
    const noPause = new Proxy<ChaosTarget>(suite.target(), { get: (o, k): unknown => (k === 'pause' ? async () => {} : Reflect.get(o, k)) })
    await expect(runScenario(noPause, pause, { seed: 7, holdMs: 0, settleMs: 0 })).rejects.toThrow(/still answers after SIGSTOP/)
  })
})
