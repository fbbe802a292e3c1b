// InputRounds against a scripted agent (a double: the same flows run against the MCP reference
// server in node-image/test/mesh/mcp-relay.test.ts). Here: the edges a real server rarely hits.
import { describe, expect, it } from 'vitest'
import { InputRounds, type AgentCallOptions, type InputRequest } from '../../../src/agents/input-rounds.ts'
import { DeadlineExceededError, InvalidRequestStateError } from '../../../src/routing/errors.ts'

const SELF = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const ASKABLE = { capabilities: { elicitation: { form: {} } } }
const question: InputRequest = { method: 'elicitation/create', params: { message: 'name?', requestedSchema: { type: 'object' } } }

interface Script { (opts: AgentCallOptions, signal: AbortSignal): Promise<Record<string, unknown>> }

function rounds (script: Script, init: { stateTtlMs?: number, maxParked?: number } = {}): { rounds: InputRounds, signals: AbortSignal[] } {
  const signals: AbortSignal[] = []
  const agents = {
    call: async (_agentId: string, _op: string, _params: Record<string, unknown>, signal: AbortSignal, opts: AgentCallOptions = {}) => {
      signals.push(signal)
      return await script(opts, signal)
    }
  }
  return { rounds: new InputRounds({ agents }, { selfId: SELF, ...init }), signals }
}

const asking: Script = async (opts) => {
  const answer = await opts.onRequest!(question, new AbortController().signal)
  return { content: [{ type: 'text', text: `hello ${JSON.stringify(answer)}` }] }
}

describe('InputRounds', () => {
  it('calls straight through for a caller that cannot be asked anything', async () => {
    const { rounds: r } = rounds(async (opts) => ({ asked: opts.onRequest !== undefined }))
    expect(await r.call('echo', 'tools/call', { name: 'ask' }, AbortSignal.timeout(5000), { context: { capabilities: {} } })).toEqual({ asked: false })
    expect(r.size).toBe(0)
  })

  it('parks the call on a question, answers input_required, and resumes it on the retry', async () => {
    const { rounds: r } = rounds(asking)
    const first = await r.call('echo', 'tools/call', { name: 'ask' }, AbortSignal.timeout(5000), { context: ASKABLE })
    expect(first).toMatchObject({ resultType: 'input_required', inputRequests: { q1: question } })
    expect(r.size).toBe(1)
    // An answer for a question never asked is ignored; the real one resumes the call.
    const retry = { name: 'ask', requestState: first.requestState, inputResponses: { q9: { action: 'decline' }, q1: { action: 'accept', content: { name: 'Ada' } } } }
    const done = await r.call('echo', 'tools/call', retry, AbortSignal.timeout(5000), { context: ASKABLE })
    expect(done).toEqual({ content: [{ type: 'text', text: 'hello {"action":"accept","content":{"name":"Ada"}}' }] })
    expect(r.size).toBe(0)
    // Once the call ended, its state leads nowhere.
    await expect(r.call('echo', 'tools/call', retry, AbortSignal.timeout(5000), { context: ASKABLE })).rejects.toBeInstanceOf(InvalidRequestStateError)
  })

  it('asks again what the retry left unanswered', async () => {
    const { rounds: r } = rounds(asking)
    const first = await r.call('echo', 'tools/call', { name: 'ask' }, AbortSignal.timeout(5000), { context: ASKABLE })
    const again = await r.call('echo', 'tools/call', { name: 'ask', requestState: first.requestState, inputResponses: {} }, AbortSignal.timeout(5000), { context: ASKABLE })
    expect(again).toMatchObject({ resultType: 'input_required', inputRequests: { q1: question } })
  })

  it('refuses a state for another tool, a missing state and a concurrent second retry, without touching the agent', async () => {
    const { rounds: r, signals } = rounds(asking)
    const first = await r.call('echo', 'tools/call', { name: 'ask' }, AbortSignal.timeout(5000), { context: ASKABLE })
    await expect(r.call('echo', 'tools/call', { name: 'other', requestState: first.requestState, inputResponses: {} }, AbortSignal.timeout(5000), { context: ASKABLE }))
      .rejects.toThrow(/signature/)
    await expect(r.call('echo', 'tools/call', { name: 'ask', inputResponses: {} }, AbortSignal.timeout(5000), { context: ASKABLE }))
      .rejects.toBeInstanceOf(InvalidRequestStateError)
    expect(signals).toHaveLength(1)
  })

  it('lets one retry drive a parked call at a time', async () => {
    // The agent asks, then works until cancelled.
    const { rounds: r, signals } = rounds(async (opts, signal) => {
      await opts.onRequest!(question, signal)
      return await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason as Error) }) })
    })
    const first = await r.call('echo', 'tools/call', { name: 'ask' }, AbortSignal.timeout(5000), { context: ASKABLE })
    const retry = { name: 'ask', requestState: first.requestState, inputResponses: { q1: { action: 'accept', content: {} } } }
    const waiting = new AbortController()
    const one = r.call('echo', 'tools/call', retry, waiting.signal, { context: ASKABLE })
    await expect(r.call('echo', 'tools/call', retry, AbortSignal.timeout(5000), { context: ASKABLE })).rejects.toThrow(/already being answered/)
    waiting.abort()
    await expect(one).rejects.toBeInstanceOf(DeadlineExceededError)
    expect(signals[0]!.aborted).toBe(true)
    expect(r.size).toBe(0)
  })

  it('cancels the agent\'s call when the request driving it goes away, and when no retry comes in time', async () => {
    const { rounds: r, signals } = rounds(asking, { stateTtlMs: 50 })
    const driving = new AbortController()
    const slow = rounds(async (_opts, signal) => await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason as Error) }) }))
    const running = slow.rounds.call('echo', 'tools/call', { name: 'ask' }, driving.signal, { context: ASKABLE })
    driving.abort()
    await expect(running).rejects.toBeInstanceOf(DeadlineExceededError)
    expect(slow.signals[0]!.aborted).toBe(true)
    expect(slow.rounds.size).toBe(0)

    const first = await r.call('echo', 'tools/call', { name: 'ask' }, AbortSignal.timeout(5000), { context: ASKABLE })
    await expect.poll(() => signals[0]!.aborted, { timeout: 5000 }).toBe(true)
    expect(r.size).toBe(0)
    await expect(r.call('echo', 'tools/call', { name: 'ask', requestState: first.requestState, inputResponses: {} }, AbortSignal.timeout(5000), { context: ASKABLE }))
      .rejects.toBeInstanceOf(InvalidRequestStateError)
  })

  it('holds at most maxParked calls waiting for a retry', async () => {
    const { rounds: r, signals } = rounds(asking, { maxParked: 1 })
    await r.call('echo', 'tools/call', { name: 'ask' }, AbortSignal.timeout(5000), { context: ASKABLE })
    await expect(r.call('echo', 'tools/call', { name: 'ask' }, AbortSignal.timeout(5000), { context: ASKABLE })).rejects.toThrow(/limit 1/)
    expect(signals[1]!.aborted).toBe(true)
    expect(r.size).toBe(1)
  })
})
