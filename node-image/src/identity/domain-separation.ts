/**
 * The bytes a signature covers: a domain tag, then the signed fields as a JSON
 * array. The tag keeps a signature for one purpose from being valid for another;
 * a JSON array of strings and numbers serializes one way only.
 */
export function domainSeparated (domain: Uint8Array, fields: readonly unknown[]): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(fields))
  const out = new Uint8Array(domain.length + body.length)
  out.set(domain)
  out.set(body, domain.length)
  return out
}
