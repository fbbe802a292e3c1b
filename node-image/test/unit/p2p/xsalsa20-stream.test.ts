import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { createHash, randomBytes } from 'node:crypto'
import { hsalsa, salsa20, xsalsa20 } from '@noble/ciphers/salsa.js'
import { XSalsa20Stream } from '../../../src/p2p/xsalsa20-stream.ts'
import { CHUNK_BYTES, DATA_AT, salsa20Simd } from '../../../src/p2p/salsa20-simd.ts'

// NaCl's tests/stream3.c and tests/stream.c: key "firstkey", nonce "nonce".
const NACL_KEY = Buffer.from('1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389', 'hex')
const NACL_NONCE = Buffer.from('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37', 'hex')

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** The stream's next block, set directly: reaching 2^32 blocks honestly takes 256 GiB. */
function startAt (stream: XSalsa20Stream, block: number): XSalsa20Stream {
  (stream as unknown as { block: number }).block = block
  return stream
}

const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574])

function subkeyOf (key: Uint8Array, nonce: Uint8Array): Uint32Array {
  const subkey = new Uint32Array(8)
  hsalsa(SIGMA, new Uint32Array(key.slice().buffer), new Uint32Array(nonce.slice(0, 16).buffer), subkey)
  return subkey
}

/** Keystream of raw Salsa20 with the XSalsa20 subkey from any block noble allows (up to 2^32 - 2). */
function salsaKeystream (key: Uint8Array, nonce: Uint8Array, block: number, length: number): Uint8Array {
  return salsa20(new Uint8Array(subkeyOf(key, nonce).buffer), nonce.slice(16, 24), new Uint8Array(length), undefined, block)
}

/**
 * Words 0, 5, 10, 15, 6, 7, 8, 9 of block 2^32 - 1, which noble refuses to make: HSalsa20 is the
 * Salsa20 permutation without its feed-forward and outputs exactly those words, so add it back.
 */
function lastBlockWords (key: Uint8Array, nonce: Uint8Array): Map<number, number> {
  const n = new Uint32Array(nonce.slice(16, 24).buffer)
  const input = new Uint32Array([n[0] as number, n[1] as number, 0xffffffff, 0])
  const x = new Uint32Array(8)
  hsalsa(SIGMA, subkeyOf(key, nonce), input, x)
  const y = [SIGMA[0], SIGMA[1], SIGMA[2], SIGMA[3], ...input] as number[]
  return new Map([0, 5, 10, 15, 6, 7, 8, 9].map((word, i) => [word, ((x[i] as number) + (y[i] as number)) >>> 0]))
}

function wordsOf (block: Uint8Array): number[] {
  return Array.from({ length: 16 }, (_, i) => Buffer.from(block).readUInt32LE(i * 4))
}

function expectLastBlock (block: Uint8Array, key: Uint8Array, nonce: Uint8Array): void {
  const words = wordsOf(block)
  for (const [word, value] of lastBlockWords(key, nonce)) expect(words[word]).toBe(value)
}

describe('XSalsa20Stream known answers', () => {
  it('gives NaCl\'s first 32 keystream bytes', () => {
    const stream = new XSalsa20Stream(NACL_KEY, NACL_NONCE)
    expect(hex(stream.update(new Uint8Array(32)))).toBe('eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880')
  })

  it('gives NaCl\'s 4 MiB keystream (SHA-256), written in uneven pieces', () => {
    const stream = new XSalsa20Stream(NACL_KEY, NACL_NONCE)
    const hash = createHash('sha256')
    const sizes = [1, 63, 64, 65, 255, 256, 257, 32 * 1024 + 3, 100_000]
    let left = 4_194_304
    for (let i = 0; left > 0; i++) {
      const n = Math.min(left, sizes[i % sizes.length] as number)
      hash.update(stream.update(new Uint8Array(n)))
      left -= n
    }
    expect(hash.digest('hex')).toBe('662b9d0e3463029156069b12f918691a98f7dfb2ca0393c96bbfc6b1fbd630a2')
  })
})

describe('XSalsa20Stream against @noble/ciphers', () => {
  it('equals one-shot XSalsa20 for any split, length and input offset, past 64 KiB too', () => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 24, maxLength: 24 }),
      fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 140_000 })), { maxLength: 8 }),
      fc.integer({ min: 0, max: 15 }),
      (key, nonce, sizes, offset) => {
        const total = sizes.reduce((a, b) => a + b, 0)
        // Inputs start at an arbitrary byte offset of their buffer, as socket reads do.
        const data = new Uint8Array(randomBytes(total + offset)).subarray(offset)
        const expected = xsalsa20(key, nonce, data)
        const stream = new XSalsa20Stream(key, nonce)
        const parts: Uint8Array[] = []
        let at = 0
        for (const n of sizes) {
          const part = stream.update(data.subarray(at, at + n))
          expect(part.byteLength).toBe(n)
          parts.push(part)
          at += n
        }
        expect(hex(Buffer.concat(parts))).toBe(hex(expected))
      }
    ), { numRuns: 60 })
  })

  it('updateParts equals update of the concatenation, parts split anywhere', () => {
    fc.assert(fc.property(
      fc.array(fc.array(fc.oneof(fc.integer({ min: 0, max: 70 }), fc.integer({ min: 0, max: 40_000 })), { maxLength: 5 }), { maxLength: 6 }),
      (calls) => {
        const key = new Uint8Array(32).fill(11)
        const nonce = new Uint8Array(24).fill(12)
        const total = calls.flat().reduce((a, b) => a + b, 0)
        const data = new Uint8Array(randomBytes(total))
        const stream = new XSalsa20Stream(key, nonce)
        const outs: Uint8Array[] = []
        let at = 0
        for (const sizes of calls) {
          const parts = sizes.map(n => data.subarray(at, (at += n)))
          outs.push(stream.updateParts(parts, parts.reduce((a, p) => a + p.byteLength, 0)))
        }
        expect(hex(Buffer.concat(outs))).toBe(hex(xsalsa20(key, nonce, data)))
      }
    ), { numRuns: 60 })
  })

  it('updateInPlace writes update()\'s output over its input, calls of any size interleaved with update', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 3 * CHUNK_BYTES }))), { maxLength: 8 }),
      (calls) => {
        const key = new Uint8Array(32).fill(13)
        const nonce = new Uint8Array(24).fill(14)
        const data = new Uint8Array(randomBytes(calls.reduce((a, [, n]) => a + n, 0)))
        const stream = new XSalsa20Stream(key, nonce)
        const outs: Uint8Array[] = []
        let at = 0
        for (const [inPlace, n] of calls) {
          const input = data.slice(at, (at += n))
          const out = inPlace ? stream.updateInPlace(input) : stream.update(input)
          if (inPlace) expect(out).toBe(input)
          outs.push(out)
        }
        expect(hex(Buffer.concat(outs))).toBe(hex(xsalsa20(key, nonce, data)))
      }
    ), { numRuns: 60 })
  })

  it('updateParts refuses parts shorter than the stated length', () => {
    const stream = new XSalsa20Stream(new Uint8Array(32), new Uint8Array(24))
    expect(() => stream.updateParts([new Uint8Array(10), new Uint8Array(5)], 16)).toThrow(RangeError)
  })

  it('does not change its input and keeps streams on one shared module apart', () => {
    const a = new XSalsa20Stream(new Uint8Array(32).fill(1), new Uint8Array(24).fill(2))
    const b = new XSalsa20Stream(new Uint8Array(32).fill(3), new Uint8Array(24).fill(4))
    const data = new Uint8Array(randomBytes(5000))
    const copy = data.slice()
    const outA = [a.update(data.subarray(0, 700)), b.update(data.subarray(0, 1000)), a.update(data.subarray(700))]
    expect(data).toEqual(copy)
    expect(hex(Buffer.concat([outA[0] as Uint8Array, outA[2] as Uint8Array]))).toBe(hex(xsalsa20(new Uint8Array(32).fill(1), new Uint8Array(24).fill(2), data)))
    expect(hex(outA[1] as Uint8Array)).toBe(hex(xsalsa20(new Uint8Array(32).fill(3), new Uint8Array(24).fill(4), data.subarray(0, 1000))))
  })

  it('leaves no key and no bare keystream in the shared module memory', () => {
    const stream = new XSalsa20Stream(new Uint8Array(32).fill(5), new Uint8Array(24).fill(6))
    expect(CHUNK_BYTES).toBe(32 * 1024)
    // 70,000 = 2 × 32 KiB + 4,464: the last chunk pads to 4,608 bytes of whole four-block groups.
    stream.update(new Uint8Array(70_000).fill(0xa5))
    const memory = salsa20Simd().memory
    expect(memory.subarray(0, DATA_AT).every(b => b === 0)).toBe(true)
    expect(memory.subarray(DATA_AT + 4464, DATA_AT + 4608).every(b => b === 0)).toBe(true)
    // The padding's keystream went to the reserve, so the next write still matches.
    const next = stream.update(new Uint8Array(144))
    expect(hex(next)).toBe(hex(xsalsa20(new Uint8Array(32).fill(5), new Uint8Array(24).fill(6), new Uint8Array(70_144)).subarray(70_000)))
  })
})

describe('XSalsa20Stream limits', () => {
  const key = new Uint8Array(32).fill(8)
  const nonce = new Uint8Array(24).fill(9)

  it('runs up to block 2^32 - 1 exactly, then refuses', () => {
    const stream = startAt(new XSalsa20Stream(key, nonce), 2 ** 32 - 4)
    const first = stream.update(new Uint8Array(100))
    const second = stream.update(new Uint8Array(92))
    expect(hex(Buffer.concat([first, second]))).toBe(hex(salsaKeystream(key, nonce, 2 ** 32 - 4, 192)))
    expectLastBlock(stream.update(new Uint8Array(64)), key, nonce)
    expect(() => stream.update(new Uint8Array(1))).toThrow(/exhausted/)
  })

  it('refuses a write that would need block 2^32 before writing any of it', () => {
    const stream = startAt(new XSalsa20Stream(key, nonce), 2 ** 32 - 1)
    expect(() => stream.update(new Uint8Array(65))).toThrow(/exhausted/)
    // The last block is still there for a write that fits; the wrapped lanes made with it are not.
    const head = stream.update(new Uint8Array(10))
    const tail = stream.update(new Uint8Array(54))
    expectLastBlock(Buffer.concat([head, tail]), key, nonce)
    expect(() => stream.update(new Uint8Array(1))).toThrow(/exhausted/)
  })

  it('is unusable once wiped, even inside a block it already made', () => {
    const stream = new XSalsa20Stream(key, nonce)
    stream.update(new Uint8Array(10))
    stream.wipe()
    expect(() => stream.update(new Uint8Array(1))).toThrow(/exhausted/)
    expect(stream.update(new Uint8Array(0)).byteLength).toBe(0)
  })
})
