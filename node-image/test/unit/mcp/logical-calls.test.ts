// Calls by a logical name through the real mesh requests, with a recording caller that fails
// per node: which replicas are tried, what the result says, and what filters hide.
import { describe, it, expect, beforeAll } from 'vitest'
import { createMeshRequests, type RequestExtra } from '../../../src/mcp/mesh-requests.ts'
import type { ListingView } from '../../../src/mcp/mesh-listing.ts'
import { ReplicaChooser } from '../../../src/routing/replica-choice.ts'
import type { FailoverAttempt } from '../../../src/routing/run-with-failover.ts'
import { NodeUnreachableError, OutcomeUnknownError } from '../../../src/routing/errors.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { newNodeId, record, RecordingCaller, TestCatalog } from './fixtures.ts'

let a: string
let b: string
let records: AgentRecord[]
const log = (): void => {}
const extra: RequestExtra = { signal: new AbortController().signal, header: () => undefined }

const tools = [
  { name: 'say', description: 'not idempotent' },
  { name: 'put', description: 'idempotent', annotations: { idempotentHint: true } },
  { name: 'secret' }
]

beforeAll(async () => {
  const ids = [await newNodeId(), await newNodeId()].sort()
  a = ids[0]!
  b = ids[1]!
  records = [
    record(a, 'kv', { kind: 'remote', tools }),
    record(b, 'kv', { kind: 'remote', tools }),
    record(a, 'notes', { kind: 'builtin', tools: [{ name: 'get' }] }),
    record(b, 'notes', { kind: 'builtin', tools: [{ name: 'get' }] })
  ]
})

function mesh (caller: RecordingCaller, opts: { selfId?: string, view?: ListingView, onAttempts?: (attempts: readonly FailoverAttempt[]) => void } = {}): ReturnType<typeof createMeshRequests> {
  return createMeshRequests({
    catalog: new TestCatalog(records),
    caller,
    log,
    chooser: new ReplicaChooser(),
    // b is nearer, so it is chosen first unless it fails.
    rtt: (nodeId) => nodeId === b ? 1 : 5,
    ...(opts.selfId === undefined ? {} : { selfId: opts.selfId }),
    ...(opts.view === undefined ? {} : { view: () => opts.view! }),
    ...(opts.onAttempts === undefined ? {} : { onAttempts: opts.onAttempts })
  }, { timeoutMs: 5000 })
}

describe('calls by logical name', () => {
  it('goes to the nearest replica and says which in _meta', async () => {
    const caller = new RecordingCaller()
    const result = await mesh(caller).callTool({ name: 'kv.say', arguments: { x: 1 } }, extra)
    expect(caller.calls.map((c) => c.target)).toEqual([{ nodeId: b, agentId: 'kv' }])
    expect(caller.calls[0]?.params).toMatchObject({ name: 'say', arguments: { x: 1 } })
    expect(result._meta).toMatchObject({ 'dawn/replica': b, 'dawn/attempts': [{ nodeId: b, reason: 'lowest-rtt', outcome: 'ok', rttMs: 1 }] })
  })

  it('before any round trip is measured, goes to a replica reached directly rather than the smaller id reached through a relay', async () => {
    const caller = new RecordingCaller()
    const requests = createMeshRequests({
      catalog: new TestCatalog(records),
      caller,
      log,
      chooser: new ReplicaChooser(),
      rtt: () => undefined,
      route: (nodeId) => nodeId === a ? 'relayed' : 'direct'
    }, { timeoutMs: 5000 })
    const result = await requests.callTool({ name: 'kv.say', arguments: {} }, extra)
    expect(caller.calls.map((c) => c.target.nodeId)).toEqual([b])
    expect(result._meta).toMatchObject({ 'dawn/replica': b, 'dawn/attempts': [{ nodeId: b, reason: 'direct-route', outcome: 'ok' }] })
  })

  it('fails over to the next replica when the chosen one is unreachable', async () => {
    const caller = new RecordingCaller()
    const inner = caller.handler
    caller.handler = async (call) => { if (call.target.nodeId === b) throw new NodeUnreachableError('no path'); return await inner(call) }
    const result = await mesh(caller).callTool({ name: 'kv.say', arguments: {} }, extra)
    expect(result.isError).toBeUndefined()
    expect(caller.calls.map((c) => c.target.nodeId)).toEqual([b, a])
    expect(result._meta?.['dawn/attempts']).toMatchObject([{ nodeId: b, outcome: 'node-unreachable', failover: 'next-replica' }, { nodeId: a, outcome: 'ok' }])
  })

  it('ends a call that may have run as outcome-unknown, unless the tool is idempotent', async () => {
    for (const [tool, tried, error] of [['say', [b], 'outcome-unknown'], ['put', [b, a], undefined]] as const) {
      const caller = new RecordingCaller()
      const inner = caller.handler
      caller.handler = async (call) => { if (call.target.nodeId === b) throw new OutcomeUnknownError('stream reset after the write'); return await inner(call) }
      const result = await mesh(caller).callTool({ name: `kv.${tool}`, arguments: {} }, extra)
      expect(caller.calls.map((c) => c.target.nodeId)).toEqual(tried)
      expect(result._meta?.['dawn/error']).toBe(error)
      if (error !== undefined) expect(result).toMatchObject({ isError: true, _meta: { 'dawn/attempts': [{ nodeId: b, outcome: 'outcome-unknown', failover: 'retry-if-idempotent' }] } })
    }
  })

  it('keeps a 2025-11-25 session on the replica its agent session lives on, unless that one fails', async () => {
    const caller = new RecordingCaller()
    const m = mesh(caller)
    const session = { signal: extra.signal, header: extra.header, session: { idFor: () => undefined, linkedTo: (agentId: string) => agentId === 'kv' ? a : undefined } }
    const result = await m.callTool({ name: 'kv.say', arguments: {} }, session)
    expect(caller.calls.map((c) => c.target.nodeId)).toEqual([a])
    expect(result._meta?.['dawn/attempts']).toMatchObject([{ nodeId: a, reason: 'session', outcome: 'ok' }])
    const inner = caller.handler
    caller.handler = async (call) => { if (call.target.nodeId === a) throw new NodeUnreachableError('gone'); return await inner(call) }
    await m.callTool({ name: 'kv.say', arguments: {} }, session)
    // a failed, so it cools down and the next call goes to b first despite the session.
    await m.callTool({ name: 'kv.say', arguments: {} }, session)
    expect(caller.calls.map((c) => c.target.nodeId)).toEqual([a, a, b, b])
  })

  it('reports the attempts of every logical call to the metrics, failed ones too', async () => {
    const caller = new RecordingCaller()
    caller.handler = async () => { throw new OutcomeUnknownError('stream reset after the write') }
    const seen: FailoverAttempt[][] = []
    await mesh(caller, { onAttempts: (attempts) => { seen.push([...attempts]) } }).callTool({ name: 'kv.say', arguments: {} }, extra)
    expect(seen).toMatchObject([[{ nodeId: b, outcome: 'outcome-unknown' }]])
  })

  it('sends a built-in agent\'s logical name to this node\'s own replica', async () => {
    const caller = new RecordingCaller()
    const result = await mesh(caller, { selfId: a }).callTool({ name: 'notes.get', arguments: {} }, extra)
    expect(caller.calls.map((c) => c.target)).toEqual([{ nodeId: a, agentId: 'notes' }])
    expect(result._meta).toMatchObject({ 'dawn/replica': a })
  })

  it('neither lists nor calls a denied tool, and knows a renamed one only by its new name', async () => {
    const caller = new RecordingCaller()
    const m = mesh(caller, { view: { naming: 'logical', toolFilters: { kv: { deny: ['secret'], rename: { say: 'speak' } } } } })
    const names = m.listTools().tools.map((t) => t.name)
    expect(names).toEqual(['kv.put', 'kv.speak', 'notes.get'])
    const tagA = a.slice(-10)
    for (const name of ['kv.secret', `${tagA}.kv.secret`, 'kv.say']) {
      await expect(m.callTool({ name, arguments: {} }, extra)).rejects.toThrow(/not a tool name this endpoint lists/)
    }
    await m.callTool({ name: 'kv.speak', arguments: {} }, extra)
    expect(caller.calls.map((c) => c.params.name)).toEqual(['say'])
  })

  it('says how names are formed in initialize, per mode', () => {
    const caller = new RecordingCaller()
    expect(mesh(caller).instructions()).toContain('<agentId>.<name>')
    expect(mesh(caller, { view: { naming: 'conditional', toolFilters: {} } }).instructions()).toContain('the agent\'s own <name>')
  })
})
