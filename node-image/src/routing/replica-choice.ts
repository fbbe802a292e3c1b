/**
 * Which replica of a logical agent a call goes to, and in what order the others are tried.
 * Pure bookkeeping, no I/O: the caller reports calls in flight, round trips and failures;
 * `order()` ranks the replicas that list the tool.
 *
 * Rules, in order:
 * 1. Only replicas that list the tool are candidates (rolling upgrades may differ).
 * 2. Replicas in cool-down (they just failed to be reached or were busy) go last: they are
 *    tried only when every other one has been, so a call is never refused just because
 *    all replicas failed recently.
 * 3. Among the rest, the "least loaded" band is every replica with at most
 *    `min(inFlight) + loadTolerance` calls in flight. Within it the lowest smoothed RTT
 *    goes first; a replica with no RTT yet ranks after every measured one, and among
 *    those one this node reaches directly goes before one it reaches only through a relay
 *    (libp2p measures a connection's RTT at its first ping, which may be minutes away).
 *    Why a tolerance: in-flight counts are this node's own calls, so the call that just
 *    started on the nearest replica would, with strict least-loaded, send the next
 *    concurrent call to a farther one; with two concurrent callers the choice would then
 *    alternate whatever the RTTs. A tolerance of one lets RTT decide at low concurrency
 *    while load still spreads once one replica runs more than one call ahead.
 * 4. Outside the band: fewest in flight, then lowest RTT.
 * 5. Every remaining tie goes to the smaller nodeId, so the order is deterministic.
 */
import { LruMap } from '../p2p/lru-map.ts'

/** A replica as the registry lists it (an AgentRecord fits). */
export interface Replica {
  nodeId: string
  tools: ReadonlyArray<{ name: string, annotations?: { idempotentHint?: boolean } }>
}

/**
 * Why a replica stands where it does, relative to the one after it; a bounded set, so it
 * can be a metric label. For the first entry it is why that replica was chosen.
 */
export type ChoiceReason =
  /** The only replica with the tool. */
  | 'only-replica'
  /** In the least-loaded band and the next one is not (or there is no next one). */
  | 'least-loaded'
  /** Same standing as the next one on load, lower (or known against unknown) RTT. */
  | 'lowest-rtt'
  /** Same load standing as the next one, no RTT for either, and a direct connection where the next has only a relayed one. */
  | 'direct-route'
  /** Same load standing and RTT as the next one: the smaller nodeId. */
  | 'tie-break'
  /** Outside the least-loaded band (fewer in flight than the next, or the last of them). */
  | 'more-loaded'
  /** Failed recently; tried only after every other replica. */
  | 'cooling-down'
  /** Put first by the caller: its session already has an agent session there. */
  | 'session'

export interface ReplicaPick {
  nodeId: string
  inFlight: number
  /** Smoothed round trip, ms; absent while nothing was measured. */
  rttMs?: number
  reason: ChoiceReason
}

export interface ReplicaChooserInit {
  /** Calls in flight above the least loaded that still count as least loaded (default 1). */
  loadTolerance?: number
  /** EWMA weight of a new RTT sample, 0 < w <= 1 (default 0.25: about three samples move it halfway). */
  rttWeight?: number
  /** How long a replica that failed to be reached goes last (default 5 s). */
  coolDownMs?: number
  /** Most replicas remembered; a hard bound besides `retain()` (default 4096). */
  maxTracked?: number
  /** Monotonic clock in ms (default performance.now). */
  now?: () => number
}

export const DEFAULT_LOAD_TOLERANCE = 1
export const DEFAULT_RTT_WEIGHT = 0.25
export const DEFAULT_COOL_DOWN_MS = 5_000
export const DEFAULT_MAX_TRACKED = 4096

interface ReplicaState {
  inFlight: number
  rttMs?: number
  coolUntil?: number
  /** Reached only through a relay (as last observed); ranks unmeasured replicas. */
  relayed?: boolean
}

type Group = 'band' | 'loaded' | 'cooling'

interface Ranked {
  nodeId: string
  state: ReplicaState | undefined
  group: Group
  coolUntil: number
}

/** Per-node call state for replica choice. State is per node: reachability, RTT and the node's call limit are all per node. */
export class ReplicaChooser {
  private readonly tolerance: number
  private readonly weight: number
  private readonly coolDownMs: number
  private readonly now: () => number
  private readonly states: LruMap<string, ReplicaState>

  constructor (init: ReplicaChooserInit = {}) {
    this.tolerance = init.loadTolerance ?? DEFAULT_LOAD_TOLERANCE
    this.weight = init.rttWeight ?? DEFAULT_RTT_WEIGHT
    this.coolDownMs = init.coolDownMs ?? DEFAULT_COOL_DOWN_MS
    this.now = init.now ?? (() => performance.now())
    if (!Number.isInteger(this.tolerance) || this.tolerance < 0) throw new RangeError('loadTolerance must be a non-negative integer')
    if (!(this.weight > 0 && this.weight <= 1)) throw new RangeError('rttWeight must be in (0, 1]')
    if (!(this.coolDownMs >= 0)) throw new RangeError('coolDownMs must be non-negative')
    this.states = new LruMap(init.maxTracked ?? DEFAULT_MAX_TRACKED)
  }

  /** The replicas that list `tool`, in the order to try them (see the rules above). */
  order (replicas: readonly Replica[], tool: string): ReplicaPick[] {
    const now = this.now()
    const seen = new Set<string>()
    const candidates: Array<{ nodeId: string, state: ReplicaState | undefined, coolUntil: number }> = []
    for (const replica of replicas) {
      if (seen.has(replica.nodeId) || !replica.tools.some(t => t.name === tool)) continue
      seen.add(replica.nodeId)
      const state = this.states.get(replica.nodeId)
      const coolUntil = state?.coolUntil !== undefined && state.coolUntil > now ? state.coolUntil : 0
      candidates.push({ nodeId: replica.nodeId, state, coolUntil })
    }
    const warm = candidates.filter(c => c.coolUntil === 0)
    const least = Math.min(...warm.map(c => inFlightOf(c.state)))
    const ranked: Ranked[] = candidates.map(c => ({
      ...c,
      group: c.coolUntil > 0 ? 'cooling' : inFlightOf(c.state) <= least + this.tolerance ? 'band' : 'loaded'
    }))
    ranked.sort(compareRanked)
    return ranked.map((r, i) => {
      const pick: ReplicaPick = { nodeId: r.nodeId, inFlight: inFlightOf(r.state), reason: reasonFor(r, ranked[i + 1], ranked.length) }
      if (r.state?.rttMs !== undefined) pick.rttMs = r.state.rttMs
      return pick
    })
  }

  /** Counts a call to `nodeId` as in flight; the returned function ends it (calling it twice is harmless). */
  begin (nodeId: string): () => void {
    const state = this.stateOf(nodeId)
    state.inFlight++
    let ended = false
    // Closes over the state object: if the node was forgotten meanwhile, this touches nothing live.
    return () => {
      if (ended) return
      ended = true
      state.inFlight--
    }
  }

  /** Folds one measured round trip (a call or a ping) into the node's smoothed RTT. */
  observeRtt (nodeId: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`a round trip must be a finite, non-negative number of ms, not ${ms}`)
    const state = this.stateOf(nodeId)
    state.rttMs = state.rttMs === undefined ? ms : state.rttMs + this.weight * (ms - state.rttMs)
  }

  /** How this node reaches `nodeId` now: only through a relay, or directly. */
  observeRoute (nodeId: string, relayed: boolean): void {
    this.stateOf(nodeId).relayed = relayed
  }

  /** The node could not be reached (or was busy): it goes last for the cool-down. */
  failed (nodeId: string): void {
    this.stateOf(nodeId).coolUntil = this.now() + this.coolDownMs
  }

  /** The node answered: any cool-down ends. */
  succeeded (nodeId: string): void {
    const state = this.states.get(nodeId)
    if (state !== undefined) delete state.coolUntil
  }

  /** True while the node is in its cool-down (presence shows it as degraded). */
  coolingDown (nodeId: string): boolean {
    const until = this.states.get(nodeId)?.coolUntil
    return until !== undefined && until > this.now()
  }

  /** Forgets every node not in `nodeIds` (call with the registry's current nodes when it changes). */
  retain (nodeIds: Iterable<string>): void {
    const keep = new Set(nodeIds)
    for (const nodeId of [...this.states.keys()]) {
      if (!keep.has(nodeId)) this.states.delete(nodeId)
    }
  }

  /** How many nodes have state; for tests and a gauge. */
  get tracked (): number {
    return this.states.size
  }

  private stateOf (nodeId: string): ReplicaState {
    let state = this.states.get(nodeId)
    if (state === undefined) {
      state = { inFlight: 0 }
      this.states.set(nodeId, state)
    }
    return state
  }
}

function inFlightOf (state: ReplicaState | undefined): number {
  return state?.inFlight ?? 0
}

const GROUP_RANK: Record<Group, number> = { band: 0, loaded: 1, cooling: 2 }

/** Unknown RTT sorts after every known one. */
function compareRtt (a: ReplicaState | undefined, b: ReplicaState | undefined): number {
  const ra = a?.rttMs ?? Number.POSITIVE_INFINITY
  const rb = b?.rttMs ?? Number.POSITIVE_INFINITY
  return ra === rb ? 0 : ra < rb ? -1 : 1
}

/** Between two replicas with no RTT: a direct connection before a relayed one. */
function compareRoute (a: ReplicaState | undefined, b: ReplicaState | undefined): number {
  if (a?.rttMs !== undefined || b?.rttMs !== undefined) return 0
  return (a?.relayed === true ? 1 : 0) - (b?.relayed === true ? 1 : 0)
}

function compareRanked (a: Ranked, b: Ranked): number {
  const group = GROUP_RANK[a.group] - GROUP_RANK[b.group]
  if (group !== 0) return group
  if (a.group === 'cooling') {
    // The one whose cool-down ends first is the likeliest to be back.
    if (a.coolUntil !== b.coolUntil) return a.coolUntil - b.coolUntil
  } else if (a.group === 'loaded') {
    const load = inFlightOf(a.state) - inFlightOf(b.state)
    if (load !== 0) return load
  }
  if (a.group !== 'cooling') {
    const rtt = compareRtt(a.state, b.state)
    if (rtt !== 0) return rtt
    const route = compareRoute(a.state, b.state)
    if (route !== 0) return route
  }
  return a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0
}

function reasonFor (r: Ranked, next: Ranked | undefined, count: number): ChoiceReason {
  if (count === 1) return 'only-replica'
  if (r.group === 'cooling') return 'cooling-down'
  if (next === undefined || next.group !== r.group) return r.group === 'band' ? 'least-loaded' : 'more-loaded'
  if (r.group === 'loaded' && inFlightOf(r.state) !== inFlightOf(next.state)) return 'more-loaded'
  if (compareRtt(r.state, next.state) < 0) return 'lowest-rtt'
  return compareRoute(r.state, next.state) < 0 ? 'direct-route' : 'tie-break'
}
