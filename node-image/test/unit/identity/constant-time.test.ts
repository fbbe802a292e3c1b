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
  })
})
