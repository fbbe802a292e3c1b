import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { Uint8ArrayList } from 'uint8arraylist'
import { streamPair } from '@libp2p/utils'
import { decodeLength, encodeLength, lengthPrefixed } from '../../../src/p2p/length-prefix.ts'

describe('length prefix', () => {
  it('decodes what it encodes (unsigned LEB128), from bytes or from a list of chunks', () => {
    expect([0, 127, 128, 300, 2 ** 21].map(n => [...encodeLength(n)])).toEqual([[0], [127], [0x80, 1], [0xac, 2], [0x80, 0x80, 0x80, 1]])
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 35 - 1 }), fc.integer({ min: 1, max: 4 }), (n, split) => {
      const bytes = encodeLength(n)
      const list = new Uint8ArrayList(bytes.subarray(0, split), bytes.subarray(split))
      expect(decodeLength(bytes)).toBe(n)
      expect(decodeLength(list)).toBe(n)
    }))
  })

  it('answers "not yet" with one shared RangeError (no stack capture per byte), and refuses a prefix past 5 bytes with another error', () => {
    let first: unknown
    let second: unknown
    try { decodeLength(new Uint8Array([0x80])) } catch (err) { first = err }
    try { decodeLength(new Uint8ArrayList(new Uint8Array([0xff, 0xff]))) } catch (err) { second = err }
    expect(first).toBeInstanceOf(RangeError)
    expect(second).toBe(first)
    expect(() => decodeLength(new Uint8Array(5).fill(0x80))).toThrow(/longer than 5 bytes/)
    expect(() => decodeLength(new Uint8Array(5).fill(0x80))).not.toThrow(RangeError)
  })

  it('reads a frame up to its limit even past byteStream\'s 4 MiB default, and refuses one over it', async () => {
    const [a, b] = await streamPair()
    const writer = lengthPrefixed(a, 6 * 1024 * 1024)
    const reader = lengthPrefixed(b, 6 * 1024 * 1024)
    const frame = new Uint8Array(6 * 1024 * 1024).map((_, i) => i % 251)
    const [, got] = await Promise.all([writer.write(frame), reader.read()])
    expect(got.byteLength).toBe(frame.byteLength)
    expect(Buffer.from(got.subarray()).equals(Buffer.from(frame))).toBe(true)
    await writer.write(new Uint8Array(6 * 1024 * 1024 + 1)).catch(() => {})
    await expect(reader.read()).rejects.toThrow(/larger than|too long|exceeds|max/i)
    await a.close().catch(() => {})
    b.abort(new Error('done'))
  })
})
