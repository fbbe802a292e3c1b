// What a DawnAgent's status says about what the mesh serves, from one node's answer.
import { describe, expect, it } from 'vitest'
import type { DawnAgentStatus } from '../../../src/api/dawn-agent.ts'
import { agentServing, type ObservedAgent } from '../../../src/render/agent-serving.ts'
import { pool } from './fixtures.ts'

function withPeers (name: string, replicas: number): ReturnType<typeof pool> {
  const p = pool(name, { replicas })
  p.status = { peers: Array.from({ length: replicas }, (_, o) => ({ ordinal: o, pod: `${name}-${o}`, peerId: `${name}peer${o}`, address: '/dns4/x/tcp/4001/p2p/x' })) }
  return p
}

const a = withPeers('a', 3)
const b = withPeers('b', 2)

const observed = (over: Partial<ObservedAgent> = {}): ObservedAgent => ({
  replicas: ['apeer0', 'apeer2', 'bpeer1', 'elsewhere'],
  discoveredTools: [{ name: 'fetch', description: 'Reads a file.' }, { name: 'write' }],
  differences: [],
  collisions: { tools: [], prompts: [] },
  ...over
})

describe('agentServing', () => {
  it('names serving nodes by pod, counts the placed pools\' replicas against their size, and lists the tools', () => {
    const { status, condition } = agentServing({ agentId: 'files', placed: [a], pools: [a, b], observation: { ok: true, from: 'a-0', agent: observed() }, previous: undefined })
    expect(status).toEqual({
      tools: ['fetch', 'write'],
      discoveredTools: [{ name: 'fetch', description: 'Reads a file.' }, { name: 'write' }],
      toolCount: 2,
      // A node outside the network's pools keeps its peer id.
      servingNodes: ['a-0', 'a-2', 'b-1', 'elsewhere'],
      readyReplicas: 2,
      desiredReplicas: 3,
      differences: [],
      collisions: []
    })
    expect(condition).toEqual({ status: 'True', reason: 'Serving', message: 'served by 4 node(s), 2/3 of the placed pools\' nodes; 2 tool(s)' })
  })

  it('is False/ReplicasDiffer when replicas list different tools, with the nodes by pod', () => {
    const differences = [{ kind: 'tool' as const, name: 'write', missingOn: ['bpeer1'], listedFrom: 'apeer0', differentOn: ['apeer2'] }]
    const collisions = { tools: [{ name: 'fetch', claims: [{ agentId: 'files', tool: 'fetch', form: 'bare' as const }, { agentId: 'web', tool: 'fetch', form: 'bare' as const }] }], prompts: [] }
    const { status, condition } = agentServing({ agentId: 'files', placed: [a, b], pools: [a, b], observation: { ok: true, from: 'a-0', agent: observed({ differences, collisions }) }, previous: undefined })
    expect(status.differences).toEqual([{ kind: 'tool', name: 'write', missingOn: ['b-1'], listedFrom: 'a-0', differentOn: ['a-2'] }])
    expect(status.collisions).toEqual(collisions.tools)
    expect(condition).toEqual({ status: 'False', reason: 'ReplicasDiffer', message: 'replicas list different tool write (see status.differences)' })
  })

  it('is False/NoReplica when the registry knows no replica', () => {
    const { status, condition } = agentServing({ agentId: 'files', placed: [a], pools: [a], observation: { ok: true, from: 'a-1', agent: undefined }, previous: undefined })
    expect(status).toMatchObject({ toolCount: 0, discoveredTools: [], servingNodes: [], readyReplicas: 0, desiredReplicas: 3 })
    expect(condition).toEqual({ status: 'False', reason: 'NoReplica', message: 'no node in the mesh registry hosts agent files (asked a-1)' })
  })

  it('is Unknown/NotObserved when no node answered, keeping what was observed last', () => {
    const previous: DawnAgentStatus = { tools: ['fetch'], discoveredTools: [{ name: 'fetch' }], toolCount: 1, servingNodes: ['a-0'], readyReplicas: 1, desiredReplicas: 9 }
    const failed = agentServing({ agentId: 'files', placed: [a], pools: [a], observation: { ok: false, errors: ['a-0: no answer within 3000 ms', 'a-1: fetch failed: connect ECONNREFUSED'] }, previous })
    expect(failed.status).toEqual({ ...previous, desiredReplicas: 3 })
    expect(failed.condition).toEqual({ status: 'Unknown', reason: 'NotObserved', message: 'no node answered: a-0: no answer within 3000 ms, a-1: fetch failed: connect ECONNREFUSED' })
    expect(agentServing({ agentId: 'files', placed: [a], pools: [a], observation: undefined, previous: undefined }).condition)
      .toEqual({ status: 'Unknown', reason: 'NotObserved', message: 'no node of the network is ready to be asked yet' })
  })

  it('caps what it lists, and cuts long descriptions', () => {
    const many = Array.from({ length: 1100 }, (_, i) => ({ name: `t${i}`, description: 'd'.repeat(1000) }))
    const { status } = agentServing({ agentId: 'files', placed: [a], pools: [a], observation: { ok: true, from: 'a-0', agent: observed({ discoveredTools: many }) }, previous: undefined })
    expect(status.toolCount).toBe(1100)
    expect(status.discoveredTools).toHaveLength(1024)
    expect(status.discoveredTools?.[0]?.description).toHaveLength(256)
    expect(status.discoveredTools?.[0]?.description?.endsWith('…')).toBe(true)
  })
})
