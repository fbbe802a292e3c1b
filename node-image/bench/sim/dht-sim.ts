/**
 * Kademlia lookups over random ids (no sockets): XOR distance, k-buckets
 * filled from the whole population (the best case: a table a long-running
 * node converges to), and the iterative lookup: query the alpha closest
 * unqueried candidates at once, learn up to k closer peers from each, stop
 * when the k closest known have all answered. Ids are 32 bits, which is
 * plenty below 2^16 nodes (duplicates are redrawn).
 */
import { Prng } from './prng.ts'

export interface DhtSimInit {
  n: number
  k: number
  alpha: number
  lookups: number
  seed: number
}

export interface DhtSimResult {
  n: number
  /** rounds of alpha parallel requests until the lookup ended */
  rounds: number[]
  /** hops: the length of the referral chain that first named the true closest node */
  hops: number[]
  /** requests sent per lookup */
  messages: number[]
  /** lookups whose result held the true closest node */
  foundClosest: number
  /** mean routing-table size */
  tableSize: number
}

const dist = (a: number, b: number): number => (a ^ b) >>> 0

export function simulateDht (init: DhtSimInit): DhtSimResult {
  const { n, k, alpha, lookups } = init
  const rng = new Prng(init.seed)
  const ids = uniqueIds(n, rng)
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => (ids[a] as number) - (ids[b] as number))
  const sorted = Uint32Array.from(order, i => ids[i] as number)
  // tables[v]: node indexes, up to k per bucket (bucket = length of the shared prefix).
  const tables: Int32Array[] = []
  let tableTotal = 0
  for (let v = 0; v < n; v++) {
    const id = ids[v] as number
    const entries: number[] = []
    for (let p = 0; p < 32; p++) {
      // Nodes sharing exactly p leading bits with v form one contiguous run of the sorted ids.
      const width = 2 ** (31 - p)
      const lo = ((id >>> (31 - p)) ^ 1) * width
      const start = lowerBound(sorted, lo)
      const end = lowerBound(sorted, lo + width)
      const size = end - start
      if (size <= 0) continue
      for (const j of rng.sample(size, Math.min(k, size))) entries.push(order[start + j] as number)
    }
    tables.push(Int32Array.from(entries))
    tableTotal += entries.length
  }
  const rounds: number[] = []
  const hops: number[] = []
  const messages: number[] = []
  let foundClosest = 0
  for (let l = 0; l < lookups; l++) {
    const origin = rng.int(n)
    const target = rng.uint32()
    let best = 0
    for (let v = 1; v < n; v++) if (dist(ids[v] as number, target) < dist(ids[best] as number, target)) best = v
    const r = lookup(origin, target, ids, tables, k, alpha)
    rounds.push(r.rounds)
    messages.push(r.messages)
    const depth = r.depth.get(best)
    if (depth !== undefined && r.result.includes(best)) {
      foundClosest++
      hops.push(depth)
    }
  }
  return { n, rounds, hops, messages, foundClosest, tableSize: tableTotal / n }
}

function uniqueIds (n: number, rng: Prng): Uint32Array {
  const seen = new Set<number>()
  const ids = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    let id = rng.uint32()
    while (seen.has(id)) id = rng.uint32()
    seen.add(id)
    ids[i] = id
  }
  return ids
}

function lowerBound (sorted: Uint32Array, value: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((sorted[mid] as number) < value) lo = mid + 1
    else hi = mid
  }
  return lo
}

interface LookupResult { rounds: number, messages: number, result: number[], depth: Map<number, number> }

function lookup (origin: number, target: number, ids: Uint32Array, tables: Int32Array[], k: number, alpha: number): LookupResult {
  const d = (v: number): number => dist(ids[v] as number, target)
  const closest = (list: Iterable<number>, count: number): number[] => [...list].sort((a, b) => d(a) - d(b)).slice(0, count)
  // depth: referral hops from the origin's own table (0 = the origin knew it).
  const depth = new Map<number, number>()
  for (const v of tables[origin] as Int32Array) depth.set(v, 0)
  const queried = new Set<number>([origin])
  let rounds = 0
  let messages = 0
  for (;;) {
    const shortlist = closest(depth.keys(), k)
    const batch = shortlist.filter(v => !queried.has(v)).slice(0, alpha)
    if (batch.length === 0) return { rounds, messages, result: shortlist, depth }
    rounds++
    for (const v of batch) {
      queried.add(v)
      messages++
      // The peer answers with the k closest peers it knows to the target.
      for (const w of closest(tables[v] as Int32Array, k)) {
        if (w !== origin && !depth.has(w)) depth.set(w, (depth.get(v) as number) + 1)
      }
    }
  }
}
