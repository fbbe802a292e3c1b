import { describe, expect, it } from 'vitest'
import { secretsEqual } from '../../../src/identity/constant-time.ts'

describe('secretsEqual', () => {
  it('is true for equal secrets, as strings or bytes', () => {
    expect(secretsEqual('s3cret', 's3cret')).toBe(true)
    expect(secretsEqual(new TextEncoder().encode('s3cret'), 's3cret')).toBe(true)
    expect(secretsEqual('', '')).toBe(true)
    expect(secretsEqual('ü-token', 'ü-token')).toBe(true)
  })

  it('is false for different secrets of the same length', () => {
    expect(secretsEqual('s3cret', 's3creT')).toBe(false)
    expect(secretsEqual('a'.repeat(64), `${'a'.repeat(63)}b`)).toBe(false)
  })

  // A bare timingSafeEqual throws on unequal lengths, and a length check before it would leak the length.
  it('is false, without throwing, for secrets of different lengths', () => {
    expect(secretsEqual('s3cret', 's3cret-and-more')).toBe(false)
    expect(secretsEqual('s3cret-and-more', 's3cret')).toBe(false)
    expect(secretsEqual('', 's3cret')).toBe(false)
    expect(secretsEqual('x'.repeat(10_000), 's3cret')).toBe(false)
    expect(secretsEqual(new Uint8Array(16), new Uint8Array(17))).toBe(false)
  })

  // MAC tags: equal lengths, compared without hashing (the length of a tag is public).
  it('compares bytes of equal length as they are', () => {
    const tag = Uint8Array.from({ length: 16 }, (_, i) => i)
    expect(secretsEqual(tag, tag.slice())).toBe(true)
    for (const at of [0, 15]) {
      const other = tag.slice()
      other[at] = (other[at] ?? 0) ^ 1
      expect(secretsEqual(other, tag)).toBe(false)
    }
  })
})
