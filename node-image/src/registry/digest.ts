import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { CausalContext, parseDot } from './dots.ts'
import type { OrSetState } from './or-set.ts'

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

/**
 * Hex SHA-256 over the canonical form of a full OR-Set state. The context is
 * normalized first (entry dots folded in, compacted, cloud sorted) and keys with
 * no dots are dropped, so replicas holding the same information agree even if
 * one of them was handed a non-compacted state.
 */
export function registryDigest (state: OrSetState<unknown>): string {
  const context = CausalContext.from(state.context)
  const entries: Array<[string, Record<string, unknown>]> = []
  for (const [key, dots] of Object.entries(state.entries)) {
    const dotKeys = Object.keys(dots)
    if (dotKeys.length === 0) continue
    for (const text of dotKeys) context.add(parseDot(text))
    entries.push([key, dots])
  }
  const normalized = { entries: Object.fromEntries(entries), context: context.toJSON() }
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(normalized))))
}
