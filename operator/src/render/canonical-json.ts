import { createHash } from 'node:crypto'

/** JSON with object keys sorted at every level: equal values give byte-equal text. */
export function canonicalJson (value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) + '\n'
}

export function sha256Hex (data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

function sortKeys (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (typeof value !== 'object' || value === null) return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) out[key] = sortKeys(v)
  }
  return out
}
