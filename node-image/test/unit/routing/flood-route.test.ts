import { afterEach, describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { NodeUnreachableError } from '../../../src/routing/errors.ts'
import { metricValue, stopMembers } from '../p2p/members.ts'
import { maxJsonInFrame } from '../../../src/routing/flood-wire.ts'
import { echo, MAX_FRAME_BYTES, startChain, type FloodNode } from './flood-chain.ts'
import { holds } from './flood-layers.ts'

// A chain A - M1 - M2 - D of real libp2p hosts where only neighbours are
// connected and nobody knows D's address: the connector fails, and the call
// must travel hop by hop through M1 and M2.

afterEach(async () => {
  vi.restoreAllMocks()
  await stopMembers()
})

const target = (d: FloodNode): { nodeId: string, agentId: string } => ({ nodeId: d.member.peerId, agentId: 'echo' })

describe('the flood route', () => {
  it('carries a call two members deep and back, and says so in the route, the hop count and the metrics', async () => {
    const [a, m1, m2, d] = await startChain([{}, {}, {}, {}])
    const out = await a!.router.call(target(d!), 'tools/call', echo('over the hills'), { deadline: Date.now() + 10_000 })
    expect(out).toEqual({ route: 'flood', hops: 3, result: { content: [{ type: 'text', text: 'reply to over the hills' }] } })
    expect(d!.local).toHaveBeenCalledTimes(1)
    expect(await metricValue(a!.member.metrics.toolCalls, { route: 'flood', result: 'ok' })).toBe(1)
    for (const m of [m1!, m2!]) expect(await metricValue(m.member.metrics.floodRelayed, { result: 'found' })).toBe(1)
    expect(await metricValue(d!.member.metrics.toolCallsServed, { result: 'ok' })).toBe(1)
    // Nothing ran anywhere but on D.
    for (const n of [a!, m1!, m2!]) expect(n.local).not.toHaveBeenCalled()
  })

  it('without the flood route the same call fails as node-unreachable (the route is what made it work)', async () => {
    const [a, , , d] = await startChain([{ maxHops: 0 }, {}, {}, {}])
    await expect(a!.router.call(target(d!), 'tools/call', echo('nope'), { deadline: Date.now() + 10_000 })).rejects.toBeInstanceOf(NodeUnreachableError)
    expect(d!.local).not.toHaveBeenCalled()
    expect(await metricValue(a!.member.metrics.toolCalls, { route: 'direct', result: 'node-unreachable' })).toBe(1)
  })

  it('with another replica left (noFlood), a node no path reaches is node-unreachable at once, and no relay saw the call', async () => {
    const [a, m1, m2, d] = await startChain([{}, {}, {}, {}])
    for (let i = 0; i < 2; i++) {
      // The second call meets the remembered "flood at once" and still does not flood.
      await expect(a!.router.call(target(d!), 'tools/call', echo('elsewhere'), { deadline: Date.now() + 10_000, noFlood: true }))
        .rejects.toThrow(/not flooding while another replica is left/)
    }
    expect(d!.local).not.toHaveBeenCalled()
    for (const m of [m1!, m2!]) expect(m.frames).toEqual([])
    // Without the flag the same call floods through and runs.
    expect((await a!.router.call(target(d!), 'tools/call', echo('last resort'), { deadline: Date.now() + 10_000 })).route).toBe('flood')
  })

  it('relays only ciphertext with encryption on, and the same search finds the plaintext with encryption off', async () => {
    const run = async (caller: 'required' | 'off'): Promise<{ sees: { argument: boolean, reply: boolean }, relayed: number }> => {
      await stopMembers()
      const [a, m1, m2, d] = await startChain([{ encryption: caller }, {}, {}, { encryption: 'preferred' }])
      const secret = `SECRET-${randomBytes(12).toString('hex')}`
      const out = await a!.router.call(target(d!), 'tools/call', echo(secret), { deadline: Date.now() + 10_000 })
      expect(out.route).toBe('flood')
      const frames = [...m1!.frames, ...m2!.frames]
      // Each relay passed the request on and the reply back.
      for (const m of [m1!, m2!]) expect(m.frames.map(f => f.direction)).toEqual(['forward', 'return'])
      return { sees: { argument: holds(frames, secret), reply: holds(frames, `reply to ${secret}`) }, relayed: frames.length }
    }
    expect(await run('required')).toEqual({ sees: { argument: false, reply: false }, relayed: 4 })
    expect(await run('off')).toEqual({ sees: { argument: true, reply: true }, relayed: 4 })
  })

  it('floods at once on the next call instead of dialling again, and the route tool reports the flood with its hops', async () => {
    const [a, , , d] = await startChain([{}, {}, {}, {}])
    const lookups = vi.spyOn(a!.member.host.peerRouting, 'findPeer')
    await a!.router.call(target(d!), 'tools/call', echo('one'), { deadline: Date.now() + 10_000 })
    const afterFirst = lookups.mock.calls.length
    expect(afterFirst).toBeGreaterThan(0)
    const second = await a!.router.call(target(d!), 'tools/call', echo('two'), { deadline: Date.now() + 10_000 })
    expect(second.route).toBe('flood')
    expect(lookups.mock.calls.length).toBe(afterFirst)
    expect(await a!.router.reach(d!.member.peerId, AbortSignal.timeout(10_000))).toEqual({ route: 'flood', hops: 3 })
    // The probe reached D but ran nothing there.
    expect(d!.local).toHaveBeenCalledTimes(2)
  })

  it('carries a result as large as a frame holds, and turns a larger one into too-large at the target', async () => {
    const [a, , d] = await startChain([{}, {}, {}])
    // The JSON around the text: {"id":"<32>","ok":true,"result":{"content":[{"type":"text","text":"..."}]}}
    const limit = maxJsonInFrame(MAX_FRAME_BYTES) - 100
    d!.local.mockImplementation(async (_agent, _op, params) => await Promise.resolve({ content: [{ type: 'text', text: 'x'.repeat((params.arguments as { n: number }).n) }] }))
    const big = await a!.router.call(target(d!), 'tools/call', { name: 'big', arguments: { n: limit } }, { deadline: Date.now() + 10_000 })
    expect(big).toMatchObject({ route: 'flood', result: { content: [{ text: 'x'.repeat(limit) }] } })
    await expect(a!.router.call(target(d!), 'tools/call', { name: 'big', arguments: { n: limit + 200 } }, { deadline: Date.now() + 10_000 })).rejects.toMatchObject({ code: 'too-large' })
  })

  it('stops at the hop limit the origin signed', async () => {
    const [a, m1, m2, d] = await startChain([{ maxHops: 2 }, {}, {}, {}])
    const call = a!.router.call(target(d!), 'tools/call', echo('too far'), { deadline: Date.now() + 10_000 })
    await expect(call).rejects.toThrow(/flood route: .*within 2 hops \(1 hop-limit\)/)
    expect(await metricValue(m2!.member.metrics.floodDropped, { reason: 'hop-limit' })).toBe(1)
    expect(await metricValue(m1!.member.metrics.floodRelayed, { result: 'hop-limit' })).toBe(1)
    expect(d!.local).not.toHaveBeenCalled()
  })

  it('is abortable: the caller\'s signal ends the call, and every hop lets go of it', async () => {
    const [a, m1, m2, d] = await startChain([{}, {}, {}, {}])
    let started!: () => void
    const running = new Promise<void>(resolve => { started = resolve })
    const agentSignal = new Promise<AbortSignal>(resolve => {
      d!.local.mockImplementation(async (_agent, _op, _params, signal) => {
        resolve(signal)
        started()
        return await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('aborted')) }, { once: true }) })
      })
    })
    const controller = new AbortController()
    const call = a!.router.call(target(d!), 'tools/call', echo('wait'), { signal: controller.signal, deadline: Date.now() + 10_000 })
    await running
    for (const m of [m1!, m2!]) expect(await metricValue(m.member.metrics.floodInFlight)).toBe(1)
    controller.abort()
    await expect(call).rejects.toMatchObject({ code: 'deadline-exceeded' })
    // The reset travelled A -> M1 -> M2 -> D and cancelled the agent's work.
    const signal = await agentSignal
    await vi.waitFor(() => { expect(signal.aborted).toBe(true) }, { timeout: 10_000 })
    await vi.waitFor(async () => {
      for (const m of [m1!, m2!]) expect(await metricValue(m.member.metrics.floodInFlight)).toBe(0)
    }, { timeout: 10_000 })
  })
})
