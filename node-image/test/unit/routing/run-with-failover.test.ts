import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { AgentFailedError, DeadlineExceededError, NodeUnreachableError, OutcomeUnknownError, ToolCallError, UnknownAgentError } from '../../../src/routing/errors.ts'
import { NotDeliveredError } from '../../../src/routing/failover.ts'
import { ReplicaChooser, type Replica } from '../../../src/routing/replica-choice.ts'
import { isIdempotent, runWithFailover, type ReplicaAttempt } from '../../../src/routing/run-with-failover.ts'

const TOOL = 'charge'

function replicas (nodeIds: string[], idempotentHint?: boolean): Replica[] {
  return nodeIds.map(nodeId => ({ nodeId, tools: [{ name: TOOL, ...(idempotentHint === undefined ? {} : { annotations: { idempotentHint } }) }] }))
}

/** A chooser whose order is a, b, c, ... by RTT, on a clock the test moves. */
function rankedChooser (nodeIds: string[]): ReplicaChooser {
  const c = new ReplicaChooser({ now: () => 0 })
  nodeIds.forEach((id, i) => { c.observeRtt(id, i + 1) })
  return c
}

/** An attempt that plays one scripted outcome per node and records who it ran on. */
function scripted (script: Record<string, (signal: AbortSignal) => unknown>): { attempt: ReplicaAttempt<unknown>, calls: string[] } {
  const calls: string[] = []
  const attempt: ReplicaAttempt<unknown> = async (nodeId, signal) => {
    calls.push(nodeId)
    const play = script[nodeId]
    if (play === undefined) throw new Error(`unscripted ${nodeId}`)
    return await Promise.resolve(play(signal))
  }
  return { attempt, calls }
}

const fail = (err: unknown) => (): never => { throw err }
const answer = (nodeId: string) => (): unknown => ({ content: [{ type: 'text', text: nodeId }] })

describe('runWithFailover', () => {
  it('runs on the chosen replica, records the pick, and learns its round trip', async () => {
    const nodes = ['a', 'b']
    const chooser = rankedChooser(nodes)
    const { attempt, calls } = scripted({ a: answer('a'), b: answer('b') })
    let t = 100
    const run = await runWithFailover(chooser, replicas(nodes), TOOL, async (nodeId, signal) => { t += 7; return await attempt(nodeId, signal) }, { now: () => t })
    expect(run).toEqual({ ok: true, result: answer('a')(), nodeId: 'a', attempts: [{ nodeId: 'a', inFlight: 0, rttMs: 1, reason: 'lowest-rtt', outcome: 'ok' }] })
    expect(calls).toEqual(['a'])
    expect(chooser.order(replicas(nodes), TOOL).find(p => p.nodeId === 'a')?.rttMs).toBe(1 + 0.25 * (7 - 1))
  })

  it('learns no round trip from calls when told pings measure it', async () => {
    const chooser = rankedChooser(['a'])
    let t = 0
    await runWithFailover(chooser, replicas(['a']), TOOL, async () => { t += 40; return await Promise.resolve({}) }, { now: () => t, observeCallRtt: false })
    expect(chooser.order(replicas(['a']), TOOL)[0]?.rttMs).toBe(1)
  })

  it('counts the call in flight while it runs, and not after', async () => {
    const chooser = rankedChooser(['a'])
    let during: number | undefined
    await runWithFailover(chooser, replicas(['a']), TOOL, async () => { during = chooser.order(replicas(['a']), TOOL)[0]?.inFlight; return await Promise.resolve({}) })
    expect(during).toBe(1)
    expect(chooser.order(replicas(['a']), TOOL)[0]?.inFlight).toBe(0)
  })

  it.each<[string, Error, string]>([
    ['a node that could not be reached before sending', new NodeUnreachableError('no route'), 'node-unreachable'],
    ['a failure the attempt knows came before sending', new NotDeliveredError(new DeadlineExceededError('deadline while dialling')), 'deadline-exceeded'],
    ['a busy node', new ToolCallError('busy', 'limit reached'), 'busy'],
    ['a node whose agent lacks the tool', new UnknownAgentError('no tool'), 'unknown-agent']
  ])('goes to the next replica after %s, even for a tool that is not idempotent', async (_what, err, code) => {
    const nodes = ['a', 'b', 'c']
    const { attempt, calls } = scripted({ a: fail(err), b: answer('b') })
    const run = await runWithFailover(rankedChooser(nodes), replicas(nodes, false), TOOL, attempt)
    expect(run.ok && run.nodeId).toBe('b')
    expect(calls).toEqual(['a', 'b'])
    expect(run.attempts.map(a => [a.nodeId, a.outcome, a.failover])).toEqual([['a', code, 'next-replica'], ['b', 'ok', undefined]])
  })

  it('puts an unreachable replica last for the next call', async () => {
    const nodes = ['a', 'b']
    const chooser = rankedChooser(nodes)
    const { attempt } = scripted({ a: fail(new NotDeliveredError(new NodeUnreachableError('no route'))), b: answer('b') })
    await runWithFailover(chooser, replicas(nodes), TOOL, attempt)
    expect(chooser.order(replicas(nodes), TOOL).map(p => [p.nodeId, p.reason])).toEqual([['b', 'least-loaded'], ['a', 'cooling-down']])
  })

  it('stops at the agent\'s own answer: an error with its rpcCode, or an isError result', async () => {
    const nodes = ['a', 'b']
    const refusal = new AgentFailedError('invalid params', { rpcCode: -32602 })
    const first = scripted({ a: fail(refusal), b: answer('b') })
    const run = await runWithFailover(rankedChooser(nodes), replicas(nodes, true), TOOL, first.attempt)
    expect(run).toMatchObject({ ok: false, error: refusal, attempts: [{ nodeId: 'a', outcome: 'agent-failed', failover: 'final' }] })
    expect(first.calls).toEqual(['a'])

    const toolError = { isError: true, content: [{ type: 'text', text: 'card declined' }] }
    const second = scripted({ a: () => toolError, b: answer('b') })
    const run2 = await runWithFailover(rankedChooser(nodes), replicas(nodes, true), TOOL, second.attempt)
    expect(run2).toMatchObject({ ok: true, nodeId: 'a', result: toolError })
    expect(second.calls).toEqual(['a'])
  })

  it('never retries a non-idempotent call that may have reached its agent: it ends outcome-unknown', async () => {
    const nodes = ['a', 'b', 'c']
    for (const maybe of [new OutcomeUnknownError('call stream to a ended without a response: reset'), new DeadlineExceededError('deadline during the call'), new AgentFailedError('server crashed'), new Error('socket hang up')]) {
      for (const hint of [false, undefined]) {
        const { attempt, calls } = scripted({ a: fail(maybe), b: answer('b'), c: answer('c') })
        const run = await runWithFailover(rankedChooser(nodes), replicas(nodes, hint), TOOL, attempt)
        expect(calls).toEqual(['a'])
        expect(run.ok).toBe(false)
        if (run.ok) continue
        expect(run.error).toBeInstanceOf(OutcomeUnknownError)
        expect(run.error).toMatchObject({ code: 'outcome-unknown', nodeId: 'a', cause: maybe })
        expect(run.attempts.map(a => a.failover)).toEqual(['retry-if-idempotent'])
      }
    }
  })

  it('retries an idempotent call that may have reached its agent on the next replica, and succeeds there', async () => {
    const nodes = ['a', 'b']
    const { attempt, calls } = scripted({ a: fail(new OutcomeUnknownError('call stream to a ended without a response: reset')), b: answer('b') })
    const run = await runWithFailover(rankedChooser(nodes), replicas(nodes, true), TOOL, attempt)
    expect(run).toMatchObject({ ok: true, nodeId: 'b', result: answer('b')() })
    expect(calls).toEqual(['a', 'b'])
  })

  it('counts a tool as idempotent only when every replica that lists it says so', () => {
    const mixed: Replica[] = [...replicas(['a'], true), ...replicas(['b'], false), { nodeId: 'c', tools: [{ name: 'other' }] }]
    expect(isIdempotent(mixed, TOOL)).toBe(false)
    expect(isIdempotent([...replicas(['a', 'b'], true), { nodeId: 'c', tools: [{ name: 'other' }] }], TOOL)).toBe(true)
    expect(isIdempotent([], TOOL)).toBe(false)
  })

  it('never reports "did not run" once a replica may have run the call, even if it is idempotent', async () => {
    const nodes = ['a', 'b']
    const { attempt } = scripted({ a: fail(new OutcomeUnknownError('reset after write')), b: fail(new NodeUnreachableError('no route')) })
    const run = await runWithFailover(rankedChooser(nodes), replicas(nodes, true), TOOL, attempt)
    expect(run.ok).toBe(false)
    if (!run.ok) expect(run.error).toMatchObject({ code: 'outcome-unknown', nodeId: 'a' })
  })

  it('tries only replicas that list the tool, at most maxAttempts, and says why it stopped', async () => {
    const upgraded: Replica[] = [...replicas(['a', 'b', 'c']), { nodeId: 'old', tools: [{ name: 'other' }] }]
    const unreachable = fail(new NodeUnreachableError('no route'))
    const { attempt, calls } = scripted({ a: unreachable, b: unreachable, c: unreachable, old: answer('old') })
    const run = await runWithFailover(rankedChooser(['a', 'b', 'c', 'old']), upgraded, TOOL, attempt, { maxAttempts: 2 })
    expect(calls).toEqual(['a', 'b'])
    expect(run.ok).toBe(false)
    if (!run.ok) expect(run.error).toBeInstanceOf(NodeUnreachableError)

    const all = scripted({ a: unreachable, b: unreachable, c: unreachable, old: answer('old') })
    await runWithFailover(rankedChooser(['a', 'b', 'c', 'old']), upgraded, TOOL, all.attempt, { maxAttempts: 10 })
    expect(all.calls).toEqual(['a', 'b', 'c'])

    const none = await runWithFailover(rankedChooser([]), upgraded, 'missing', all.attempt)
    expect(none.ok).toBe(false)
    if (!none.ok) expect(none.error).toBeInstanceOf(UnknownAgentError)
  })

  it('stops trying once the signal aborts', async () => {
    const nodes = ['a', 'b', 'c']
    const controller = new AbortController()
    const { attempt, calls } = scripted({
      a: () => { controller.abort(new Error('deadline')); throw new NotDeliveredError(new DeadlineExceededError('deadline before sending')) },
      b: answer('b'),
      c: answer('c')
    })
    const run = await runWithFailover(rankedChooser(nodes), replicas(nodes, true), TOOL, attempt, { signal: controller.signal })
    expect(calls).toEqual(['a'])
    expect(run).toMatchObject({ ok: false, attempts: [{ nodeId: 'a', failover: 'next-replica' }] })
    if (!run.ok) expect(run.error).toBeInstanceOf(DeadlineExceededError)

    const before = scripted({ a: answer('a') })
    const aborted = await runWithFailover(rankedChooser(['a']), replicas(['a']), TOOL, before.attempt, { signal: AbortSignal.abort() })
    expect(before.calls).toEqual([])
    expect(aborted.ok).toBe(false)
    if (!aborted.ok) expect(aborted.error).toBeInstanceOf(DeadlineExceededError)
  })
})

type Outcome = 'ok' | 'final' | 'not-delivered' | 'maybe-ran' | 'maybe-not-ran'
const MAYBE: Outcome[] = ['maybe-ran', 'maybe-not-ran']

describe('runWithFailover property', () => {
  it('reports success only from the replica that ran the call, and never runs a non-idempotent call twice', async () => {
    const scenario = fc.record({
      outcomes: fc.array(fc.constantFrom<Outcome>('ok', 'final', 'not-delivered', 'maybe-ran', 'maybe-not-ran'), { minLength: 1, maxLength: 6 }),
      idempotent: fc.boolean(),
      maxAttempts: fc.integer({ min: 1, max: 7 }),
      abortAt: fc.option(fc.nat({ max: 6 }), { nil: undefined }),
      rtts: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 6, maxLength: 6 })
    })
    await fc.assert(fc.asyncProperty(scenario, async ({ outcomes, idempotent, maxAttempts, abortAt, rtts }) => {
      const nodes = outcomes.map((_, i) => `n${i}`)
      const chooser = new ReplicaChooser({ now: () => 0 })
      nodes.forEach((id, i) => { chooser.observeRtt(id, rtts[i] ?? 0) })
      const executed = new Set<string>()
      const calls: Array<{ nodeId: string, outcome: Outcome }> = []
      const controller = new AbortController()
      const attempt: ReplicaAttempt<{ by: string }> = async (nodeId, signal) => {
        expect(signal.aborted).toBe(false)
        const outcome = outcomes[Number(nodeId.slice(1))] ?? 'ok'
        calls.push({ nodeId, outcome })
        if (calls.length - 1 === abortAt) controller.abort(new Error('deadline'))
        await Promise.resolve()
        switch (outcome) {
          case 'ok': executed.add(nodeId); return { by: nodeId }
          case 'final': executed.add(nodeId); throw new AgentFailedError('invalid params', { rpcCode: -32602 })
          case 'not-delivered': throw new NodeUnreachableError('no route')
          case 'maybe-ran': executed.add(nodeId); throw new OutcomeUnknownError('reset after write')
          case 'maybe-not-ran': throw new DeadlineExceededError('late')
        }
      }
      const run = await runWithFailover(chooser, replicas(nodes, idempotent), TOOL, attempt, { signal: controller.signal, maxAttempts })

      expect(calls.length).toBeLessThanOrEqual(maxAttempts)
      expect(new Set(calls.map(c => c.nodeId)).size).toBe(calls.length)
      expect(run.attempts.map(a => a.nodeId)).toEqual(calls.map(c => c.nodeId))
      if (abortAt !== undefined) expect(calls.length).toBeLessThanOrEqual(abortAt + 1)
      if (run.ok) {
        // Success: from the last replica tried, which ran the call and answered.
        expect(run.result.by).toBe(run.nodeId)
        expect(calls.at(-1)).toEqual({ nodeId: run.nodeId, outcome: 'ok' })
        expect(executed.has(run.nodeId)).toBe(true)
      }
      const firstMaybe = calls.findIndex(c => MAYBE.includes(c.outcome))
      if (!idempotent && firstMaybe >= 0) {
        // Once it may have been delivered, a non-idempotent call goes nowhere else, and its outcome is unknown.
        expect(calls.length).toBe(firstMaybe + 1)
        expect(run.ok).toBe(false)
        if (!run.ok) expect(run.error).toBeInstanceOf(OutcomeUnknownError)
      }
      if (!run.ok && firstMaybe >= 0 && calls.at(-1)?.outcome !== 'final') expect(run.error).toBeInstanceOf(OutcomeUnknownError)
      if (!run.ok && firstMaybe < 0) expect(run.error).not.toBeInstanceOf(OutcomeUnknownError)
    }), { numRuns: 2000 })
  })
})
