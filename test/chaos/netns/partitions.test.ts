// Partitions on five real nodes: halves, one isolated, the majorities ring and a bridge.
// Then proof that the harness can fail: a planted lost write and a fault never applied.
import { describe, expect, it } from 'vitest'
import { check } from '../invariants.ts'
import { halves } from '../scenarios/partitions.ts'
import { runScenario } from '../scenarios/index.ts'
import { FaultNotProvenError } from '../scenarios/scenario.ts'
import { takeSnapshot } from '../snapshot.ts'
import type { ChaosTarget } from '../target.ts'
import { scenarioSuite } from './suite.ts'

describe('partitions in network namespaces', () => {
  const suite = scenarioSuite(['halves', 'one-isolated', 'ring', 'bridge'])

  it('the checker catches a planted lost write and a success that never ran, on the real mesh', async () => {
    const r = suite.results.get('halves')
    if (r === undefined) throw new Error('halves did not run')
    const doctored = structuredClone(r.history)
    doctored.registry.push({ op: 'add', agentId: 'never-added', node: 3, acknowledged: true, at: Date.now() })
    doctored.calls.push({ key: `${doctored.keyPrefix}planted`, value: 'x', caller: 0, target: 4, outcome: 'ok' })
    const v = check(doctored, await takeSnapshot(suite.target(), doctored, { executions: true }))
    expect(v.lost).toEqual([
      'registry write lost: agent 3:never-added (acknowledged) missing on node(s) 0, 1, 2, 3, 4',
      `call ${doctored.keyPrefix}planted (0->4) was acknowledged but never executed`
    ])
  })

  it('a fault that was not applied fails the scenario at the probe', async () => {
    const t = suite.target()
    const noPartition = new Proxy<ChaosTarget>(t, { get: (o, k): unknown => (k === 'partition' ? async () => {} : Reflect.get(o, k)) })
    await expect(runScenario(noPartition, halves, { seed: 7, holdMs: 0, settleMs: 0, proofTimeoutMs: 2000 })).rejects.toThrow(FaultNotProvenError)
  })
})
