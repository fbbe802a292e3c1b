import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { startMesh, type Mesh } from './harness.ts'
import type { DawnHost } from '../../src/p2p/host.ts'
import { startRawMember, type RawMember } from './raw-member.ts'
import { Messenger } from '../../src/p2p/messenger.ts'
import { networkProtocols } from '../../src/p2p/protocols.ts'
import { E2ECipher } from '../../src/routing/e2e-cipher.ts'
import { callAad, encodeJson, FRAME_RESPONSE, MODE_E2E, MODE_PLAIN, parseResponse, splitKind, splitMode, withMode, type WireResponse } from '../../src/routing/tool-call-wire.ts'

/**
 * A certified member that speaks the call protocol by hand, so it can send what
 * an honest node never would: replays, tampered ciphertext, plaintext, garbage.
 */
describe('routed-call frames: a member sending bad frames is refused, the node stays up', () => {
  let mesh: Mesh
  let member: RawMember
  let host: DawnHost
  let messenger: Messenger
  let cipher: E2ECipher
  let target: string
  const protocol = networkProtocols('local').toolCall
  const aad = callAad('local')

  beforeAll(async () => {
    mesh = await startMesh({ nodes: 2, agents: () => [{ id: 'echo', kind: 'builtin', builtin: 'echo', description: '' }] })
    target = mesh.net.nodes[1]!.peerId
    member = await startRawMember(mesh.net, mesh.net.nodes[1]!, { certified: true })
    host = member.host
    messenger = member.messenger
    cipher = new E2ECipher({ peerId: member.creds.peerId, seed: member.creds.seed })
  }, 120_000)

  afterAll(async () => {
    await member.stop()
    await mesh.stop()
  })

  const request = (text: string): Uint8Array => encodeJson({
    id: randomBytes(16).toString('hex'), to: target, agentId: 'echo', op: 'tools/call', params: { name: 'echo', arguments: { text } }, deadline: Date.now() + 10_000
  })

  /** One stream, one frame each way (no events were asked for); returns the opened response. */
  async function exchange (envelope: Uint8Array): Promise<{ mode: number, payload: Uint8Array }> {
    const stream = await host.dialProtocol(peerIdFromString(target), protocol)
    const lp = lpStream(stream, { maxDataLength: 32 * 1024 * 1024 })
    await lp.write(envelope)
    const { kind, envelope: reply } = splitKind((await lp.read()).subarray())
    expect(kind).toBe(FRAME_RESPONSE)
    await stream.close()
    const opened = messenger.tryOpen(reply, { type: 'toolcall.response', from: target })
    if ('reason' in opened) throw new Error(`response refused: ${opened.reason}`)
    return splitMode(opened.envelope.body)
  }

  const refusal = (reply: { mode: number, payload: Uint8Array }): WireResponse => {
    expect(reply.mode).toBe(MODE_PLAIN)
    return parseResponse(reply.payload)
  }

  const rejected = async (reason: string): Promise<number> => await mesh.metric(1, 'dawn_tool_calls_rejected_total', { reason })

  it('answers a well-formed encrypted request (the baseline the refusals below differ from)', async () => {
    const sealed = cipher.sealRequest(target, request('baseline'), aad)
    const reply = await exchange(messenger.seal('toolcall.request', withMode(MODE_E2E, sealed.frame)))
    expect(reply.mode).toBe(MODE_E2E)
    const response = parseResponse(sealed.openResponse(reply.payload))
    expect(response).toMatchObject({ ok: true, result: { content: [{ type: 'text', text: 'baseline' }] } })
  })

  it('refuses a replayed envelope and a replayed E2E frame in a fresh envelope', async () => {
    const sealed = cipher.sealRequest(target, request('once'), aad)
    const envelope = messenger.seal('toolcall.request', withMode(MODE_E2E, sealed.frame))
    expect((await exchange(envelope)).mode).toBe(MODE_E2E)
    const before = await rejected('replay')
    expect(refusal(await exchange(envelope))).toMatchObject({ ok: false, code: 'rejected' })
    // A member re-signing a captured frame gets past the envelope, not the E2E layer.
    expect(refusal(await exchange(messenger.seal('toolcall.request', withMode(MODE_E2E, sealed.frame))))).toMatchObject({ ok: false, code: 'rejected' })
    expect(await rejected('replay')).toBe(before + 2)
  })

  it('refuses tampered ciphertext even inside a validly signed envelope', async () => {
    const before = await rejected('decrypt')
    for (const offset of [1, 20, 60]) {
      const frame = cipher.sealRequest(target, request('tamper me'), aad).frame
      frame[frame.byteLength - offset]! ^= 0x01
      expect(refusal(await exchange(messenger.seal('toolcall.request', withMode(MODE_E2E, frame))))).toMatchObject({ ok: false, code: 'rejected' })
    }
    expect(await rejected('decrypt')).toBe(before + 3)
  })

  it('refuses plaintext requests when encryption is required, and garbage bodies', async () => {
    expect(refusal(await exchange(messenger.seal('toolcall.request', withMode(MODE_PLAIN, request('in the clear')))))).toMatchObject({ ok: false, code: 'rejected' })
    expect(await rejected('plaintext')).toBe(1)
    const garbage = messenger.seal('toolcall.request', new Uint8Array([7, 1, 2, 3]))
    expect(refusal(await exchange(garbage))).toMatchObject({ ok: false, code: 'bad-request' })
    const notJson = cipher.sealRequest(target, new TextEncoder().encode('{"to":'), aad).frame
    expect(refusal(await exchange(messenger.seal('toolcall.request', withMode(MODE_E2E, notJson))))).toMatchObject({ ok: false, code: 'bad-request' })
    const health = await fetch(`${mesh.net.nodes[1]!.httpUrl}/healthz`)
    expect(health.status).toBe(200)
    expect(mesh.procs[1]!.running).toBe(true)
  })
})
