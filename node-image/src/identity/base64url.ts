const ALPHABET = /^[A-Za-z0-9_-]*$/

export function encodeBase64url (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')
}

/**
 * Strict unpadded base64url. Buffer's decoder silently skips bad characters and
 * ignores unused trailing bits, so several strings would decode to the same
 * bytes; signed data must have exactly one spelling, hence the round-trip check.
 * Returns undefined instead of throwing so callers choose their own error.
 */
export function decodeBase64url (text: string): Uint8Array | undefined {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return undefined
  const buf = Buffer.from(text, 'base64url')
  if (buf.toString('base64url') !== text) return undefined
  // A copy, not a view: small Buffers live in a shared pool.
  return new Uint8Array(buf)
}
