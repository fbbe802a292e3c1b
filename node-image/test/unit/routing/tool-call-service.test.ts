import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { request } from '../../../src/p2p/lp-rpc.ts'
import { E2ECipher } from '../../../src/routing/e2e-cipher.ts'
import { ToolCallService } from '../../../src/routing/tool-call-service.ts'
import type { LocalAgents } from '../../../src/routing/tool-router.ts'
import { callAad, encodeJson, FRAME_RESPONSE, MODE_E2E, parseResponse, splitKind, splitMode, withMode, type WireResponse } from '../../../src/routing/tool-call-wire.ts'
import { connect, metricValue, NETWORK, newCa, protocols, startGuard, admissionFor, startMember, stopMembers, type Member } from '../p2p/members.ts'

// The hosting side on a real libp2p host, with a double for the node's agents.
// The real agents behind a real ToolCallService are covered by the mesh tests:
// test/mesh/toolcalls.test.ts ("calls every agent on nodes 2-5 through node 1 ...")
// and test/mesh/toolcall-wire.test.ts (a hand-driven member's well-formed and bad frames).

const ca = newCa()
const aad = callAad(NETWORK)

interface Server { member: Member, local: ReturnType<typeof vi.fn<LocalAgents['call']>> }

let server: Server
beforeEach(async () => {
  const member = await startMember({ issuer: ca })
  const guard = await startGuard(member)
  const admission = admissionFor(member, guard)
  const local = vi.fn<LocalAgents['call']>(async (agentId, op, params) => await Promise.resolve({ content: [{ type: 'text', text: `${agentId} ran ${op} with ${JSON.stringify(params)}` }] }))
  const service = new ToolCallService({ ...member, libp2p: member.host, admission, cipher: new E2ECipher({ peerId: member.peerId, seed: member.seed }), local: { call: local } }, {
    selfId: member.peerId, network: NETWORK, protocol: protocols.toolCall, encryption: 'required', maxBytes: 1024 * 1024, maxConcurrent: 4
  })
  await service.start()
  server = { member, local }
})
afterEach(async () => { await stopMembers() })

/** A sealed, end-to-end encrypted call of the `echo` agent on the server, as the caller's router would send it. */
function sealCall (caller: Member, text: string): { envelope: Uint8Array, openResponse: (frame: Uint8Array) => Uint8Array } {
  const cipher = new E2ECipher({ peerId: caller.peerId, seed: caller.seed })
  const call = encodeJson({
    id: randomBytes(16).toString('hex'), to: server.member.peerId, agentId: 'echo', op: 'tools/call', params: { name: 'echo', arguments: { text } }, deadline: Date.now() + 10_000
  })
  const sealed = cipher.sealRequest(server.member.peerId, call, aad)
  return { envelope: caller.messenger.seal('toolcall.request', withMode(MODE_E2E, sealed.frame)), openResponse: sealed.openResponse }
}

/** The response envelope, after its kind byte (no events were asked for, so the first frame is the response). */
async function send (caller: Member, envelope: Uint8Array): Promise<Uint8Array> {
  const frame = await request(caller.host, peerIdFromString(server.member.peerId), protocols.toolCall, envelope, { maxBytes: 1024 * 1024 + 1, signal: AbortSignal.timeout(10_000) })
  const { kind, envelope: reply } = splitKind(frame)
  expect(kind).toBe(FRAME_RESPONSE)
  return reply
}

describe('ToolCallService', () => {
  it('runs a verified member\'s call on the local agent and answers it encrypted', async () => {
    const caller = await startMember({ issuer: ca })
    const callerGuard = await startGuard(caller)
    await connect(caller, server.member)
    await expect.poll(() => callerGuard.isVerified(server.member.peerId), { timeout: 15_000 }).toBe(true)

    const call = sealCall(caller, 'hello mesh')
    const reply = caller.messenger.tryOpen(await send(caller, call.envelope), { type: 'toolcall.response', from: server.member.peerId })
    if ('reason' in reply) throw new Error(`response refused: ${reply.reason}`)
    const { mode, payload } = splitMode(reply.envelope.body)
    expect(mode).toBe(MODE_E2E)
    const response: WireResponse = parseResponse(call.openResponse(payload))
    expect(response).toMatchObject({
      ok: true,
      result: { content: [{ type: 'text', text: 'echo ran tools/call with {"name":"echo","arguments":{"text":"hello mesh"}}' }] }
    })
    expect(server.local).toHaveBeenCalledTimes(1)
    expect(server.local).toHaveBeenCalledWith('echo', 'tools/call', { name: 'echo', arguments: { text: 'hello mesh' } }, expect.any(AbortSignal), { caller: caller.peerId })
    expect(await metricValue(server.member.metrics.toolCallsServed, { result: 'ok' })).toBe(1)
    expect(await metricValue(server.member.metrics.streamsRefused)).toBe(0)
  })

  it('resets a call from a peer that has not proved membership, without reading it', async () => {
    // A certificate from the right CA is not enough: the peer never ran the handshake.
    const stranger = await startMember({ issuer: ca })
    await connect(stranger, server.member)

    await expect(send(stranger, sealCall(stranger, 'let me in').envelope)).rejects.toThrow()
    await expect.poll(async () => await metricValue(server.member.metrics.streamsRefused, { reason: 'unverified', service: 'toolcall' }), { timeout: 15_000 }).toBe(1)
    // The envelope never reached the messenger (neither opened nor rejected) nor an agent.
    expect(await metricValue(server.member.metrics.messagesIn, { type: 'toolcall.request' })).toBe(0)
    expect(await metricValue(server.member.metrics.messagesRejected)).toBe(0)
    expect(await metricValue(server.member.metrics.toolCallsRejected)).toBe(0)
    expect(await metricValue(server.member.metrics.toolCallsServed)).toBe(0)
    expect(server.local).not.toHaveBeenCalled()
  })
})
