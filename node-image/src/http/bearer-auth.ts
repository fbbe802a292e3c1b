import { createHash, timingSafeEqual } from 'node:crypto'

/**
 * Checks `Authorization: Bearer <token>` in constant time. Hashing first makes
 * both sides the same length, so the comparison leaks neither bytes nor length.
 */
export function bearerMatches (header: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1]
  if (presented === undefined) return false
  return timingSafeEqual(sha256(presented), sha256(token))
}

function sha256 (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
