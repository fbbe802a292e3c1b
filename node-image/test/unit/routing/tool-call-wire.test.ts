// A call's error response may carry the agent's own JSON-RPC code, and nothing else in its place.
import { describe, expect, it } from 'vitest'
import { MalformedCallError, parseResponse } from '../../../src/routing/tool-call-wire.ts'

const ID = '0123456789abcdef0123456789abcdef'
const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
const failed = (extra: Record<string, unknown>): Uint8Array => bytes({ id: ID, ok: false, code: 'agent-failed', message: 'agent x: refused', ...extra })

describe('toolcall error responses', () => {
  it('carry the agent\'s JSON-RPC code', () => {
    expect(parseResponse(failed({ rpcCode: -32042 }))).toEqual({ id: ID, ok: false, code: 'agent-failed', message: 'agent x: refused', rpcCode: -32042 })
    expect(parseResponse(failed({}))).not.toHaveProperty('rpcCode')
  })

  it('refuse a code that is not a 32-bit integer', () => {
    for (const rpcCode of [1.5, '-32601', 2 ** 31, -(2 ** 31) - 1]) {
      expect(() => parseResponse(failed({ rpcCode })), String(rpcCode)).toThrow(MalformedCallError)
    }
  })
})
