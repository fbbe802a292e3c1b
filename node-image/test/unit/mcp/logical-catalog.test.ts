import { describe, expect, it } from 'vitest'
import { logicalAgents } from '../../../src/mcp/logical-catalog.ts'
import { nodeWithTag, rec } from './naming-fixtures.ts'

const n1 = nodeWithTag('Node1aaaaa')
const n2 = nodeWithTag('Node2aaaaa')
const n3 = nodeWithTag('Node3aaaaa')

describe('logicalAgents', () => {
  it('makes one agent of an agent id hosted on several nodes, replicas sorted', () => {
    const agents = logicalAgents([rec(n3, 'echo', ['say']), rec(n1, 'echo', ['say']), rec(n2, 'notes', ['add']), rec(n2, 'echo', ['say'])])
    expect(agents.map((a) => a.agentId)).toEqual(['echo', 'notes'])
    const [echo] = agents
    expect(echo?.replicas).toEqual([n1, n2, n3])
    expect(echo?.tools).toEqual([{ name: 'say', replicas: [n1, n2, n3], versions: [{ item: { name: 'say' }, nodeIds: [n1, n2, n3] }] }])
    expect(echo?.differences).toEqual([])
  })

  it('lists the union of tools and prompts, each with the replicas that have it, and reports what is missing', () => {
    const [agent] = logicalAgents([
      rec(n1, 'a', ['x', 'y'], { prompts: [{ name: 'p' }] }),
      rec(n2, 'a', ['y', 'z']),
      rec(n3, 'a', ['y'])
    ])
    expect(agent?.tools.map((t) => [t.name, t.replicas])).toEqual([['x', [n1]], ['y', [n1, n2, n3]], ['z', [n2]]])
    expect(agent?.prompts.map((p) => [p.name, p.replicas])).toEqual([['p', [n1]]])
    expect(agent?.differences).toEqual([
      { kind: 'tool', name: 'x', missingOn: [n2, n3], listedFrom: n1, differentOn: [] },
      { kind: 'tool', name: 'z', missingOn: [n1, n3], listedFrom: n2, differentOn: [] },
      { kind: 'prompt', name: 'p', missingOn: [n2, n3], listedFrom: n1, differentOn: [] }
    ])
  })

  it('lists the version most replicas hold, and reports the others', () => {
    const old = { name: 't', description: 'old', inputSchema: { type: 'object' } }
    const neu = { name: 't', description: 'new', inputSchema: { type: 'object', properties: { q: { type: 'string' } } } }
    const [agent] = logicalAgents([rec(n1, 'a', [neu]), rec(n2, 'a', [old]), rec(n3, 'a', [old])])
    expect(agent?.tools[0]?.versions.map((v) => [v.item.description, v.nodeIds])).toEqual([['old', [n2, n3]], ['new', [n1]]])
    expect(agent?.differences).toEqual([{ kind: 'tool', name: 't', missingOn: [], listedFrom: n2, differentOn: [n1] }])
  })

  it('breaks a tie between versions by the lowest node id, whatever the order', () => {
    const v1 = { name: 't', description: 'one' }
    const v2 = { name: 't', description: 'two' }
    for (const records of [[rec(n1, 'a', [v2]), rec(n2, 'a', [v1])], [rec(n2, 'a', [v1]), rec(n1, 'a', [v2])]]) {
      const [agent] = logicalAgents(records)
      expect(agent?.tools[0]?.versions[0]?.item.description).toBe('two')
      expect(agent?.differences[0]).toMatchObject({ listedFrom: n1, differentOn: [n2] })
    }
  })

  it('treats equal tools with keys in another order as one version', () => {
    const [agent] = logicalAgents([
      rec(n1, 'a', [{ name: 't', description: 'd', inputSchema: { a: 1, b: 2 } }]),
      rec(n2, 'a', [{ inputSchema: { b: 2, a: 1 }, description: 'd', name: 't' }])
    ])
    expect(agent?.tools[0]?.versions).toHaveLength(1)
    expect(agent?.differences).toEqual([])
  })

  it('keeps one record per node and agent: the newest, equal times decided by content, not order', () => {
    const older = rec(n1, 'a', ['old'], { updatedAt: 1 })
    const newer = rec(n1, 'a', ['new'], { updatedAt: 2 })
    expect(logicalAgents([newer, older])[0]?.tools.map((t) => t.name)).toEqual(['new'])
    expect(logicalAgents([older, newer])[0]?.tools.map((t) => t.name)).toEqual(['new'])
    const p = rec(n1, 'a', ['p'], { updatedAt: 5 })
    const q = rec(n1, 'a', ['q'], { updatedAt: 5 })
    expect(logicalAgents([p, q])).toEqual(logicalAgents([q, p]))
  })

  it('takes name and description as most replicas give them', () => {
    const [agent] = logicalAgents([rec(n1, 'a', [], { description: 'b' }), rec(n2, 'a', [], { description: 'a' }), rec(n3, 'a', [], { description: 'a' })])
    expect(agent?.description).toBe('a')
  })
})
