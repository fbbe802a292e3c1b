import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Whether a presented secret equals the expected one, in constant time.
 *
 * Both sides are hashed with SHA-256 first, so `timingSafeEqual` always compares
 * 32 bytes: the time taken depends on neither the position of the first
 * difference nor on whether the lengths match, so it leaks neither. Hashing takes
 * time in proportion to each input's length, but the expected secret's share of
 * it is the same for every attempt, so varying the attempt learns nothing.
 */
export function secretsEqual (presented: string | Uint8Array, expected: string | Uint8Array): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected))
}

function sha256 (value: string | Uint8Array): Buffer {
  const hash = createHash('sha256')
  return (typeof value === 'string' ? hash.update(value, 'utf8') : hash.update(value)).digest()
}
