import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AgentRegistry, REGISTRY_FILE, RegistryNotStartedError } from '../../../src/registry/agent-registry.ts'
import type { RegistryChangeDetail } from '../../../src/registry/agent-registry.ts'
import { RegistryValidationError } from '../../../src/registry/agent-record.ts'
import type { AgentRecord, RegistryValidationCode } from '../../../src/registry/agent-record.ts'
import type { OrSetState } from '../../../src/registry/or-set.ts'
import { parseDot } from '../../../src/registry/dots.ts'

const A = '12D3KooW' + 'A'.repeat(44)
const B = '12D3KooW' + 'B'.repeat(44)
const C = '12D3KooW' + 'C'.repeat(44)

function agent (nodeId: string, agentId: string, description = ''): AgentRecord {
  return { nodeId, agentId, name: agentId, kind: 'builtin', description, tools: [{ name: 'run' }], updatedAt: 1 }
}

function dotsOf (delta: OrSetState<AgentRecord>): string[] {
  return Object.values(delta.entries).flatMap((dots) => Object.keys(dots))
}

function expectCode (fn: () => unknown, code: RegistryValidationCode): RegistryValidationError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryValidationError)
    expect((err as RegistryValidationError).code).toBe(code)
    return err as RegistryValidationError
  }
  throw new Error(`expected ${code}`)
}

const running: AgentRegistry[] = []
async function registry (peerId: string, dataDir?: string, now?: () => number): Promise<AgentRegistry> {
  const r = new AgentRegistry({ peerId, ...(dataDir === undefined ? {} : { dataDir }), ...(now === undefined ? {} : { now }), saveDelayMs: 20 })
  await r.start()
  running.push(r)
  return r
}

afterEach(async () => {
  for (const r of running.splice(0)) await r.stop()
})

describe('AgentRegistry.setLocalAgents', () => {
  it('diffs against the current entries and returns one combined delta', async () => {
    const a = await registry(A)
    const b = await registry(B)
    const first = a.setLocalAgents([agent(A, 'x'), agent(A, 'y')])
    expect(first).toBeDefined()
    expect(Object.keys(first!.entries)).toEqual([`${A}:x`, `${A}:y`])
    expect(b.applyDelta(first, A)).toEqual({ changed: true })
    expect(b.entries()).toEqual([agent(A, 'x'), agent(A, 'y')])

    expect(a.setLocalAgents([agent(A, 'y'), agent(A, 'x')])).toBeUndefined()

    const [dotX] = Object.keys(first!.entries[`${A}:x`]!)
    const [dotY] = Object.keys(first!.entries[`${A}:y`]!)
    // change y, drop x, add z: one delta with two adds and the removal in its context
    const second = a.setLocalAgents([agent(A, 'y', 'v2'), agent(A, 'z')])!
    expect(Object.keys(second.entries)).toEqual([`${A}:y`, `${A}:z`])
    const contextDots = [...Object.entries(second.context.vv).flatMap(([r, n]) => Array.from({ length: n }, (_, i) => `${r}@${i + 1}`)), ...second.context.cloud]
    expect(contextDots).toEqual(expect.arrayContaining([dotX, dotY, ...dotsOf(second)]))
    expect(b.applyDelta(second, A).changed).toBe(true)
    expect(b.entries()).toEqual([agent(A, 'y', 'v2'), agent(A, 'z')])
    expect(b.digest()).toBe(a.digest())
    // has() answers as get() does, for a removed entry too
    expect([b.has(A, 'x'), b.has(A, 'y'), b.has(A, 'z'), b.has(B, 'y')]).toEqual([false, true, true, false])

    const third = a.setLocalAgents([])!
    expect(third.entries).toEqual({})
    b.applyDelta(third, A)
    expect(b.size).toBe(0)
    expect(a.size).toBe(0)
  })

  it('rejects records of other nodes, duplicates and invalid records', async () => {
    const a = await registry(A)
    expectCode(() => a.setLocalAgents([agent(B, 'x')]), 'foreign-key')
    expectCode(() => a.setLocalAgents([agent(A, 'x'), agent(A, 'x')]), 'duplicate-agent')
    const err = expectCode(() => a.setLocalAgents([agent(A, 'ok'), agent(A, 'Not Valid')]), 'schema')
    expect(err.path).toBe('/1/agentId')
    expect(a.size).toBe(0)
  })

  it('emits change with the changed keys', async () => {
    const a = await registry(A)
    const b = await registry(B)
    const seen: string[][] = []
    b.addEventListener('change', (evt: CustomEvent<RegistryChangeDetail>) => { seen.push(evt.detail.keys) })
    b.applyDelta(a.setLocalAgents([agent(A, 'x'), agent(A, 'y')]), A)
    b.applyDelta(a.setLocalAgents([agent(A, 'x', 'new'), agent(A, 'y')]), A)
    b.applyDelta(a.setLocalAgents([agent(A, 'x', 'new'), agent(A, 'y')]) ?? { entries: {}, context: { vv: {}, cloud: [] } }, A)
    expect(seen).toEqual([[`${A}:x`, `${A}:y`], [`${A}:x`]])
  })

  it('requires start()', () => {
    const r = new AgentRegistry({ peerId: A })
    expect(() => r.setLocalAgents([])).toThrow(RegistryNotStartedError)
    expect(() => r.mergeState({}, B)).toThrow(RegistryNotStartedError)
  })
})

describe('AgentRegistry.applyDelta', () => {
  let a: AgentRegistry
  let b: AgentRegistry
  let delta: OrSetState<AgentRecord>
  beforeEach(async () => {
    a = await registry(A)
    b = await registry(B)
    delta = a.setLocalAgents([agent(A, 'x')])!
  })

  it('rejects a delta relayed or forged by another peer', () => {
    expectCode(() => b.applyDelta(delta, C), 'foreign-key')
    expect(b.size).toBe(0)
  })

  it('rejects entries whose dots belong to someone else', () => {
    const [dot] = dotsOf(delta)
    const forged = { entries: { [`${A}:x`]: { [dot!.replace(A, C)]: agent(A, 'x') } }, context: { vv: {}, cloud: [] } }
    expectCode(() => b.applyDelta(forged, A), 'foreign-dot')
  })

  it('rejects a context that claims other replicas dots', () => {
    expectCode(() => b.applyDelta({ entries: {}, context: { vv: { [`${C}.00000001`]: 3 }, cloud: [] } }, A), 'foreign-dot')
    expectCode(() => b.applyDelta({ entries: {}, context: { vv: {}, cloud: [`${C}.00000001@3`] } }, A), 'foreign-dot')
    // the same shapes are fine when they are the sender's own
    expect(b.applyDelta({ entries: {}, context: { vv: {}, cloud: [`${A}.00000001@3`] } }, A).changed).toBe(true)
  })

  it('rejects a record naming another node than its key', () => {
    const [dot] = dotsOf(delta)
    const forged = { entries: { [`${A}:x`]: { [dot!]: agent(C, 'x') } }, context: { vv: {}, cloud: [] } }
    expectCode(() => b.applyDelta(forged, A), 'key-mismatch')
  })

  it('rejects schema violations', () => {
    const err = expectCode(() => b.applyDelta({ entries: {}, context: { vv: {}, cloud: 'x' } }, A), 'schema')
    expect(err.path).toBe('/context/cloud')
  })

  it('is idempotent', () => {
    expect(b.applyDelta(delta, A).changed).toBe(true)
    expect(b.applyDelta(delta, A).changed).toBe(false)
    expect(b.entries()).toEqual([agent(A, 'x')])
  })
})

describe('AgentRegistry.mergeState', () => {
  it('accepts a relayed state with many owners and rejects dots that do not match the key', async () => {
    const a = await registry(A)
    const b = await registry(B)
    const c = await registry(C)
    b.applyDelta(a.setLocalAgents([agent(A, 'x')]), A)
    b.setLocalAgents([agent(B, 'y')])
    expect(c.mergeState(b.state(), B)).toEqual({ changed: true })
    expect(c.entries()).toEqual([agent(A, 'x'), agent(B, 'y')])
    expect(c.keys()).toEqual([{ nodeId: A, agentId: 'x' }, { nodeId: B, agentId: 'y' }])
    expect(c.digest()).toBe(b.digest())
    expect(c.mergeState(b.state(), B)).toEqual({ changed: false })

    const forged = b.state()
    const bDots = forged.entries[`${B}:y`]!
    forged.entries[`${A}:x`] = Object.fromEntries(Object.entries(bDots).map(([dot]) => [dot, agent(A, 'x', 'hijacked')]))
    delete forged.entries[`${B}:y`]
    const err = expectCode(() => c.mergeState(forged, B), 'foreign-dot')
    expect(err.path).toContain(`/entries/${A}:x/`)
    expect(c.get(A, 'x')).toEqual(agent(A, 'x'))
  })

  it('removes own entries that a peer resurrects after the owner lost its data', async () => {
    const old = await registry(A)
    const b = await registry(B)
    b.applyDelta(old.setLocalAgents([agent(A, 'x'), agent(A, 'keep')]), A)

    // A comes back with an empty data dir: fresh incarnation, no memory of x
    const a = await registry(A)
    expect(a.incarnation).not.toBe(old.incarnation)
    a.setLocalAgents([agent(A, 'keep', 'v2')])
    const result = a.mergeState(b.state(), B)
    expect(result.changed).toBe(true)
    expect(result.ownDelta).toBeDefined()
    expect(a.entries()).toEqual([agent(A, 'keep', 'v2')])
    // the correction reaches b as an ordinary delta from A, and both converge
    expect(b.applyDelta(result.ownDelta, A).changed).toBe(true)
    expect(b.entries()).toEqual([agent(A, 'keep', 'v2')])
    // the stale 'keep' dot from the old incarnation was superseded, not left beside the new one
    expect(Object.keys(b.state().entries[`${A}:keep`]!)).toHaveLength(1)
    expect(b.mergeState(a.state(), A).changed).toBe(false)
    expect(a.mergeState(b.state(), B)).toEqual({ changed: false })
    expect(a.digest()).toBe(b.digest())
  })

  it('does not correct own entries before the local agents are known', async () => {
    const old = await registry(A)
    const b = await registry(B)
    b.applyDelta(old.setLocalAgents([agent(A, 'x')]), A)
    const a = await registry(A)
    expect(a.mergeState(b.state(), B)).toEqual({ changed: true })
    expect(a.entries()).toEqual([agent(A, 'x')])
    const correction = a.setLocalAgents([])!
    expect(a.size).toBe(0)
    b.applyDelta(correction, A)
    expect(b.size).toBe(0)
  })
})

describe('AgentRegistry persistence', () => {
  let dir: string
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dawn-registry-'))
  })
  afterEach(async () => {
    for (const r of running.splice(0)) await r.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('round-trips across stop/start with the same incarnation and continuing counters', async () => {
    const first = new AgentRegistry({ peerId: A, dataDir: dir })
    await first.start()
    const delta = first.setLocalAgents([agent(A, 'x'), agent(A, 'y')])!
    const maxCounter = Math.max(...dotsOf(delta).map((d) => parseDot(d).counter))
    const b = await registry(B)
    first.mergeState(b.state(), B)
    b.setLocalAgents([agent(B, 'z')])
    first.mergeState(b.state(), B)
    const digest = first.digest()
    await first.stop()
    expect((await readdir(dir)).sort()).toEqual([REGISTRY_FILE])

    const second = new AgentRegistry({ peerId: A, dataDir: dir })
    await second.start()
    running.push(second)
    expect(second.incarnation).toBe(first.incarnation)
    expect(second.digest()).toBe(digest)
    expect(second.entries()).toEqual([agent(A, 'x'), agent(A, 'y'), agent(B, 'z')])
    // local agents are unknown until declared, then the diff is against the loaded state
    expect(second.setLocalAgents([agent(A, 'x'), agent(A, 'y')])).toBeUndefined()
    const next = second.setLocalAgents([agent(A, 'x', 'changed'), agent(A, 'y')])!
    expect(dotsOf(next)).toEqual([`${A}.${first.incarnation}@${maxCounter + 1}`])
  })

  it('saves in the background, debounced and atomically', async () => {
    const r = await registry(A, dir)
    r.setLocalAgents([agent(A, 'x')])
    r.setLocalAgents([agent(A, 'x'), agent(A, 'y')])
    await sleep(150)
    const saved = JSON.parse(await readFile(join(dir, REGISTRY_FILE), 'utf8')) as { state: OrSetState<AgentRecord> }
    expect(saved).toMatchObject({ version: 1, peerId: A, incarnation: r.incarnation, cleanShutdown: false })
    expect(Object.keys(saved.state.entries)).toEqual([`${A}:x`, `${A}:y`])
    expect(saved.state).toEqual(r.state())
    expect((await readdir(dir)).sort()).toEqual([REGISTRY_FILE])
  })

  it('takes a fresh incarnation after an unclean shutdown but keeps the state', async () => {
    const crashed = new AgentRegistry({ peerId: A, dataDir: dir, saveDelayMs: 10 })
    await crashed.start()
    crashed.setLocalAgents([agent(A, 'x')])
    await sleep(100) // saved, but never stopped
    const next = await registry(A, dir)
    expect(next.incarnation).not.toBe(crashed.incarnation)
    expect(next.entries()).toEqual([agent(A, 'x')])
    const delta = next.setLocalAgents([agent(A, 'x', 'v2')])!
    expect(dotsOf(delta)).toEqual([`${A}.${next.incarnation}@1`])
  })

  it('moves a corrupt file aside and starts empty', async () => {
    await writeFile(join(dir, REGISTRY_FILE), '{"version":1,"trunc')
    const r = await registry(A, dir, () => 1234)
    expect(r.size).toBe(0)
    expect(await readFile(join(dir, `${REGISTRY_FILE}.corrupt-1234`), 'utf8')).toBe('{"version":1,"trunc')
    // and it is usable and persisting again
    r.setLocalAgents([agent(A, 'x')])
    await r.stop()
    const again = await registry(A, dir)
    expect(again.entries()).toEqual([agent(A, 'x')])
  })

  it('treats a well-formed file with invalid content as corrupt', async () => {
    const b = await registry(B)
    b.setLocalAgents([agent(B, 'y')])
    const state = b.state()
    // an entry under A's key carrying B's dot must not be loaded
    const [dot] = Object.keys(state.entries[`${B}:y`]!)
    const bad = { version: 1, peerId: A, incarnation: '0badf00d', cleanShutdown: true, state: { entries: { [`${A}:y`]: { [dot!]: agent(A, 'y') } }, context: state.context } }
    await writeFile(join(dir, REGISTRY_FILE), JSON.stringify(bad))
    const r = await registry(A, dir, () => 99)
    expect(r.size).toBe(0)
    expect(r.incarnation).not.toBe('0badf00d')
    expect(JSON.parse(await readFile(join(dir, `${REGISTRY_FILE}.corrupt-99`), 'utf8'))).toEqual(bad)
  })
})
