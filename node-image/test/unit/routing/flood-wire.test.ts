import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { encodeFloodBody, encodeFound, encodeMiss, encodeRequestFrame, FLOOD_HOPS_LIMIT, FLOOD_MISS_REASONS, FloodFrameError, maxJsonInFrame, parseFloodBody, parseReply, splitRequestFrame, type FloodBody } from '../../../src/routing/flood-wire.ts'

const TARGET = '12D3KooWGkYiW2qVJk4xKqZ6qZ9m8n3vYHjzZ8X4Yt5xQhJ2N1Ab'
const body = (over: Partial<FloodBody> = {}): FloodBody => ({ kind: 'call', maxHops: 4, deadline: 1_800_000_000_123, target: TARGET, payload: new Uint8Array([9, 8, 7]), ...over })

describe('flood wire', () => {
  it('round-trips a call body and a probe body', () => {
    expect(parseFloodBody(encodeFloodBody(body()))).toEqual(body())
    const probe = body({ kind: 'probe', maxHops: FLOOD_HOPS_LIMIT, payload: new Uint8Array(randomBytes(16)) })
    expect(parseFloodBody(encodeFloodBody(probe))).toEqual(probe)
  })

  it('refuses bodies that are truncated, of another version or kind, out of range, or aimed at no peer id', () => {
    const good = encodeFloodBody(body())
    const bad: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      truncated: good.subarray(0, 11),
      'target cut': good.subarray(0, 20),
      version: Uint8Array.from(good, (b, i) => (i === 0 ? 2 : b)),
      kind: Uint8Array.from(good, (b, i) => (i === 1 ? 7 : b)),
      'zero hops': Uint8Array.from(good, (b, i) => (i === 2 ? 0 : b)),
      'too many hops': Uint8Array.from(good, (b, i) => (i === 2 ? FLOOD_HOPS_LIMIT + 1 : b)),
      'huge deadline': Uint8Array.from(good, (b, i) => (i === 3 ? 0xff : b)),
      'not a peer id': encodeFloodBody(body({ target: '0'.repeat(50) })),
      'probe tag length': encodeFloodBody(body({ kind: 'probe', payload: new Uint8Array(3) }))
    }
    for (const [what, bytes] of Object.entries(bad)) expect(() => parseFloodBody(bytes), what).toThrow(FloodFrameError)
    expect(() => encodeFloodBody(body({ maxHops: 0 }))).toThrow(FloodFrameError)
  })

  it('keeps the hop byte outside the envelope and reads replies of both kinds', () => {
    const envelope = new Uint8Array([123, 34, 118])
    expect(splitRequestFrame(encodeRequestFrame(3, envelope))).toEqual({ hops: 3, envelope })
    expect(() => splitRequestFrame(new Uint8Array([1]))).toThrow(FloodFrameError)
    expect(parseReply(encodeFound(2, envelope))).toEqual({ found: true, hops: 2, envelope })
    for (const reason of FLOOD_MISS_REASONS) expect(parseReply(encodeMiss(reason))).toEqual({ found: false, reason })
    for (const junk of [new Uint8Array(0), new Uint8Array([0, 99]), new Uint8Array([1, 2]), new Uint8Array([5, 0, 0])]) expect(() => parseReply(junk)).toThrow(FloodFrameError)
  })

  it('leaves most of a frame to the call result (flood-route.test.ts sends one at the limit)', () => {
    expect(maxJsonInFrame(1024 * 1024 + 2)).toBeGreaterThan(700_000)
    expect(maxJsonInFrame(100)).toBe(0)
  })
})
