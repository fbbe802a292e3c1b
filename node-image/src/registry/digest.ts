import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { CausalContext, parseDot } from './dots.ts'
import type { OrSetState } from './or-set.ts'
import { canonicalJson } from './canonical-json.ts'

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
