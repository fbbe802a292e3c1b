import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Whether a presented secret equals the expected one, in constant time.
 *
 * Strings, and bytes of different lengths, are hashed with SHA-256 first, so
 * `timingSafeEqual` always compares 32 bytes: the time taken depends on neither the
 * position of the first difference nor on whether the lengths match, so it leaks
 * neither. Hashing takes time in proportion to each input's length, but the expected
 * secret's share of it is the same for every attempt, so varying the attempt learns
 * nothing. Bytes of equal length (a MAC tag, whose length is public) are compared as
 * they are: the two hashes cost more than the rest of checking a frame.
 */
export function secretsEqual (presented: string | Uint8Array, expected: string | Uint8Array): boolean {
  if (typeof presented !== 'string' && typeof expected !== 'string' && presented.byteLength === expected.byteLength) {
    return timingSafeEqual(presented, expected)
  }
  return timingSafeEqual(sha256(presented), sha256(expected))
}

function sha256 (value: string | Uint8Array): Buffer {
  const hash = createHash('sha256')
  return (typeof value === 'string' ? hash.update(value, 'utf8') : hash.update(value)).digest()
}
