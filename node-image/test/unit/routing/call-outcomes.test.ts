import { afterEach, describe, expect, it, vi } from 'vitest'
import { DeadlineExceededError, NodeUnreachableError, OutcomeUnknownError } from '../../../src/routing/errors.ts'
import type { LocalAgents } from '../../../src/routing/tool-router.ts'
import { metricValue, stopMembers } from '../p2p/members.ts'
import { echo, startChain, startFloodNode, type FloodNode } from './flood-chain.ts'

// Whether a failed call may have run, as the router reports it: `node-unreachable` only
// when the request never left the caller, `outcome-unknown` once it was sent and no
// answer came. Real libp2p hosts on loopback; the host's agent is a double that records
// each call it starts.

afterEach(async () => {
  vi.restoreAllMocks()
  await stopMembers()
})

const target = (d: FloodNode): { nodeId: string, agentId: string } => ({ nodeId: d.member.peerId, agentId: 'echo' })

/** Makes `node`'s agent start the call, say so, and then wait until its signal ends it. */
function hangs (node: FloodNode): Promise<void> {
  let resolve = (): void => {}
  const promise = new Promise<void>(r => { resolve = r })
  const slow: LocalAgents['call'] = async (_agentId, _op, _params, signal) => {
    resolve()
    return await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(signal.reason as Error) }, { once: true }) })
  }
  node.local.mockImplementation(slow)
  return promise
}

describe('how a failed call says whether it may have run', () => {
  it('direct: a host that stops while its agent runs the call ends it as outcome-unknown, never as success', async () => {
    const [a, d] = await startChain([{ maxHops: 0 }, { maxHops: 0 }])
    const started = hangs(d!)
    const call = a!.router.call(target(d!), 'tools/call', echo('slow'), { deadline: Date.now() + 20_000 })
    const settled = call.catch((err: unknown) => err)
    await started
    await d!.member.host.stop()
    const err = await settled
    expect(err).toBeInstanceOf(OutcomeUnknownError)
    expect(err).toMatchObject({ code: 'outcome-unknown', nodeId: d!.member.peerId })
    expect(d!.local).toHaveBeenCalledTimes(1)
    expect(await metricValue(a!.member.metrics.toolCalls, { route: 'direct', result: 'outcome-unknown' })).toBe(1)
  })

  it('direct: a host that is down before the call ends it as node-unreachable, and its agent never runs', async () => {
    const [a, d] = await startChain([{ maxHops: 0 }, { maxHops: 0 }])
    await d!.member.host.stop()
    const err = await a!.router.call(target(d!), 'tools/call', echo('never'), { deadline: Date.now() + 10_000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NodeUnreachableError)
    expect(d!.local).not.toHaveBeenCalled()
    expect(await metricValue(a!.member.metrics.toolCalls, { route: 'direct', result: 'node-unreachable' })).toBe(1)
  })

  it('flood: a target that stops after the flood reached it ends the call as outcome-unknown', async () => {
    const [a, m, d] = await startChain([{}, {}, {}])
    const started = hangs(d!)
    const settled = a!.router.call(target(d!), 'tools/call', echo('slow'), { deadline: Date.now() + 20_000 }).catch((err: unknown) => err)
    await started
    await d!.member.host.stop()
    const err = await settled
    expect(err).toBeInstanceOf(OutcomeUnknownError)
    expect(d!.local).toHaveBeenCalledTimes(1)
    expect(await metricValue(m!.member.metrics.floodRelayed, { result: 'found' })).toBe(0)
    expect(await metricValue(a!.member.metrics.toolCalls, { route: 'flood', result: 'outcome-unknown' })).toBe(1)
  })

  it('flood: with no member to take the first copy the call ends as node-unreachable', async () => {
    const a = await startFloodNode()
    const absent = await startFloodNode()
    await absent.member.host.stop()
    const err = await a.router.call(target(absent), 'tools/call', echo('never'), { deadline: Date.now() + 4000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NodeUnreachableError)
    expect((err as Error).message).toMatch(/no verified member to carry a flood/)
    expect(await metricValue(a.member.metrics.toolCalls, { route: 'flood', result: 'node-unreachable' })).toBe(1)
  })

  it('the caller\'s deadline while the agent runs stays deadline-exceeded (the host also answers that code for a call it was running)', async () => {
    const [a, d] = await startChain([{ maxHops: 0 }, { maxHops: 0 }])
    const started = hangs(d!)
    const err = await a!.router.call(target(d!), 'tools/call', echo('slow'), { deadline: Date.now() + 2000 }).catch((e: unknown) => e)
    await started
    expect(err).toBeInstanceOf(DeadlineExceededError)
    expect(d!.local).toHaveBeenCalledTimes(1)
  })
})
