/**
 * The pulling side against an honest server, a server whose replies are
 * tampered with, and records too large for any message. Replies go through
 * the real wire encoding and schemas; only the transport is in memory.
 */
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { AgentRegistry } from '../../../src/registry/agent-registry.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { OrSet } from '../../../src/registry/or-set.ts'
import { answer } from '../../../src/registry/sync-server.ts'
import { pullFrom, type SessionResult } from '../../../src/registry/sync-session.ts'
import { encodeBody, parseRequest, RegistrySyncError, type SyncReply, type SyncRequest } from '../../../src/registry/sync-wire.ts'

const NODE_A = `12D3KooW${'A'.repeat(44)}`
const NODE_B = `12D3KooW${'B'.repeat(44)}`

function agent (nodeId: string, agentId: string, description = `${agentId} agent`): AgentRecord {
  return { nodeId, agentId, name: agentId, kind: 'static', description, tools: [{ name: 'run' }], updatedAt: 1 }
}

async function registry (nodeId: string, agents: AgentRecord[]): Promise<AgentRegistry> {
  const r = new AgentRegistry({ peerId: nodeId })
  await r.start()
  r.setLocalAgents(agents)
  return r
}

type Tamper = (reply: SyncReply, request: SyncRequest) => unknown

/** Pulls B into A through the wire format; `tamper` may rewrite any reply before it is encoded. */
async function pull (a: AgentRegistry, b: AgentRegistry, budget: number, tamper?: Tamper): Promise<SessionResult> {
  return await pullFrom(async (req) => {
    const parsed = parseRequest(encodeBody(req))
    const honest = answer(b.syncIndex(), parsed, budget)
    const reply = tamper === undefined ? honest : tamper(structuredClone(honest), parsed)
    return typeof reply === 'string' ? new TextEncoder().encode(reply) : encodeBody(reply)
  }, { index: () => a.syncIndex(), merge: p => a.mergeProjection(p, NODE_B) }, { budget, signal: AbortSignal.timeout(10_000) })
}

async function failure (promise: Promise<unknown>): Promise<RegistrySyncError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(RegistrySyncError)
  return err as RegistrySyncError
}

describe('sync session', () => {
  it('pulls many records in pages that each stay under the budget, then finds the two sides in sync', async () => {
    const a = await registry(NODE_A, [agent(NODE_A, 'alpha')])
    const b = await registry(NODE_B, Array.from({ length: 300 }, (_, i) => agent(NODE_B, `b-${i}`, 'd'.repeat(1500))))
    const sizes: number[] = []
    const result = await pull(a, b, 16 * 1024, (reply) => { sizes.push(encodeBody(reply).length); return reply })
    expect(result).toMatchObject({ inSync: false, changed: true, values: 300, tooLarge: 0 })
    expect(result.spans).toBeGreaterThan(20) // ~470 KB in 16 KiB replies: paged, and cut inside spans
    expect(Math.max(...sizes)).toBeLessThanOrEqual(16 * 1024)
    expect(a.entries().filter(e => e.nodeId === NODE_B)).toEqual(b.entries())
    // B lacked alpha: pulling A into B finishes the exchange; after that, one request says "in sync".
    await pull(b, a, 16 * 1024)
    expect(a.digest()).toBe(b.digest())
    const again = await pull(a, b, 16 * 1024)
    expect(again).toMatchObject({ inSync: true, requests: 1, changed: false })
  })

  it('settles removals from block summaries alone, without fetching a value', async () => {
    const b = await registry(NODE_B, [agent(NODE_B, 'keep'), agent(NODE_B, 'drop')])
    const a = await registry(NODE_A, [])
    await pull(a, b, 64 * 1024)
    b.setLocalAgents([agent(NODE_B, 'keep')])
    const result = await pull(a, b, 64 * 1024)
    expect(result).toMatchObject({ changed: true, values: 0, spans: 0 })
    expect(a.entries().map(e => e.agentId)).toEqual(['keep'])
  })

  it('names a record too large for any message instead of stalling, and syncs the rest', async () => {
    const huge = { ...agent(NODE_B, 'huge'), tools: [{ name: 'run', inputSchema: { blob: 'z'.repeat(60_000) } }] }
    const b = await registry(NODE_B, [agent(NODE_B, 'small-1'), huge, agent(NODE_B, 'small-2')])
    const a = await registry(NODE_A, [])
    const result = await pull(a, b, 32 * 1024)
    expect(result.tooLarge).toBe(1)
    expect(a.entries().map(e => e.agentId)).toEqual(['small-1', 'small-2'])
  })

  describe('rejects replies that do not answer what was asked, changing nothing', () => {
    const cases: Array<{ name: string, reason: RegistrySyncError['reason'], tamper: Tamper }> = [
      { name: 'not JSON', reason: 'malformed', tamper: () => '{"op":' },
      { name: 'an unknown field', reason: 'malformed', tamper: (r) => ({ ...r, extra: 1 }) },
      { name: 'replica summaries out of order', reason: 'out-of-range', tamper: (r) => r.op === 'replicas' ? { ...r, replicas: [...r.replicas, ...r.replicas] } : r },
      { name: 'an empty page that claims more', reason: 'no-progress', tamper: (r) => r.op === 'replicas' ? { ...r, replicas: [], more: true } : r },
      { name: 'blocks of another replica', reason: 'out-of-range', tamper: (r) => r.op === 'blocks' ? { ...r, replica: `${NODE_A}.00000001` } : r },
      { name: 'a block beyond the replica\'s max counter', reason: 'out-of-range', tamper: (r) => r.op === 'blocks' ? { ...r, items: [...r.items, { b: 99, ctx: 'ffffffffffffffff', live: '0000000000000000', vd: '' }] } : r },
      { name: 'live dots outside the block\'s context', reason: 'malformed', tamper: (r) => r.op === 'blocks' ? { ...r, items: r.items.map(i => 'ctx' in i ? { ...i, ctx: '0000000000000000' } : i) } : r },
      { name: 'a cursor that does not move', reason: 'no-progress', tamper: (r, q) => r.op === 'blocks' && q.op === 'blocks' ? { ...r, items: [], next: q.from } : r },
      { name: 'a value for a counter that is not live', reason: 'out-of-range', tamper: (r) => r.op === 'spans' ? { ...r, spans: r.spans.map(s => ({ ...s, values: s.values.map(v => ({ ...v, c: v.c + 40 })) })) } : r },
      { name: 'context outside the span', reason: 'out-of-range', tamper: (r) => r.op === 'spans' ? { ...r, spans: r.spans.map(s => ({ ...s, seen: [[s.lo, s.hi + 1]] })) } : r },
      { name: 'a span that was not asked', reason: 'out-of-range', tamper: (r) => r.op === 'spans' ? { ...r, spans: [...r.spans, ...r.spans] } : r },
      { name: 'a span of another replica', reason: 'out-of-range', tamper: (r) => r.op === 'spans' ? { ...r, spans: r.spans.map(s => ({ ...s, replica: `${NODE_A}.00000001` })) } : r },
      { name: 'an answer to nothing', reason: 'no-progress', tamper: (r) => r.op === 'spans' ? { ...r, spans: [] } : r },
      { name: 'a record filed under the wrong key', reason: 'invalid-state', tamper: (r) => r.op === 'spans' ? { ...r, spans: r.spans.map(s => ({ ...s, values: s.values.map(v => ({ ...v, key: `${NODE_B}:other` })) })) } : r },
      { name: 'a record that fails its schema', reason: 'invalid-state', tamper: (r) => r.op === 'spans' ? { ...r, spans: r.spans.map(s => ({ ...s, values: s.values.map(v => ({ ...v, value: { ...(v.value as object), kind: 'evil' } })) })) } : r },
      { name: 'a "__proto__" key', reason: 'invalid-state', tamper: (r) => r.op === 'spans' ? { ...r, spans: r.spans.map(s => ({ ...s, values: s.values.map(v => ({ ...v, key: '__proto__' })) })) } : r }
    ]
    for (const { name, reason, tamper } of cases) {
      it(name, async () => {
        const a = await registry(NODE_A, [agent(NODE_A, 'alpha')])
        const b = await registry(NODE_B, [agent(NODE_B, 'beta'), agent(NODE_B, 'gamma')])
        const before = a.digest()
        const err = await failure(pull(a, b, 64 * 1024, tamper))
        expect(err.reason).toBe(reason)
        expect(a.digest()).toBe(before)
        expect(({} as Record<string, unknown>).nodeId).toBeUndefined()
      })
    }
  })

  it('survives arbitrary corruption of any reply: it either completes or fails with RegistrySyncError', async () => {
    const b = await registry(NODE_B, Array.from({ length: 20 }, (_, i) => agent(NODE_B, `b-${i}`)))
    b.setLocalAgents(Array.from({ length: 10 }, (_, i) => agent(NODE_B, `b-${i}`, 'changed')))
    await fc.assert(fc.asyncProperty(fc.nat(), fc.array(fc.string(), { maxLength: 4 }), fc.jsonValue(), async (which, path, junk) => {
      const a = await registry(NODE_A, [agent(NODE_A, 'alpha')])
      let n = 0
      const corrupt = (reply: SyncReply): unknown => {
        if (n++ !== which % 4) return reply
        // Replace whatever lies at a random path (or the whole reply) with random JSON.
        let node: unknown = reply
        for (const step of path) {
          if (typeof node !== 'object' || node === null) break
          const keys = Object.keys(node)
          const next = keys[Math.abs(step.length) % Math.max(1, keys.length)]
          if (next === undefined) break
          const child = (node as Record<string, unknown>)[next]
          if (typeof child !== 'object' || child === null) {
            (node as Record<string, unknown>)[next] = junk
            return reply
          }
          node = child
        }
        return path.length === 0 ? junk : reply
      }
      const outcome = await pull(a, b, 8 * 1024, corrupt).then(() => undefined, (e: unknown) => e)
      if (outcome !== undefined) expect(outcome).toBeInstanceOf(RegistrySyncError)
      // Whatever happened, the registry still holds only valid records.
      for (const e of a.entries()) expect([NODE_A, NODE_B]).toContain(e.nodeId)
    }), { numRuns: 150 })
  })
})

describe('OrSet.mergeProjection limits', () => {
  it('leaves out the part of a projection that would fragment the context, and applies the rest', () => {
    const source = new OrSet<string>(`${NODE_B}.00000001`)
    for (let i = 0; i < 300; i++) source.add('k', `v${i}`)
    const target = new OrSet<string>(`${NODE_A}.00000001`)
    // Counters 1..300 seen, 300 live (and its value withheld, like a too-large record): the dead
    // ones after a gap would go to the cloud; allow only 100 of them.
    const replica = `${NODE_B}.00000001`
    const result = target.mergeProjection({ spans: [{ replica, seen: [[2, 300]], live: [[300, 300]] }], entries: {} }, { maxCloudGrowth: 100 })
    expect(result.trimmed).toBe(true)
    expect(target.seen.has({ replica, counter: 101 })).toBe(true)
    expect(target.seen.has({ replica, counter: 102 })).toBe(false)
    const untrimmed = new OrSet<string>(`${NODE_A}.00000002`)
    expect(untrimmed.mergeProjection({ spans: [{ replica, seen: [[1, 300]], live: [[300, 300]] }], entries: {} }, { maxCloudGrowth: 100 }).trimmed).toBe(false)
  })
})
