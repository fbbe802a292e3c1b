import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { AgentRegistry } from '../../../src/registry/agent-registry.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { splitDelta } from '../../../src/registry/delta-split.ts'
import type { OrSetState } from '../../../src/registry/or-set.ts'

const NODE_A = `12D3KooW${'A'.repeat(44)}`
const NODE_B = `12D3KooW${'B'.repeat(44)}`

const agent = (agentId: string, description = 'd'.repeat(1500)): AgentRecord =>
  ({ nodeId: NODE_B, agentId, name: agentId, kind: 'static', description, tools: [{ name: 'run' }], updatedAt: 1 })

async function registry (peerId: string): Promise<AgentRegistry> {
  const r = new AgentRegistry({ peerId })
  await r.start()
  return r
}

const bytes = (state: unknown): number => Buffer.byteLength(JSON.stringify(state))

describe('splitDelta', () => {
  it('cuts an oversize delta into pieces under the budget that, applied in any order, equal the delta', async () => {
    const b = await registry(NODE_B)
    const added = b.setLocalAgents(Array.from({ length: 300 }, (_, i) => agent(`a-${i}`))) as OrSetState<AgentRecord>
    // Then a reload that drops most and changes a few: a delta of removals and re-adds.
    const changed = b.setLocalAgents([...Array.from({ length: 40 }, (_, i) => agent(`a-${i}`)), ...Array.from({ length: 10 }, (_, i) => agent(`a-${i + 40}`, 'new'))]) as OrSetState<AgentRecord>
    const budget = 24 * 1024
    expect(bytes(added)).toBeGreaterThan(10 * budget)

    await fc.assert(fc.asyncProperty(fc.func(fc.integer()), async (rank) => {
      const a = await registry(NODE_A)
      for (const delta of [added, changed]) {
        const pieces = splitDelta(delta, budget)
        expect(pieces.length).toBeGreaterThan(1)
        for (const piece of pieces) expect(bytes(piece)).toBeLessThanOrEqual(budget)
        const order = pieces.map((p, i) => ({ p, r: rank(i) })).sort((x, y) => x.r - y.r)
        // Each piece is checked like any gossiped delta: only the sender's own keys and dots.
        for (const { p } of order) a.applyDelta(structuredClone(p), NODE_B)
      }
      expect(a.digest()).toBe(b.digest())
      expect(a.entries().map(e => e.agentId)).toHaveLength(50)
    }), { numRuns: 10 })
  })

  it('keeps a delta that fits as one piece', async () => {
    const b = await registry(NODE_B)
    const delta = b.setLocalAgents([agent('one')]) as OrSetState<AgentRecord>
    const pieces = splitDelta(delta, 64 * 1024)
    expect(pieces).toHaveLength(1)
    const a = await registry(NODE_A)
    a.applyDelta(pieces[0], NODE_B)
    expect(a.digest()).toBe(b.digest())
  })
})
