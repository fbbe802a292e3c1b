import { describe, expect, it } from 'vitest'
import { RequestStateCodec, stateNodeId } from '../../../src/agents/request-state.ts'

const NODE = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const OTHER = '12D3KooWHdtrvtmvdcBDeJVg2UCcxmqUJxEcbEDBwjXGWxbyUVBW'
const PARK = 'ab'.repeat(16)

describe('RequestStateCodec', () => {
  let now = 1_000_000
  const codec = new RequestStateCodec(NODE, () => now)

  it('verifies a state it minted for the same bind, and names its node in the clear', () => {
    const state = codec.mint(PARK, now + 60_000, 'echo\ntools/call\nask')
    expect(stateNodeId(state)).toBe(NODE)
    expect(codec.verify(state, 'echo\ntools/call\nask')).toEqual({ nodeId: NODE, parkId: PARK, expiresAt: now + 60_000 })
  })

  it('refuses a state bound to another agent, method or name', () => {
    const state = codec.mint(PARK, now + 60_000, 'echo\ntools/call\nask')
    expect(codec.verify(state, 'echo\ntools/call\nother')).toEqual({ reason: 'signature does not match' })
    expect(codec.verify(state, 'notes\ntools/call\nask')).toEqual({ reason: 'signature does not match' })
  })

  it('refuses tampering with any part, expiry, another node\'s state and garbage', () => {
    const state = codec.mint(PARK, now + 60_000, 'b')
    const parts = state.split('.')
    const later = [...parts.slice(0, 3), String(now + 9_999_999), parts[4]].join('.')
    expect(codec.verify(later, 'b')).toEqual({ reason: 'signature does not match' })
    const otherPark = [parts[0], parts[1], 'cd'.repeat(16), parts[3], parts[4]].join('.')
    expect(codec.verify(otherPark, 'b')).toEqual({ reason: 'signature does not match' })
    expect(codec.verify(new RequestStateCodec(OTHER).mint(PARK, now + 60_000, 'b'), 'b')).toEqual({ reason: 'minted by another node' })
    // Same node id, another process (a restart): another key.
    expect(codec.verify(new RequestStateCodec(NODE, () => now).mint(PARK, now + 60_000, 'b'), 'b')).toEqual({ reason: 'signature does not match' })
    for (const bad of ['', 'x', 'dawn1....', `dawn1.${NODE}.${PARK}.1e9.AAAA`, 'a'.repeat(600)]) {
      expect(codec.verify(bad, 'b')).toEqual({ reason: 'malformed' })
      expect(stateNodeId(bad)).toBeUndefined()
    }
    now += 60_000
    expect(codec.verify(state, 'b')).toEqual({ reason: 'expired' })
  })
})
