/**
 * Digest-first anti-entropy after a partition heals. Two parts:
 *
 * 1. One session, through the real code: OrSet states for N nodes, split in two
 *    halves, R records changed on each side; the real server (sync-server.ts
 *    `answer`) and puller (sync-session.ts `pullFrom`) exchange the real JSON
 *    bodies; each body is counted as the sealed envelope it travels in
 *    (base64url body + the envelope's fixed fields, measured from a real seal).
 * 2. The whole mesh: every node holds side A, side B or both; each round every
 *    node pulls from one random connected peer (the periodic trigger; a heal's
 *    reconnection triggers do the same sooner), and a server whose root differed
 *    pulls back (registry-sync.ts `soon`). Each session costs what part 1
 *    measured for that pair of states.
 */
import type { AgentRecord } from '../../src/registry/agent-record.ts'
import { DotIndex } from '../../src/registry/dot-ranges.ts'
import { OrSet, type OrSetState } from '../../src/registry/or-set.ts'
import { answer } from '../../src/registry/sync-server.ts'
import { pullFrom } from '../../src/registry/sync-session.ts'
import { bodyBudget, encodeBody, parseRequest } from '../../src/registry/sync-wire.ts'
import { Prng } from './prng.ts'

export type Side = 'A' | 'B' | 'AB'

export interface PairCost {
  /** request + reply bytes on the wire, both directions */
  bytes: number
  /** request/reply round trips, one after the other */
  requests: number
  values: number
}

export interface HealInit {
  n: number
  recordsPerNode: number
  /** records changed on each side while apart */
  changed: number
  maxMessageBytes: number
  /** sealed size of an envelope with an empty body: its fixed fields (certificate, signature, nonce...) */
  envelopeOverhead: number
  seed: number
}

export interface HealCosts {
  /** cost[puller][server] of one pull session */
  cost: Record<Side, Record<Side, PairCost>>
  /** every pull left the puller with exactly the join of both states (same root digest) */
  digestsEqual: boolean
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function peerIds (n: number, rng: Prng): string[] {
  return Array.from({ length: n }, () => {
    let s = '12D3KooW'
    for (let i = 0; i < 44; i++) s += BASE58.charAt(rng.int(BASE58.length))
    return s
  })
}

/** What the registry bench announces (bench/registry-mesh.ts), as a record. */
function record (nodeId: string, agentId: string, version: number): AgentRecord {
  return { nodeId, agentId, name: agentId, kind: 'static', description: 'announced by the registry bench', tools: [{ name: 'ping', description: 'Answer pong' }], updatedAt: version }
}

/** Base state, and the states of each side after it changed `changed` records of its own half. */
export function partitionStates (init: Pick<HealInit, 'n' | 'recordsPerNode' | 'changed' | 'seed'>): Record<Side, OrSetState<AgentRecord>> {
  const rng = new Prng(init.seed)
  const ids = peerIds(init.n, rng)
  const replicas = ids.map(id => `${id}.${(rng.uint32() >>> 0).toString(16).padStart(8, '0')}`)
  const entries: Record<string, Record<string, AgentRecord>> = {}
  const vv: Record<string, number> = {}
  replicas.forEach((replica, i) => {
    const node = ids[i] as string
    for (let a = 1; a <= init.recordsPerNode; a++) entries[`${node}:agent-${a}`] = { [`${replica}@${a}`]: record(node, `agent-${a}`, 1) }
    vv[replica] = init.recordsPerNode
  })
  const half = Math.floor(init.n / 2)
  const changedOn = (from: number, to: number, count: number): number[] => rng.sample(to - from, Math.min(count, to - from)).map(i => i + from)
  const apply = (nodes: number[], target: OrSetState<AgentRecord>): void => {
    for (const i of nodes) {
      const node = ids[i] as string
      const replica = replicas[i] as string
      const counter = (target.context.vv[replica] ?? 0) + 1
      target.entries[`${node}:agent-1`] = { [`${replica}@${counter}`]: record(node, 'agent-1', 2) }
      target.context.vv[replica] = counter
    }
  }
  const a = changedOn(0, half, init.changed)
  const b = changedOn(half, init.n, init.changed)
  const clone = (): OrSetState<AgentRecord> => ({ entries: { ...entries }, context: { vv: { ...vv }, cloud: [] } })
  const sideA = clone()
  apply(a, sideA)
  const sideB = clone()
  apply(b, sideB)
  const both = clone()
  apply(a, both)
  apply(b, both)
  return { A: sideA, B: sideB, AB: both }
}

function sealedBytes (body: Uint8Array, overhead: number): number {
  return Math.ceil(body.length * 4 / 3) + overhead
}

/** One real pull session of `puller` (whose index is `mine`) from `server`; returns its wire cost and the puller's root after. */
async function measurePull (puller: OrSetState<AgentRecord>, mine: DotIndex<AgentRecord>, server: DotIndex<AgentRecord>, init: HealInit): Promise<PairCost & { root: string }> {
  const budget = bodyBudget(init.maxMessageBytes)
  const set = new OrSet<AgentRecord>('sim.00000000', puller)
  let bytes = 0
  const result = await pullFrom(async (req) => {
    const reqBody = encodeBody(req)
    bytes += sealedBytes(reqBody, init.envelopeOverhead)
    const replyBody = encodeBody(answer(server, parseRequest(reqBody), budget))
    bytes += sealedBytes(replyBody, init.envelopeOverhead)
    return await Promise.resolve(replyBody)
  }, {
    // The session compares against a snapshot of our state, as RegistrySync's does (the registry caches one).
    index: () => mine,
    merge: projection => set.mergeProjection(projection as Parameters<typeof set.mergeProjection>[0])
  }, { budget, signal: AbortSignal.timeout(600_000) })
  return { bytes, requests: result.requests, values: result.values, root: result.inSync ? mine.root : DotIndex.build(set).root }
}

const merged = (a: Side, b: Side): Side => (a === b ? a : 'AB')

/** Costs of every (puller, server) pair of states, measured through the real sync code. */
export async function measureHealCosts (init: HealInit): Promise<HealCosts> {
  const states = partitionStates(init)
  const sides: Side[] = ['A', 'B', 'AB']
  const indexes = Object.fromEntries(sides.map(s => [s, DotIndex.build(new OrSet<AgentRecord>('sim.00000000', states[s]))])) as Record<Side, DotIndex<AgentRecord>>
  const cost = {} as Record<Side, Record<Side, PairCost>>
  let digestsEqual = true
  let inSync: PairCost | undefined
  for (const p of sides) {
    cost[p] = {} as Record<Side, PairCost>
    for (const s of sides) {
      // Equal states cost one root comparison whichever they are: measure it once.
      if (p === s && inSync !== undefined) {
        cost[p][s] = inSync
        continue
      }
      const r = await measurePull(states[p], indexes[p], indexes[s], init)
      cost[p][s] = { bytes: r.bytes, requests: r.requests, values: r.values }
      if (p === s) inSync = cost[p][s]
      // After the pull the puller must hold exactly the join of both sides.
      if (r.root !== indexes[merged(p, s)].root) digestsEqual = false
    }
  }
  return { cost, digestsEqual }
}

export interface SpreadInit {
  connections: Int32Array[]
  costs: HealCosts
  seed: number
  maxRounds?: number
}

export interface SpreadResult {
  rounds: number
  sessions: number
  totalBytes: number
  /** bytes sent, per node on average */
  bytesPerNode: number
  /** the busiest node's bytes in + out */
  maxNodeTraffic: number
  /** the longest chain of sequential round trips one node ran in a round */
  maxRequestsPerSession: number
  converged: boolean
}

/** Rounds of pull anti-entropy until every node holds both sides. Half of the nodes start on each side. */
export function simulateSpread (init: SpreadInit): SpreadResult {
  const { connections, costs } = init
  const n = connections.length
  const rng = new Prng(init.seed)
  const half = Math.floor(n / 2)
  let state: Side[] = Array.from({ length: n }, (_, i) => (i < half ? 'A' : 'B'))
  // Bytes in + out per node: a session's bytes go through both its ends.
  const traffic = new Float64Array(n)
  const carry = (v: number, w: number, bytes: number): void => {
    traffic[v] = (traffic[v] as number) + bytes
    traffic[w] = (traffic[w] as number) + bytes
  }
  let rounds = 0
  let sessions = 0
  let totalBytes = 0
  let maxRequests = 0
  const maxRounds = init.maxRounds ?? 64
  while (state.some(s => s !== 'AB') && rounds < maxRounds) {
    rounds++
    // Everyone pulls from the state peers had at the start of the round (sessions overlap in time).
    const next = [...state]
    for (let v = 0; v < n; v++) {
      const conns = connections[v] as Int32Array
      const w = conns[rng.int(conns.length)] as number
      const mine = state[v] as Side
      const theirs = state[w] as Side
      const c = costs.cost[mine][theirs]
      sessions++
      totalBytes += c.bytes
      carry(v, w, c.bytes)
      maxRequests = Math.max(maxRequests, c.requests)
      next[v] = merged(next[v] as Side, theirs)
      if (mine !== theirs) {
        // The server saw a different root: it pulls back.
        const back = costs.cost[theirs][mine]
        sessions++
        totalBytes += back.bytes
        carry(v, w, back.bytes)
        maxRequests = Math.max(maxRequests, back.requests)
        next[w] = merged(next[w] as Side, mine)
      }
    }
    state = next
  }
  return {
    rounds,
    sessions,
    totalBytes,
    bytesPerNode: totalBytes / n,
    maxNodeTraffic: Math.max(...traffic),
    maxRequestsPerSession: maxRequests,
    converged: state.every(s => s === 'AB')
  }
}
