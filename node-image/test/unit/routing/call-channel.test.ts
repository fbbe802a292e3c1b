import { afterEach, describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { E2ECipher } from '../../../src/routing/e2e-cipher.ts'
import { ToolCallService } from '../../../src/routing/tool-call-service.ts'
import { CallChannelService } from '../../../src/routing/call-channel-service.ts'
import { ToolRouter, type LocalAgents } from '../../../src/routing/tool-router.ts'
import { OutcomeUnknownError, type ToolCallError } from '../../../src/routing/errors.ts'
import { decodeAccept, deriveKeys, encodeOpen, encodeRequestPayload, FrameOpener, FrameSealer, KIND_REQUEST, KIND_RESPONSE, newEphemeral } from '../../../src/routing/call-channel-crypto.ts'
import { callAad, encodeJson, MODE_E2E, withMode } from '../../../src/routing/tool-call-wire.ts'
import type { MembershipGuard } from '../../../src/p2p/membership-guard.ts'
import { admissionFor, connect, metricValue, NETWORK, newCa, protocols, startGuard, startMember, stopMembers, type Member } from '../p2p/members.ts'

// The warm call channel between two real libp2p hosts: a caller's ToolRouter and a host's
// ToolCallService behind its CallChannelService, with a double for the host's agents.
// Frame-level checks (tamper, replay, binding) are in call-channel-crypto.test.ts.

const ca = newCa()

interface Node { member: Member, guard: MembershipGuard, router: ToolRouter, local: ReturnType<typeof vi.fn<LocalAgents['call']>> }

const echo: LocalAgents['call'] = async (_agentId, _op, params) => await Promise.resolve({ content: [{ type: 'text', text: `reply to ${JSON.stringify(params.arguments)}` }] })

async function startNode (opts: { channel?: boolean } = {}): Promise<Node> {
  const member = await startMember({ issuer: ca })
  const guard = await startGuard(member)
  const admission = admissionFor(member, guard)
  const local = vi.fn<LocalAgents['call']>(echo)
  const callInit = { selfId: member.peerId, network: NETWORK, protocol: protocols.toolCall, encryption: 'required' as const, maxBytes: 1024 * 1024 }
  const components = { ...member, libp2p: member.host, admission, cipher: new E2ECipher({ peerId: member.peerId, seed: member.seed }), local: { call: local } }
  const channel = opts.channel ?? true
  const router = new ToolRouter({ ...components, registry: { has: () => true }, membership: guard }, { ...callInit, timeoutMs: 60_000, maxStreams: 16, ...(channel ? { channelProtocol: protocols.toolCallChannel } : {}) })
  const service = new ToolCallService(components, { ...callInit, maxConcurrent: 16 })
  await service.start()
  if (channel) await new CallChannelService({ ...components, calls: service }, { selfId: member.peerId, network: NETWORK, protocol: protocols.toolCallChannel, maxConcurrent: 16 }).start()
  return { member, guard, router, local }
}

async function linked (a: Node, b: Node): Promise<void> {
  await connect(a.member, b.member)
  await vi.waitFor(() => {
    if (!a.guard.isVerified(b.member.peerId) || !b.guard.isVerified(a.member.peerId)) throw new Error('membership handshake not done')
  }, { timeout: 15_000, interval: 50 })
}

const channelStreams = (from: Node, to: Node): number => from.member.host.getConnections(peerIdFromString(to.member.peerId))
  .flatMap(c => c.streams).filter(s => s.protocol === protocols.toolCallChannel).length

const call = async (from: Node, to: Node, text: string, signal?: AbortSignal): Promise<unknown> =>
  (await from.router.call({ nodeId: to.member.peerId, agentId: 'echo' }, 'tools/call', { name: 'echo', arguments: { text } }, signal === undefined ? {} : { signal })).result

afterEach(async () => { await stopMembers() })

describe('warm call channel', () => {
  it('carries many calls, sequential and concurrent, on one stream with one signed handshake', async () => {
    const [caller, host] = [await startNode(), await startNode()]
    await linked(caller, host)
    for (const text of ['one', 'two', 'three']) {
      expect(await call(caller, host, text)).toEqual({ content: [{ type: 'text', text: `reply to {"text":"${text}"}` }] })
    }
    const many = await Promise.all(Array.from({ length: 12 }, async (_, i) => await call(caller, host, `c${i}`)))
    many.forEach((result, i) => { expect(result).toEqual({ content: [{ type: 'text', text: `reply to {"text":"c${i}"}` }] }) })
    expect(channelStreams(caller, host)).toBe(1)
    expect(await metricValue(host.member.metrics.messagesIn, { type: 'toolcall.channel' })).toBe(1)
    // No call went as a signed envelope of its own.
    expect(await metricValue(host.member.metrics.messagesIn, { type: 'toolcall.request' })).toBe(0)
    expect(host.local).toHaveBeenCalledTimes(15)
    expect(host.local).toHaveBeenCalledWith('echo', 'tools/call', { name: 'echo', arguments: { text: 'one' } }, expect.any(AbortSignal), { caller: caller.member.peerId })
  })

  it('delivers the agent\'s events of a call in order before its response', async () => {
    const [caller, host] = [await startNode(), await startNode()]
    await linked(caller, host)
    host.local.mockImplementationOnce(async (_agent, _op, _params, _signal, opts) => {
      for (const progress of [1, 2, 3]) opts?.onEvent?.({ method: 'notifications/progress', params: { progress, total: 3 } })
      return await Promise.resolve({ content: [{ type: 'text', text: 'done' }] })
    })
    const seen: unknown[] = []
    const { result } = await caller.router.call({ nodeId: host.member.peerId, agentId: 'echo' }, 'tools/call', { name: 'echo', arguments: {} }, { onEvent: (event) => { seen.push(event) } })
    expect(result).toEqual({ content: [{ type: 'text', text: 'done' }] })
    expect(seen).toEqual([1, 2, 3].map(progress => ({ method: 'notifications/progress', params: { progress, total: 3 } })))
    expect(channelStreams(caller, host)).toBe(1)
  })

  it('falls back to a signed stream per call for a node that does not speak the channel', async () => {
    const [caller, host] = [await startNode(), await startNode({ channel: false })]
    await linked(caller, host)
    expect(await call(caller, host, 'old')).toEqual({ content: [{ type: 'text', text: 'reply to {"text":"old"}' }] })
    expect(await call(caller, host, 'again')).toEqual({ content: [{ type: 'text', text: 'reply to {"text":"again"}' }] })
    expect(await metricValue(host.member.metrics.messagesIn, { type: 'toolcall.request' })).toBe(2)
  })

  it('resets a channel from a peer that has not proved membership, without reading it', async () => {
    const host = await startNode()
    const stranger = await startMember({ issuer: ca })
    await connect(stranger, host.member)
    const stream = await stranger.host.dialProtocol(peerIdFromString(host.member.peerId), protocols.toolCallChannel, { signal: AbortSignal.timeout(10_000) })
    const lp = lpStream(stream)
    await lp.write(stranger.messenger.seal('toolcall.channel', encodeOpen(newEphemeral(), host.member.peerId))).catch(() => {})
    await expect(lp.read({ signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(await metricValue(host.member.metrics.streamsRefused, { reason: 'unverified', service: 'toolcall-channel' })).toBe(1)
    // The open never reached the messenger (neither opened nor rejected).
    expect(await metricValue(host.member.metrics.messagesIn)).toBe(0)
    expect(await metricValue(host.member.metrics.messagesRejected)).toBe(0)
  })

  it('ends the channel on a replayed or tampered frame, having run the call once', async () => {
    const host = await startNode()
    const raw = await startNode({ channel: false })
    await linked(raw, host)
    const hostId = host.member.peerId
    const cipher = new E2ECipher({ peerId: raw.member.peerId, seed: raw.member.seed })
    const openChannel = async (): Promise<{ lp: ReturnType<typeof lpStream>, up: FrameSealer, down: FrameOpener }> => {
      const stream = await raw.member.host.dialProtocol(peerIdFromString(hostId), protocols.toolCallChannel, { signal: AbortSignal.timeout(10_000) })
      const lp = lpStream(stream)
      const mine = newEphemeral()
      await lp.write(raw.member.messenger.seal('toolcall.channel', encodeOpen(mine, hostId)))
      const accept = raw.member.messenger.open((await lp.read()).subarray(), { type: 'toolcall.channel', from: hostId })
      if (accept === undefined) throw new Error('accept refused')
      const theirs = decodeAccept(accept.body, mine.nonce)
      const keys = deriveKeys(mine, theirs.publicKey, { network: NETWORK, caller: raw.member.peerId, host: hostId, callerNonce: mine.nonce, hostNonce: theirs.nonce })
      return { lp, up: new FrameSealer(keys.up), down: new FrameOpener(keys.down) }
    }
    const request = (text: string): { id: Buffer, payload: Uint8Array } => {
      const id = randomBytes(16)
      const json = encodeJson({ id: id.toString('hex'), to: hostId, agentId: 'echo', op: 'tools/call', params: { name: 'echo', arguments: { text } }, deadline: Date.now() + 10_000 })
      return { id, payload: encodeRequestPayload(Date.now(), undefined, withMode(MODE_E2E, cipher.sealRequest(hostId, json, callAad(NETWORK)).frame)) }
    }

    const first = await openChannel()
    const r = request('once')
    const frame = first.up.seal(KIND_REQUEST, r.id, r.payload)
    await first.lp.write(frame)
    const answer = first.down.open((await first.lp.read()).subarray())
    expect(answer.kind).toBe(KIND_RESPONSE)
    expect(Buffer.from(answer.callId).toString('hex')).toBe(r.id.toString('hex'))
    await first.lp.write(frame)
    await expect(first.lp.read({ signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(await metricValue(host.member.metrics.toolCallsRejected, { reason: 'channel-out-of-order' })).toBe(1)

    const second = await openChannel()
    const tampered = second.up.seal(KIND_REQUEST, r.id, request('tampered').payload)
    tampered[tampered.byteLength - 40]! ^= 1
    await second.lp.write(tampered)
    await expect(second.lp.read({ signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(await metricValue(host.member.metrics.toolCallsRejected, { reason: 'channel-bad-mac' })).toBe(1)

    // A frame sealed for the first channel does not open on a third.
    const third = await openChannel()
    await third.lp.write(frame)
    await expect(third.lp.read({ signal: AbortSignal.timeout(10_000) })).rejects.toThrow()
    expect(await metricValue(host.member.metrics.toolCallsRejected, { reason: 'channel-bad-mac' })).toBe(2)
    expect(host.local).toHaveBeenCalledTimes(1)
  })

  it('carries a cancellation to the host, which stops the call', async () => {
    const [caller, host] = [await startNode(), await startNode()]
    await linked(caller, host)
    let agentSignal: AbortSignal | undefined
    host.local.mockImplementationOnce(async (_agent, _op, _params, signal) => {
      agentSignal = signal
      return await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('stopped')) }) })
    })
    const cancel = new AbortController()
    const pending = call(caller, host, 'long', cancel.signal)
    await vi.waitFor(() => { expect(agentSignal).toBeDefined() }, { timeout: 10_000 })
    cancel.abort()
    await expect(pending).rejects.toThrow()
    await vi.waitFor(() => { expect(agentSignal?.aborted).toBe(true) }, { timeout: 10_000 })
    // The channel outlives the cancelled call.
    expect(await call(caller, host, 'after')).toEqual({ content: [{ type: 'text', text: 'reply to {"text":"after"}' }] })
    expect(channelStreams(caller, host)).toBe(1)
  })

  it('fails a call in flight as outcome-unknown when the channel is reset, and the next call opens a new one', async () => {
    const [caller, host] = [await startNode(), await startNode()]
    await linked(caller, host)
    expect(await call(caller, host, 'warm')).toBeDefined()
    let started = false
    host.local.mockImplementationOnce(async (_agent, _op, _params, signal) => {
      started = true
      return await new Promise((_resolve, reject) => { signal.addEventListener('abort', () => { reject(new Error('stopped')) }) })
    })
    const pending = call(caller, host, 'lost')
    await vi.waitFor(() => { expect(started).toBe(true) }, { timeout: 10_000 })
    const hostSide = host.member.host.getConnections(peerIdFromString(caller.member.peerId)).flatMap(c => c.streams).filter(s => s.protocol === protocols.toolCallChannel)
    expect(hostSide).toHaveLength(1)
    hostSide[0]!.abort(new Error('test resets the channel'))
    const err = await pending.catch((e: unknown) => e) as ToolCallError
    expect(err).toBeInstanceOf(OutcomeUnknownError)
    expect(err.code).toBe('outcome-unknown')
    expect(await call(caller, host, 'next')).toEqual({ content: [{ type: 'text', text: 'reply to {"text":"next"}' }] })
    expect(await metricValue(host.member.metrics.messagesIn, { type: 'toolcall.channel' })).toBe(2)
  })
})
