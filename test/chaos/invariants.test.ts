// The checker catches each kind of violation it claims to: a history and a snapshot that
// agree pass; each planted fault is named.
import { describe, expect, it } from 'vitest'
import { emptyHistory, type History } from './history.ts'
import { check, violations, type Snapshot } from './invariants.ts'
import { refusalOutcome } from './workload.ts'

const IDS = ['12D3KooWaaa', '12D3KooWbbb', '12D3KooWccc']

function world (): { h: History, s: Snapshot } {
  const h = emptyHistory('chaos-1-', 3)
  h.initialAgents = ['0:notes', '1:notes', '2:notes']
  h.registry = [
    { op: 'add', agentId: 'w1', node: 0, acknowledged: true, at: 1 },
    { op: 'add', agentId: 'w2', node: 1, acknowledged: true, at: 2 },
    { op: 'remove', agentId: 'w2', node: 1, acknowledged: true, at: 3 },
    { op: 'add', agentId: 'w3', node: 2, acknowledged: false, at: 4 }
  ]
  h.calls = [
    { key: 'chaos-1-0', value: 'a', caller: 0, target: 1, outcome: 'ok' },
    { key: 'chaos-1-1', value: 'b', caller: 1, target: 2, outcome: 'error', detail: '404 unknown-agent' },
    { key: 'chaos-1-2', value: 'c', caller: 2, target: 0, outcome: 'unknown', detail: 'HTTP timeout' }
  ]
  h.pins = [{ cid: 'bafyx', replication: 2, node: 0 }]
  h.servedAtStart = [10, 20, undefined]
  const entries = [`${IDS[0]}:notes`, `${IDS[1]}:notes`, `${IDS[2]}:notes`, `${IDS[0]}:w1`]
  const node = (i: number, notes: Array<[string, string]>, servedOk: number): Snapshot['nodes'][number] => ({
    peerId: IDS[i] ?? '',
    verified: IDS.filter((_, j) => j !== i),
    digest: 'd1',
    entries: [...entries],
    pins: [{ cid: 'bafyx', pinned: true, have: 2, deficit: 0 }],
    notes: new Map(notes),
    servedOk
  })
  const s: Snapshot = { peerIds: [...IDS], nodes: [node(0, [['chaos-1-2', 'c']], 11), node(1, [['chaos-1-0', 'a']], 21), node(2, [], 0)] }
  return { h, s }
}

describe('invariant checker', () => {
  it('passes a run where everything agrees (an unknown call may or may not have run)', () => {
    const { h, s } = world()
    const v = check(h, s)
    expect(violations(v)).toEqual([])
    expect(v.unknown).toBe(1)
    expect(v.unknownExecuted).toBe(1)
  })

  it('catches an acknowledged registry write that no node has', () => {
    const { h, s } = world()
    h.registry.push({ op: 'add', agentId: 'ghost', node: 2, acknowledged: true, at: 9 })
    expect(check(h, s).lost).toEqual(['registry write lost: agent 2:ghost (acknowledged) missing on node(s) 0, 1, 2'])
  })

  it('catches an entry lost on one node only', () => {
    const { h, s } = world()
    s.nodes[2]!.entries = s.nodes[2]!.entries.filter(e => e !== `${IDS[0]}:w1`)
    expect(check(h, s).lost).toEqual(['registry write lost: agent 0:w1 (acknowledged) missing on node(s) 2'])
  })

  it('catches a removed entry that came back', () => {
    const { h, s } = world()
    s.nodes[0]!.entries.push(`${IDS[1]}:w2`)
    expect(check(h, s).resurrected).toEqual(['removed agent 1:w2 is back on node(s) 0'])
  })

  it('catches duplicate and foreign identities', () => {
    const { h, s } = world()
    s.nodes[1]!.entries.push(`${IDS[0]}:w1`, '12D3KooWzzz:x')
    s.nodes[2]!.peerId = IDS[1]!
    expect(check(h, s).duplicated).toEqual([
      `nodes 1 and 2 both report peer id ${IDS[1]}`,
      `node 1 lists ${IDS[0]}:w1 twice`,
      'node 1 lists an agent of 12D3KooWzzz, which is no member',
      `node 2 reports peer id ${IDS[1]}, expected ${IDS[2]}`
    ])
    const twice = world()
    twice.s.peerIds[2] = IDS[1]!
    expect(check(twice.h, twice.s).duplicated[0]).toBe(`two nodes share a peer id: ${IDS[0]}, ${IDS[1]}, ${IDS[1]}`)
  })

  it('catches incomplete membership, differing digests and an under-replicated pin', () => {
    const { h, s } = world()
    s.nodes[0]!.verified = [IDS[1]!]
    s.nodes[2]!.digest = 'd2'
    s.nodes[1]!.pins = [{ cid: 'bafyx', pinned: true, have: 1, deficit: 1 }]
    const v = check(h, s)
    expect(v.membership).toEqual(['node 0 has not verified node(s) 2'])
    expect(v.digests).toHaveLength(1)
    expect(v.pins).toEqual(['pin bafyx (replication 2, added on node 0): node 1 sees 1 holder(s), deficit 1'])
  })

  it('catches an acknowledged call that never ran, a failed one that ran, a changed value and a duplicate', () => {
    const { h, s } = world()
    s.nodes[1]!.notes = new Map([['chaos-1-0', 'changed']])
    s.nodes[2]!.notes = new Map([['chaos-1-1', 'b']])
    s.nodes[0]!.servedOk = 13
    h.calls.push({ key: 'chaos-1-3', value: 'd', caller: 0, target: 2, outcome: 'ok' })
    const v = check(h, s)
    expect(v.lost).toEqual(['call chaos-1-3 (0->2) was acknowledged but never executed'])
    expect(v.calls).toEqual(['call chaos-1-0 executed with changed, sent a', 'call chaos-1-1 was reported failed (404 unknown-agent) but executed'])
    expect(v.duplicated).toEqual(['node 0 executed 3 calls, but only 1 could have run: 2 duplicated'])
  })

  it('catches a call that ran on a node it was not sent to, or that nobody sent', () => {
    const { h, s } = world()
    s.nodes[2]!.notes = new Map([['chaos-1-0', 'a'], ['chaos-1-9', 'x']])
    expect(check(h, s).calls).toEqual(['node 2 executed chaos-1-0, sent to node 1', 'node 2 executed chaos-1-9, which no caller sent'])
  })

  it('counts node-unreachable as not run, so a node-unreachable call that ran is a violation; outcome-unknown may have run', () => {
    expect(refusalOutcome('node-unreachable')).toBe('error')
    expect(refusalOutcome('outcome-unknown')).toBe('unknown')
    expect(refusalOutcome('deadline-exceeded')).toBe('unknown')
    const { h, s } = world()
    h.calls.push({ key: 'chaos-1-3', value: 'd', caller: 0, target: 2, outcome: refusalOutcome('node-unreachable'), detail: '502 node-unreachable' })
    h.calls.push({ key: 'chaos-1-4', value: 'e', caller: 0, target: 2, outcome: refusalOutcome('outcome-unknown'), detail: '502 outcome-unknown' })
    s.nodes[2]!.notes = new Map([['chaos-1-3', 'd'], ['chaos-1-4', 'e']])
    const v = check(h, s)
    expect(v.calls).toEqual(['call chaos-1-3 was reported failed (502 node-unreachable) but executed'])
    expect(v.unknownExecuted).toBe(2)
  })
})
