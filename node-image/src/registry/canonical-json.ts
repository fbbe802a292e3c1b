/**
 * JSON with object keys sorted (code unit order) at every level, so equal data
 * serializes to equal bytes regardless of insertion order. Follows JSON.stringify
 * for everything else (undefined properties are dropped, non-finite numbers → null).
 */
export function canonicalJson (value: unknown): string {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null'
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`
  }
  const parts: string[] = []
  for (const key of Object.keys(value).sort()) {
    const item = (value as Record<string, unknown>)[key]
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue
    parts.push(`${JSON.stringify(key)}:${canonicalJson(item)}`)
  }
  return `{${parts.join(',')}}`
}

/** Code-unit order, the order canonical JSON sorts keys in; the same on every node and runtime. */
export function byCodeUnit (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
