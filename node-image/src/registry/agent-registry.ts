/**
 * The mesh-wide agent registry: an OR-Set of AgentRecords keyed
 * `${nodeId}:${agentId}`, where each node is the only writer of its own keys.
 * The transport (gossip deltas, anti-entropy) lives elsewhere; this class
 * validates what arrives, merges it, keeps its own node's keys authoritative and
 * persists the state.
 */
import { randomBytes } from 'node:crypto'
import { readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomic } from '../storage/atomic-file.ts'
import { TypedEventEmitter } from 'main-event'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { MAX_CLOUD_DOTS, parseAgentRecord, parseRegistryState, pointer, RegistryValidationError } from './agent-record.ts'
import type { AgentRecord } from './agent-record.ts'
import { canonicalJson } from './canonical-json.ts'
import { parseDot } from './dots.ts'
import { DotIndex } from './dot-ranges.ts'
import { OrSet, unionDisjointDeltas } from './or-set.ts'
import type { OrSetProjection, OrSetState } from './or-set.ts'

export type RegistryLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void

export interface AgentRegistryInit {
  peerId: string
  /** Where registry.json lives; without it the registry is memory-only. */
  dataDir?: string
  /** Clock for file names; injectable for tests. */
  now?: () => number
  /** Debounce for background saves. */
  saveDelayMs?: number
  log?: RegistryLog
}

export interface RegistryChangeDetail {
  /**
   * Keys (`nodeId:agentId`) whose record appeared, changed or disappeared, sorted.
   * Conservative: a key resurrected by a merge and at once removed again by the
   * own-entry correction is still listed.
   */
  keys: string[]
}

export interface AgentRegistryEvents {
  change: CustomEvent<RegistryChangeDetail>
}

export interface RegistryMergeResult {
  changed: boolean
  /** a projection was cut short to keep the context compact; the rest waits for a later round */
  trimmed?: boolean
  /** Our own corrections made after the merge; the caller should gossip it. */
  ownDelta?: OrSetState<AgentRecord>
}

export class RegistryNotStartedError extends Error {
  constructor () {
    super('agent registry is not started')
    this.name = 'RegistryNotStartedError'
  }
}

export const REGISTRY_FILE = 'registry.json'
/**
 * A save copies, serializes and writes the whole registry, and while a mesh forms it changes
 * many times a second (at 100 ms, a few percent of a joining node's profile). Losing the last
 * seconds to a crash costs nothing that anti-entropy does not bring back.
 */
const DEFAULT_SAVE_DELAY_MS = 2000
/** Well under MAX_CLOUD_DOTS, which a saved registry must respect to load again. */
const MAX_CLOUD_GROWTH_PER_MERGE = MAX_CLOUD_DOTS / 4

const PersistedRegistry = Type.Object({
  version: Type.Literal(1),
  peerId: Type.String(),
  incarnation: Type.String({ pattern: '^[0-9a-f]{8,32}$' }),
  /** false from start() until stop() has flushed; see load() */
  cleanShutdown: Type.Boolean(),
  state: Type.Unknown()
})
const persistedValidator = Compile(PersistedRegistry)

function freshIncarnation (): string {
  return randomBytes(4).toString('hex')
}

function nodeOfKey (key: string): string {
  return key.slice(0, key.indexOf(':'))
}

/** Every live dot must have been issued by (an incarnation of) the node the key belongs to. */
function assertDotsMatchKeys (state: OrSetState<AgentRecord>): void {
  for (const [key, dots] of Object.entries(state.entries)) {
    const node = nodeOfKey(key)
    for (const text of Object.keys(dots)) {
      if (!parseDot(text).replica.startsWith(`${node}.`)) {
        throw new RegistryValidationError('foreign-dot', pointer('entries', key, text), `dot was not issued by ${node}`)
      }
    }
  }
}

/** A gossiped delta may only speak about its sender's keys and dots. */
function assertSentByOwner (state: OrSetState<AgentRecord>, from: string): void {
  const prefix = `${from}.`
  for (const [key, dots] of Object.entries(state.entries)) {
    if (nodeOfKey(key) !== from) {
      throw new RegistryValidationError('foreign-key', pointer('entries', key), `delta from ${from} writes another node's key`)
    }
    for (const [text, record] of Object.entries(dots)) {
      if (!parseDot(text).replica.startsWith(prefix)) {
        throw new RegistryValidationError('foreign-dot', pointer('entries', key, text), `dot was not issued by ${from}`)
      }
      if (record.nodeId !== from) {
        throw new RegistryValidationError('foreign-key', pointer('entries', key, text, 'nodeId'), `delta from ${from} carries a record of ${record.nodeId}`)
      }
    }
  }
  for (const replica of Object.keys(state.context.vv)) {
    if (!replica.startsWith(prefix)) {
      throw new RegistryValidationError('foreign-dot', pointer('context', 'vv', replica), `delta from ${from} claims another replica's history`)
    }
  }
  state.context.cloud.forEach((text, index) => {
    if (!parseDot(text).replica.startsWith(prefix)) {
      throw new RegistryValidationError('foreign-dot', pointer('context', 'cloud', index), `delta from ${from} claims another replica's dot`)
    }
  })
}

interface LocalAgent {
  record: AgentRecord
  json: string
}

export class AgentRegistry extends TypedEventEmitter<AgentRegistryEvents> {
  readonly peerId: string
  private readonly dataDir: string | undefined
  private readonly now: () => number
  private readonly saveDelayMs: number
  private readonly log: RegistryLog
  private inc: string
  private set: OrSet<AgentRecord>
  /** undefined until setLocalAgents: before that we don't know what we own, so we don't correct. */
  private local: Map<string, LocalAgent> | undefined
  private started = false
  /** off when the data dir is unset, or the file exists but could not be read (don't clobber it) */
  private persist: boolean
  private saveTimer: NodeJS.Timeout | undefined
  private saving: Promise<void> = Promise.resolve()
  /** range digests for anti-entropy and digest(); rebuilt only after a change */
  private cachedIndex: DotIndex<AgentRecord> | undefined

  constructor (init: AgentRegistryInit) {
    super()
    this.peerId = init.peerId
    this.dataDir = init.dataDir
    this.now = init.now ?? Date.now
    this.saveDelayMs = init.saveDelayMs ?? DEFAULT_SAVE_DELAY_MS
    this.log = init.log ?? (() => {})
    this.persist = init.dataDir !== undefined
    this.inc = freshIncarnation()
    this.set = new OrSet(this.replica)
  }

  get incarnation (): string {
    return this.inc
  }

  /** The id stamped on dots issued by this process's view of the node. */
  get replica (): string {
    return `${this.peerId}.${this.inc}`
  }

  get size (): number {
    return this.set.size
  }

  async start (): Promise<void> {
    if (this.started) return
    if (this.dataDir !== undefined) await this.load(this.dataDir)
    this.cachedIndex = undefined
    this.started = true
    // Mark the file as in use before issuing any dot: if we crash before the next
    // save, counters handed out since then are unknown to the file, so the next
    // start must not reuse this incarnation (see load()).
    await this.save(false)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    // Stop accepting changes first so nothing lands after the clean-shutdown write.
    this.started = false
    clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    await this.save(true)
  }

  /**
   * Declares the full set of agents hosted by this node. Adds new or changed
   * records, removes missing ones, and returns the combined delta to gossip
   * (undefined when nothing changed).
   */
  setLocalAgents (records: AgentRecord[]): OrSetState<AgentRecord> | undefined {
    this.assertStarted()
    const local = new Map<string, LocalAgent>()
    records.forEach((input, index) => {
      let record: AgentRecord
      try {
        record = parseAgentRecord(structuredClone(input))
      } catch (err) {
        if (err instanceof RegistryValidationError) {
          throw new RegistryValidationError(err.code, `${pointer(index)}${err.path}`, err.message)
        }
        throw err
      }
      if (record.nodeId !== this.peerId) {
        throw new RegistryValidationError('foreign-key', pointer(index, 'nodeId'), `local agent must have nodeId ${this.peerId}`)
      }
      const key = `${record.nodeId}:${record.agentId}`
      if (local.has(key)) {
        throw new RegistryValidationError('duplicate-agent', pointer(index, 'agentId'), `agent ${record.agentId} is listed twice`)
      }
      local.set(key, { record, json: canonicalJson(record) })
    })
    this.local = local
    const { delta, keys } = this.reconcileOwn()
    this.afterChange(delta !== undefined, keys)
    return delta
  }

  /** Merges a gossiped delta; `from` is the peer that published (and signed) it. */
  applyDelta (delta: unknown, from: string): RegistryMergeResult {
    this.assertStarted()
    const state = parseRegistryState(delta)
    assertSentByOwner(state, from)
    return this.mergeValidated(state, from)
  }

  /** Merges a full state from anti-entropy; any member may relay anyone's entries. */
  mergeState (state: unknown, from: string): RegistryMergeResult {
    this.assertStarted()
    const parsed = parseRegistryState(state)
    assertDotsMatchKeys(parsed)
    return this.mergeValidated(parsed, from)
  }

  /**
   * Merges a projection from anti-entropy (see OrSet.mergeProjection): entries
   * are validated like a full state; any member may relay anyone's entries.
   */
  mergeProjection (projection: OrSetProjection<unknown>, from: string): RegistryMergeResult {
    this.assertStarted()
    const parsed = parseRegistryState({ entries: projection.entries, context: { vv: {}, cloud: [] } })
    assertDotsMatchKeys(parsed)
    const cut = { trimmed: false }
    const result = this.mergeValidatedWith(() => {
      const merged = this.set.mergeProjection({ spans: projection.spans, entries: parsed.entries }, { maxCloudGrowth: MAX_CLOUD_GROWTH_PER_MERGE })
      cut.trimmed = merged.trimmed
      return merged
    }, from)
    return cut.trimmed ? { ...result, trimmed: true } : result
  }

  /** Range digests of the current state for anti-entropy; rebuilt only after a change. */
  syncIndex (): DotIndex<AgentRecord> {
    this.cachedIndex ??= DotIndex.build(this.set)
    return this.cachedIndex
  }

  state (): OrSetState<AgentRecord> {
    return this.set.state()
  }

  /**
   * Equal on two nodes exactly when their states are equal: the root of the
   * range digests (dot-ranges.ts), which reuses each record's hash, so it costs
   * milliseconds where hashing the canonical whole state cost seconds at 20 MiB.
   */
  digest (): string {
    return this.syncIndex().root
  }

  /** Who hosts which agent, sorted by key, without copying the records as entries() does. */
  keys (): Array<{ nodeId: string, agentId: string }> {
    return this.set.keys().map(key => {
      // A node id (a peer id) has no ':', so the first one ends it.
      const at = key.indexOf(':')
      return { nodeId: key.slice(0, at), agentId: key.slice(at + 1) }
    })
  }

  /** All records, sorted by key. */
  entries (): AgentRecord[] {
    return this.set.entries().map(([, record]) => record)
  }

  get (nodeId: string, agentId: string): AgentRecord | undefined {
    return this.set.get(`${nodeId}:${agentId}`)
  }

  /** Whether the entry exists, without copying it as get() does (the call path asks this per call). */
  has (nodeId: string, agentId: string): boolean {
    return this.set.has(`${nodeId}:${agentId}`)
  }

  private mergeValidated (state: OrSetState<AgentRecord>, from: string): RegistryMergeResult {
    return this.mergeValidatedWith(() => this.set.mergeWithChanges(state), from)
  }

  private mergeValidatedWith (join: () => { changed: boolean, keys: string[] }, from: string): RegistryMergeResult {
    const merged = join()
    const own = this.reconcileOwn()
    if (own.delta !== undefined) {
      this.log('debug', 'corrected own registry entries after merge', { from, keys: own.keys })
    }
    this.afterChange(merged.changed || own.delta !== undefined, [...merged.keys, ...own.keys])
    return own.delta === undefined
      ? { changed: merged.changed }
      : { changed: true, ownDelta: own.delta }
  }

  /**
   * Makes the keys under our node id match the declared local agents: removes
   * anything we don't host (e.g. resurrected by a peer that missed a removal)
   * and re-adds missing, stale or concurrently written (several dots) records.
   */
  private reconcileOwn (): { delta?: OrSetState<AgentRecord>, keys: string[] } {
    const local = this.local
    if (local === undefined) return { keys: [] }
    const deltas: Array<OrSetState<AgentRecord>> = []
    const keys: string[] = []
    const prefix = `${this.peerId}:`
    for (const key of this.set.keys()) {
      if (!key.startsWith(prefix) || local.has(key)) continue
      const delta = this.set.remove(key)
      if (delta !== undefined) {
        deltas.push(delta)
        keys.push(key)
      }
    }
    for (const [key, { record, json }] of local) {
      const current = this.set.get(key)
      if (current !== undefined && this.set.dots(key).length === 1 && canonicalJson(current) === json) continue
      deltas.push(this.set.add(key, record))
      keys.push(key)
    }
    if (deltas.length === 0) return { keys }
    return { delta: unionDisjointDeltas(deltas), keys }
  }

  private afterChange (changed: boolean, keys: string[]): void {
    if (changed) {
      this.cachedIndex = undefined
      this.scheduleSave()
    }
    if (keys.length > 0) {
      this.safeDispatchEvent('change', { detail: { keys: [...new Set(keys)].sort() } })
    }
  }

  private assertStarted (): void {
    if (!this.started) throw new RegistryNotStartedError()
  }

  private async load (dataDir: string): Promise<void> {
    const file = join(dataDir, REGISTRY_FILE)
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.log('error', 'cannot read registry file; starting empty without persistence', { file, error: (err as Error).message })
        this.persist = false
      }
      return
    }
    try {
      const value: unknown = JSON.parse(text)
      if (!persistedValidator.Check(value)) throw new Error('not a registry file')
      const saved = parseRegistryState(value.state)
      assertDotsMatchKeys(saved)
      if (value.peerId === this.peerId && value.cleanShutdown) {
        this.inc = value.incarnation
      } else if (value.peerId === this.peerId) {
        // Dots issued after the last save may already be in the mesh; reusing their
        // counters with other values would diverge replicas for good.
        this.log('info', 'registry was not shut down cleanly; using a fresh incarnation', { previous: value.incarnation, incarnation: this.inc })
      }
      this.set = new OrSet(this.replica, saved)
    } catch (err) {
      const aside = `${file}.corrupt-${this.now()}`
      this.log('warn', 'registry file is corrupt; moved aside, starting empty', { file, aside, error: (err as Error).message })
      await rename(file, aside).catch((renameErr: unknown) => {
        this.log('error', 'cannot move corrupt registry file aside', { file, error: (renameErr as Error).message })
      })
      this.inc = freshIncarnation()
      this.set = new OrSet(this.replica)
    }
  }

  private scheduleSave (): void {
    if (!this.persist || this.saveTimer !== undefined) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined
      void this.save(false)
    }, this.saveDelayMs)
    this.saveTimer.unref()
  }

  /** Queues a write behind any in-flight one; never rejects (failures are logged). */
  private async save (cleanShutdown: boolean): Promise<void> {
    const dataDir = this.dataDir
    if (!this.persist || dataDir === undefined) return
    this.saving = this.saving
      .then(async () => { await this.writeFile(dataDir, cleanShutdown) })
      .catch((err: unknown) => {
        this.log('error', 'saving the registry failed', { error: (err as Error).message })
      })
    await this.saving
  }

  private async writeFile (dataDir: string, cleanShutdown: boolean): Promise<void> {
    const body = JSON.stringify({
      version: 1,
      peerId: this.peerId,
      incarnation: this.inc,
      cleanShutdown,
      state: this.set.stateView()
    })
    await writeFileAtomic(join(dataDir, REGISTRY_FILE), body)
  }
}
