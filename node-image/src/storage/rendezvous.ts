import { createHash } from 'node:crypto'

/**
 * Highest-random-weight (rendezvous) order of nodes for a key. Every node that
 * sees the same members computes the same order, and a node leaving moves only
 * the keys it held: the next node in each of their orders takes over.
 */
export function rendezvousOrder (key: string, nodes: Iterable<string>): string[] {
  const scored = [...new Set(nodes)].map(node => ({ node, score: createHash('sha256').update(key).update('\n').update(node).digest().readBigUInt64BE(0) }))
  scored.sort((a, b) => a.score === b.score ? (a.node < b.node ? -1 : 1) : a.score > b.score ? -1 : 1)
  return scored.map(s => s.node)
}
