import { describe, it, expect } from 'vitest'
import { MAX_INPUT_SCHEMA_BYTES, parseAgentRecord, parseRegistryState, RegistryValidationError } from '../../../src/registry/agent-record.ts'
import type { AgentRecord, RegistryValidationCode } from '../../../src/registry/agent-record.ts'

const NODE = '12D3KooW' + 'A'.repeat(44)
const REPLICA = `${NODE}.0badf00d`

function record (over: Partial<AgentRecord> = {}): AgentRecord {
  return {
    nodeId: NODE,
    agentId: 'echo',
    name: 'Echo',
    kind: 'builtin',
    description: 'repeats things',
    tools: [{ name: 'echo', description: 'echo it', inputSchema: { type: 'object' } }],
    updatedAt: 1_700_000_000_000,
    ...over
  }
}

function state (rec: AgentRecord = record(), dot = `${REPLICA}@1`): unknown {
  return { entries: { [`${rec.nodeId}:${rec.agentId}`]: { [dot]: rec } }, context: { vv: { [REPLICA]: 1 }, cloud: [] } }
}

function failure (fn: () => unknown): RegistryValidationError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryValidationError)
    return err as RegistryValidationError
  }
  throw new Error('expected a RegistryValidationError')
}

function expectFailure (value: unknown, code: RegistryValidationCode, path: string): void {
  const err = failure(() => parseRegistryState(value))
  expect(err.code).toBe(code)
  expect(err.path).toBe(path)
  expect(err.message).toContain(path)
}

describe('parseAgentRecord', () => {
  it('accepts a well-formed record and every known kind', () => {
    for (const kind of ['builtin', 'remote', 'stdio', 'static']) {
      expect(parseAgentRecord(record({ kind }))).toEqual(record({ kind }))
    }
    expect(parseAgentRecord(record({ tools: [{ name: 'bare' }] })).tools).toEqual([{ name: 'bare' }])
  })

  it('names the failing path', () => {
    expect(failure(() => parseAgentRecord(record({ agentId: 'Bad_Id' }))).path).toBe('/agentId')
    expect(failure(() => parseAgentRecord(record({ agentId: '-x' }))).path).toBe('/agentId')
    expect(failure(() => parseAgentRecord(record({ agentId: 'a'.repeat(64) }))).path).toBe('/agentId')
    expect(failure(() => parseAgentRecord(record({ kind: 'wasm' }))).path).toBe('/kind')
    expect(failure(() => parseAgentRecord(record({ nodeId: 'short0' }))).path).toBe('/nodeId')
    expect(failure(() => parseAgentRecord(record({ description: 'x'.repeat(2001) }))).path).toBe('/description')
    expect(failure(() => parseAgentRecord(record({ tools: Array.from({ length: 257 }, (_, i) => ({ name: `t${i}` })) }))).path).toBe('/tools')
    expect(failure(() => parseAgentRecord(record({ updatedAt: -1 }))).path).toBe('/updatedAt')
    expect(failure(() => parseAgentRecord({ ...record(), extra: true })).path).toBe('/extra')
    expect(failure(() => parseAgentRecord(record({ tools: [{ name: 't', inputSchema: [] as unknown as Record<string, unknown> }] }))).path).toBe('/tools/0/inputSchema')
  })

  it('limits the size of inputSchema', () => {
    const big = { description: 'x'.repeat(MAX_INPUT_SCHEMA_BYTES) }
    const err = failure(() => parseAgentRecord(record({ tools: [{ name: 'ok' }, { name: 'big', inputSchema: big }] })))
    expect(err.code).toBe('too-large')
    expect(err.path).toBe('/tools/1/inputSchema')
  })
})

describe('parseRegistryState', () => {
  it('accepts a valid state', () => {
    expect(parseRegistryState(state())).toEqual(state())
    expect(parseRegistryState({ entries: {}, context: { vv: {}, cloud: [`${REPLICA}@3`] } })).toBeDefined()
  })

  it('rejects schema violations with the path', () => {
    expectFailure(null, 'schema', '')
    expectFailure({ entries: {} }, 'schema', '')
    expectFailure(state(record({ name: '' })), 'schema', `/entries/${NODE}:echo/${REPLICA}@1/name`)
    expectFailure({ entries: { 'not-a-key': {} }, context: { vv: {}, cloud: [] } }, 'schema', '/entries/not-a-key')
    expectFailure({ entries: {}, context: { vv: { [REPLICA]: 1.5 }, cloud: [] } }, 'schema', `/context/vv/${REPLICA}`)
    expectFailure({ entries: {}, context: { vv: {}, cloud: ['nope@1'] } }, 'schema', '/context/cloud/0')
    expectFailure({ entries: { [`${NODE}:echo`]: {} }, context: { vv: {}, cloud: [] } }, 'schema', `/entries/${NODE}:echo`)
  })

  it('rejects dot counters beyond the safe integer range', () => {
    expectFailure(state(record(), `${REPLICA}@9999999999999999`), 'bad-dot', `/entries/${NODE}:echo/${REPLICA}@9999999999999999`)
  })

  it('rejects a record stored under another key', () => {
    const value = { entries: { [`${NODE}:other`]: { [`${REPLICA}@1`]: record() } }, context: { vv: {}, cloud: [] } }
    expectFailure(value, 'key-mismatch', `/entries/${NODE}:other/${REPLICA}@1`)
  })

  it('rejects one dot used by two entries', () => {
    const value = {
      entries: {
        [`${NODE}:a`]: { [`${REPLICA}@1`]: record({ agentId: 'a' }) },
        [`${NODE}:b`]: { [`${REPLICA}@1`]: record({ agentId: 'b' }) }
      },
      context: { vv: {}, cloud: [] }
    }
    expectFailure(value, 'duplicate-dot', `/entries/${NODE}:b/${REPLICA}@1`)
  })

  it('bounds the number of entries', () => {
    const entries: Record<string, unknown> = {}
    for (let i = 0; i <= 10_000; i++) entries[`${NODE}:a${i}`] = { [`${REPLICA}@${i + 1}`]: record({ agentId: `a${i}` }) }
    expectFailure({ entries, context: { vv: {}, cloud: [] } }, 'schema', '/entries')
  })
})
