import { describe, expect, it } from 'vitest'
import {
  AgentFailedError, AgentRemovedError, CALL_ERROR_CODES, callErrorFromCode, DeadlineExceededError, InvalidRequestStateError,
  NodeUnreachableError, OutcomeUnknownError, ToolCallError, UnknownAgentError, type CallErrorCode
} from '../../../src/routing/errors.ts'
import { coolsDown, FAILOVER_BY_CODE, failoverClass, failureCode, NotDeliveredError, type FailoverClass } from '../../../src/routing/failover.ts'

/** The class of every code, spelled out here independently of the module. */
const EXPECTED: Record<CallErrorCode, FailoverClass> = {
  'unknown-agent': 'next-replica',
  'node-unreachable': 'next-replica',
  'outcome-unknown': 'retry-if-idempotent',
  'deadline-exceeded': 'retry-if-idempotent',
  'agent-failed': 'retry-if-idempotent',
  'agent-removed': 'retry-if-idempotent',
  rejected: 'retry-if-idempotent',
  busy: 'next-replica',
  'too-large': 'final',
  'bad-request': 'final',
  'invalid-request-state': 'final'
}

describe('failover classes', () => {
  it('maps every call error code, and each one as documented', () => {
    expect(Object.keys(FAILOVER_BY_CODE).sort()).toEqual([...CALL_ERROR_CODES].sort())
    for (const code of CALL_ERROR_CODES) {
      expect({ code, class: failoverClass(new ToolCallError(code, 'x')) }).toEqual({ code, class: EXPECTED[code] })
    }
  })

  it('classes the named error classes the way their codes say', () => {
    expect(failoverClass(new UnknownAgentError('no agent'))).toBe('next-replica')
    expect(failoverClass(new NodeUnreachableError('no path'))).toBe('next-replica')
    expect(failoverClass(new OutcomeUnknownError('stream broke after the request was sent'))).toBe('retry-if-idempotent')
    expect(failoverClass(new DeadlineExceededError('late'))).toBe('retry-if-idempotent')
    expect(failoverClass(new AgentRemovedError('removed while the call ran'))).toBe('retry-if-idempotent')
    expect(failoverClass(new InvalidRequestStateError('forged'))).toBe('final')
  })

  it('takes an agent-failed with the agent\'s own rpcCode as its final answer', () => {
    expect(failoverClass(new AgentFailedError('no such method', { rpcCode: -32601 }))).toBe('final')
    expect(failoverClass(new AgentFailedError('server crashed'))).toBe('retry-if-idempotent')
  })

  it('sends a failure known to be undelivered to the next replica, but keeps a final one final', () => {
    expect(failoverClass(new NotDeliveredError(new NodeUnreachableError('no route')))).toBe('next-replica')
    expect(failoverClass(new NotDeliveredError(new DeadlineExceededError('before start')))).toBe('next-replica')
    expect(failoverClass(new NotDeliveredError(new ToolCallError('too-large', 'request too big')))).toBe('final')
    expect(failureCode(new NotDeliveredError(new NodeUnreachableError('no route')))).toBe('node-unreachable')
  })

  it('treats anything unnamed as possibly delivered', () => {
    expect(failoverClass(new Error('socket hang up'))).toBe('retry-if-idempotent')
    expect(failoverClass('a string')).toBe('retry-if-idempotent')
    expect(failureCode(new Error('x'))).toBe('error')
  })

  it('cools a replica down only when the node itself is in trouble', () => {
    const cooling = CALL_ERROR_CODES.filter(code => coolsDown(new ToolCallError(code, 'x')))
    expect(cooling).toEqual(['node-unreachable', 'outcome-unknown', 'busy'])
    expect(coolsDown(new NotDeliveredError(new NodeUnreachableError('no route')))).toBe(true)
  })

  it('names outcome-unknown, a ToolCallError that the wire code rebuilds', () => {
    const err = new OutcomeUnknownError('may have run', { cause: new Error('stream reset'), nodeId: 'node-a' })
    expect(err).toBeInstanceOf(ToolCallError)
    expect(err).toMatchObject({ name: 'OutcomeUnknownError', code: 'outcome-unknown', nodeId: 'node-a' })
    expect(failureCode(err)).toBe('outcome-unknown')
    expect(callErrorFromCode('outcome-unknown', 'from a host')).toBeInstanceOf(OutcomeUnknownError)
  })
})
