import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { ChannelFrameError, decodeAccept, decodeOpen, decodeRequestPayload, deriveKeys, encodeAccept, encodeOpen, encodeRequestPayload, FrameOpener, FrameSealer, KIND_REQUEST, KIND_RESPONSE, newEphemeral, type ChannelKeys } from '../../../src/routing/call-channel-crypto.ts'

const CALLER = '12D3KooWCaller'
const HOST = '12D3KooWHost'

/** Both ends of one handshake, as call-channel.ts and call-channel-service.ts run it. */
function handshake (ids = { caller: CALLER, host: HOST }, network = 'unit'): { caller: ChannelKeys, host: ChannelKeys } {
  const c = newEphemeral()
  const open = decodeOpen(encodeOpen(c, ids.host), ids.host)
  const h = newEphemeral()
  const host = deriveKeys(h, open.publicKey, { network, caller: ids.caller, host: ids.host, callerNonce: open.nonce, hostNonce: h.nonce })
  const accept = decodeAccept(encodeAccept(h, open.nonce), c.nonce)
  const caller = deriveKeys(c, accept.publicKey, { network, caller: ids.caller, host: ids.host, callerNonce: c.nonce, hostNonce: accept.nonce })
  return { caller, host }
}

const id = (): Uint8Array => new Uint8Array(randomBytes(16))
const reason = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(ChannelFrameError)
    return (err as ChannelFrameError).reason
  }
  return 'accepted'
}

describe('call channel handshake', () => {
  it('gives both ends the same keys, one per direction', () => {
    const { caller, host } = handshake()
    expect(caller).toEqual(host)
    expect(caller.up).not.toEqual(caller.down)
  })

  it('binds the keys to the network and both peers', () => {
    const a = handshake()
    // Fresh ephemerals make every channel's keys new, so compare a derivation with one input changed.
    const c = newEphemeral()
    const h = newEphemeral()
    const base = { network: 'unit', caller: CALLER, host: HOST, callerNonce: c.nonce, hostNonce: h.nonce }
    const keys = deriveKeys(c, h.publicKey, base)
    expect(deriveKeys(h, c.publicKey, base)).toEqual(keys)
    for (const changed of [{ network: 'other' }, { caller: '12D3KooWOther' }, { host: '12D3KooWOther' }, { callerNonce: randomBytes(32) }]) {
      expect(deriveKeys(h, c.publicKey, { ...base, ...changed })).not.toEqual(keys)
    }
    expect(a.caller).not.toEqual(keys)
  })

  it('refuses an open for another node, and an accept that answers another open', () => {
    const c = newEphemeral()
    expect(reason(() => decodeOpen(encodeOpen(c, HOST), '12D3KooWSomeoneElse'))).toBe('wrong-peer')
    const h = newEphemeral()
    expect(reason(() => decodeAccept(encodeAccept(h, randomBytes(32)), c.nonce))).toBe('stale-handshake')
    expect(reason(() => decodeOpen(new Uint8Array(10), HOST))).toBe('malformed')
  })

  it('refuses a low-order X25519 key', () => {
    const c = newEphemeral()
    expect(reason(() => deriveKeys(c, new Uint8Array(32), { network: 'unit', caller: CALLER, host: HOST, callerNonce: c.nonce, hostNonce: c.nonce }))).toBe('malformed')
  })
})

describe('call channel frames', () => {
  it('opens frames in order and refuses a replayed, reordered or dropped one', () => {
    const { caller, host } = handshake()
    const sealer = new FrameSealer(caller.up)
    const opener = new FrameOpener(host.up)
    const call = id()
    const [f1, f2, f3] = [sealer.seal(KIND_REQUEST, call, Uint8Array.of(1)), sealer.seal(KIND_REQUEST, id(), Uint8Array.of(2)), sealer.seal(KIND_REQUEST, id(), Uint8Array.of(3))]
    const opened = opener.open(f1)
    expect(opened.kind).toBe(KIND_REQUEST)
    expect(opened.callId).toEqual(call)
    expect([...opened.payload]).toEqual([1])
    expect(reason(() => opener.open(f1))).toBe('out-of-order')
    expect(reason(() => opener.open(f3))).toBe('out-of-order')
    expect([...opener.open(f2).payload]).toEqual([2])
    expect([...opener.open(f3).payload]).toEqual([3])
  })

  it('refuses every single-bit flip of a frame', () => {
    const { caller, host } = handshake()
    const frame = new FrameSealer(caller.up).seal(KIND_REQUEST, id(), randomBytes(40))
    for (let bit = 0; bit < frame.byteLength * 8; bit++) {
      const bad = frame.slice()
      bad[bit >> 3]! ^= 1 << (bit & 7)
      expect(reason(() => new FrameOpener(host.up).open(bad))).toBe('bad-mac')
    }
    expect(reason(() => new FrameOpener(host.up).open(frame))).toBe('accepted')
  })

  it('refuses a frame of another channel, of the other direction, or to another peer', () => {
    const one = handshake()
    const two = handshake()
    const toOther = handshake({ caller: CALLER, host: '12D3KooWOther' })
    const frame = new FrameSealer(one.caller.up).seal(KIND_REQUEST, id(), Uint8Array.of(7))
    expect(reason(() => new FrameOpener(two.host.up).open(frame))).toBe('bad-mac')
    expect(reason(() => new FrameOpener(toOther.host.up).open(frame))).toBe('bad-mac')
    // A host's own response reflected back at it as a request.
    const response = new FrameSealer(one.host.down).seal(KIND_RESPONSE, id(), Uint8Array.of(7))
    expect(reason(() => new FrameOpener(one.host.up).open(response))).toBe('bad-mac')
    expect(reason(() => new FrameOpener(one.caller.down).open(response))).toBe('accepted')
  })

  it('carries the caller clock and trace before the body, and refuses short payloads', () => {
    const body = new Uint8Array(randomBytes(30))
    const decoded = decodeRequestPayload(encodeRequestPayload(1_700_000_000_123, '00-abc-def-01\nk=v', body))
    expect(decoded).toEqual({ ts: 1_700_000_000_123, trace: '00-abc-def-01\nk=v', body })
    expect(decodeRequestPayload(encodeRequestPayload(5, undefined, body))).toEqual({ ts: 5, body })
    expect(reason(() => decodeRequestPayload(new Uint8Array(9)))).toBe('malformed')
    const lying = encodeRequestPayload(5, 'x'.repeat(10), body).subarray(0, 15)
    expect(reason(() => decodeRequestPayload(lying))).toBe('malformed')
  })
})
