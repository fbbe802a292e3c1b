// The measured parts of the operator bench: single changes (interleaved across operators) and
// the pool burst (one operator at a time).
import { performance } from 'node:perf_hooks'
import { PatchStrategy, setHeaderOptions, type KubernetesObject, type V1StatefulSet } from '@kubernetes/client-node'
import type { DawnNetwork, DawnNode } from '../src/api/index.ts'
import { GROUP, VERSION } from '../src/api/index.ts'
import {
  createCustom, errText, networkBody, nodeBody, nodeImage, ownerPool, progress, reconcileTotals, reconciled, sumValues, waitNetworkReady,
  type Clients
} from './cluster.ts'
import type { Options } from './options.ts'
import type { OperatorProcess, RssSampler } from './operator-process.ts'
import { diffCounts, fmtMs, sleep, type Budget } from './stats.ts'
import { TrackerTimeoutError, type Tracker } from './tracker.ts'

export interface Part1Result { latencies: number[], timeouts: number, errors: string[] }

/** One operator under test: its process, namespace and the bench's watches of that namespace. */
export interface Lane {
  name: string
  ns: string
  op: OperatorProcess
  sampler: RssSampler
  nodes: Tracker<DawnNode>
  sets: Tracker<V1StatefulSet>
  networks: Tracker<DawnNetwork>
}

const SINGLE_POOL = 'single'

async function part1Setup (c: Clients, lane: Lane, budget: Budget): Promise<void> {
  const network = 'net-single'
  await createCustom(c, lane.ns, 'dawnnetworks', networkBody(lane.ns, network))
  await waitNetworkReady(c, lane.ns, lane.networks, network, budget.cap(60_000), budget)
  await createCustom(c, lane.ns, 'dawnnodes', nodeBody(lane.ns, SINGLE_POOL, network, 'dawn/node:0.1.0'))
  await lane.sets.waitFor(SINGLE_POOL, s => nodeImage(s) === 'dawn/node:0.1.0', budget.cap(60_000), budget.signal)
  await lane.nodes.waitFor(SINGLE_POOL, reconciled, budget.cap(60_000), budget.signal)
}

/**
 * Part 1 for every lane, interleaved: change i of each operator runs before change i + 1 of
 * any, so the load of the shared machine falls on all of them alike.
 */
export async function part1 (o: Options, c: Clients, lanes: Lane[], budget: Budget): Promise<Map<string, Part1Result>> {
  for (const lane of lanes) await part1Setup(c, lane, budget)
  await sleep(Math.max(o.gapMs, 500), budget.signal)
  const results = new Map<string, Part1Result>(lanes.map(l => [l.name, { latencies: [], timeouts: 0, errors: [] }]))
  for (let i = 1; i <= o.changes; i++) {
    for (const lane of lanes) {
      budget.throwIfAborted()
      const res = results.get(lane.name) as Part1Result
      if (res.errors.length >= 3 || res.timeouts >= 3) continue
      if (budget.remaining < 5000) { res.errors.push(`budget exhausted after ${i - 1} changes`); continue }
      await part1Change(o, c, lane, i, res, budget)
      await sleep(o.gapMs, budget.signal)
    }
  }
  budget.throwIfAborted()
  return results
}

async function part1Change (o: Options, c: Clients, lane: Lane, i: number, res: Part1Result, budget: Budget): Promise<void> {
  const image = `dawn/node:0.1.${i}`
  const t0 = performance.now()
  try {
    await c.custom.patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: lane.ns, plural: 'dawnnodes', name: SINGLE_POOL, body: { spec: { image } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
    const tPatched = performance.now()
    const at = await lane.sets.waitFor(SINGLE_POOL, s => nodeImage(s) === image, budget.cap(o.changeTimeoutMs), budget.signal)
    res.latencies.push(at - t0)
    if (o.verbose) progress(`${lane.name} change ${i}: ${fmtMs(at - t0)} (patch call ${fmtMs(tPatched - t0)})`)
  } catch (e) {
    if (e instanceof TrackerTimeoutError) {
      res.timeouts++
      progress(`${lane.name} change ${i}: timed out (${e.message})`)
      if (res.timeouts >= 3) res.errors.push('3 changes timed out; part 1 stopped')
    } else {
      res.errors.push(`change ${i}: ${errText(e)}`)
    }
  }
}

export interface SettleInfo {
  ms: number
  reconciles: Map<string, number>
  events: Map<string, number>
  /** "<resource> <field path>" → updates that changed it */
  changedFields: Map<string, number>
}

/** Tallies which top-level fields of metadata/spec/status change between consecutive versions of each object. */
function fieldChanges<T extends KubernetesObject> (tracker: Tracker<T>, into: Map<string, number>): () => void {
  const prev = new Map<string, string>()
  const flat = (obj: T): Record<string, string> => {
    const o = obj as unknown as Record<string, Record<string, unknown> | undefined>
    const fields: Record<string, string> = {}
    for (const part of ['spec', 'status']) {
      for (const [k, v] of Object.entries(o[part] ?? {})) fields[`${part}.${k}`] = JSON.stringify(v)
    }
    const md = o.metadata ?? {}
    for (const k of ['generation', 'labels', 'annotations', 'ownerReferences']) fields[`metadata.${k}`] = JSON.stringify(md[k])
    return fields
  }
  for (const obj of tracker.values()) prev.set(obj.metadata?.name ?? '', JSON.stringify(flat(obj)))
  return tracker.subscribe((name, obj) => {
    if (obj === undefined) { prev.delete(name); return }
    const now = flat(obj)
    const before = prev.get(name)
    prev.set(name, JSON.stringify(now))
    if (before === undefined) { into.set(`${tracker.name} (created)`, (into.get(`${tracker.name} (created)`) ?? 0) + 1); return }
    const old = JSON.parse(before) as Record<string, string>
    let any = false
    for (const k of new Set([...Object.keys(old), ...Object.keys(now)])) {
      if (old[k] === now[k]) continue
      any = true
      const key = `${tracker.name} ${k}`
      into.set(key, (into.get(key) ?? 0) + 1)
    }
    if (!any) into.set(`${tracker.name} (no spec/status change)`, (into.get(`${tracker.name} (no spec/status change)`) ?? 0) + 1)
  })
}

export interface Part2Result {
  pools: number
  done: number
  totalMs: number
  createPhaseMs: number
  createErrors: string[]
  perPoolMs: number[]
  firstDoneMs: number
  timedOut: boolean
  quietAfterMs: number | undefined
  settle: SettleInfo
  stsGenerationBumps: number
}

export async function part2 (o: Options, c: Clients, lane: Lane, budget: Budget): Promise<Part2Result> {
  const { nodes, sets, networks, op, ns } = lane
  const network = 'net-burst'
  await createCustom(c, ns, 'dawnnetworks', networkBody(ns, network))
  await waitNetworkReady(c, ns, networks, network, budget.cap(60_000), budget)
  await sleep(1000, budget.signal)

  const names = Array.from({ length: o.pools }, (_, i) => `burst-${String(i).padStart(4, '0')}`)
  const wanted = new Set(names)
  const createdAt = new Map<string, number>()
  const doneAt = new Map<string, number>()
  let t0 = 0
  let resolveAll: (() => void) | undefined
  const allDone = new Promise<void>(resolve => { resolveAll = resolve })
  const check = (name: string, at: number): void => {
    if (!wanted.has(name) || doneAt.has(name) || t0 === 0) return
    const sts = sets.get(name)
    if (sts === undefined || ownerPool(sts) !== name || !reconciled(nodes.get(name))) return
    doneAt.set(name, at)
    if (o.verbose && doneAt.size % 25 === 0) progress(`${lane.name} part 2: ${doneAt.size}/${o.pools} pools reconciled after ${fmtMs(at - t0)}`)
    if (doneAt.size === wanted.size) resolveAll?.()
  }
  const unsubs = [
    nodes.subscribe((name, _obj, at) => { check(name, at) }),
    sets.subscribe((name, obj, at) => { check(obj === undefined ? name : (ownerPool(obj) ?? name), at) })
  ]

  const createErrors: string[] = []
  let next = 0
  t0 = performance.now()
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++
      const name = names[i]
      if (name === undefined || budget.signal.aborted) return
      for (let attempt = 1; ; attempt++) {
        try {
          await createCustom(c, ns, 'dawnnodes', nodeBody(ns, name, network, 'dawn/node:0.1.0'))
          createdAt.set(name, performance.now())
          break
        } catch (e) {
          const code = (e as { code?: number }).code
          if (code === 409) { createdAt.set(name, performance.now()); break }
          if (attempt >= 5) { createErrors.push(`${name}: ${errText(e)}`); wanted.delete(name); break }
          await sleep(200 * attempt)
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.pools) }, worker))
  const createPhaseMs = performance.now() - t0
  progress(`${lane.name} part 2: ${createdAt.size} DawnNodes created in ${fmtMs(createPhaseMs)}; waiting for the operator`)
  // Pools whose events came before t0 was set (none should) or all already done.
  for (const n of names) check(n, performance.now())
  if (wanted.size === 0 || doneAt.size === wanted.size) resolveAll?.()

  const wait = { timedOut: false }
  let timer: NodeJS.Timeout | undefined
  const ticker = setInterval(() => {
    if (!o.verbose) progress(`${lane.name} part 2: ${doneAt.size}/${wanted.size} pools reconciled after ${fmtMs(performance.now() - t0)}`)
  }, 10_000)
  try {
    await budget.race(Promise.race([allDone, new Promise<void>(resolve => { timer = setTimeout(() => { wait.timedOut = true; resolve() }, budget.cap(o.poolsTimeoutMs)) })]))
  } finally {
    clearTimeout(timer)
    clearInterval(ticker)
  }
  for (const u of unsubs) u()
  const timedOut = wait.timedOut
  const lastDone = doneAt.size === 0 ? performance.now() : Math.max(...doneAt.values())
  const totalMs = timedOut ? performance.now() - t0 : lastDone - t0

  // Does the operator go quiet afterwards? (reconcile counter unchanged for 3 s) And if not,
  // what keeps changing: reconciles and watched fields during the settle window.
  let quietAfterMs: number | undefined
  const settle: SettleInfo = { ms: 0, reconciles: new Map(), events: new Map(), changedFields: new Map() }
  if (!timedOut && o.settleTimeoutMs > 0) {
    const settleStart = performance.now()
    const settleEnd = settleStart + budget.cap(o.settleTimeoutMs)
    const before = await reconcileTotals(op)
    const events0 = new Map([nodes, sets, networks].map(t => [t.name, t.events]))
    const unsubsSettle = [
      fieldChanges(nodes, settle.changedFields),
      fieldChanges(networks, settle.changedFields),
      fieldChanges(sets, settle.changedFields)
    ]
    let last = sumValues(before)
    let lastChange = performance.now()
    while (performance.now() < settleEnd && !budget.signal.aborted) {
      await sleep(500, budget.signal)
      const now = sumValues(await reconcileTotals(op))
      if (now !== last) { last = now; lastChange = performance.now() }
      if (performance.now() - lastChange >= 3000) { quietAfterMs = lastChange - t0; break }
    }
    for (const u of unsubsSettle) u()
    settle.ms = performance.now() - settleStart
    settle.reconciles = diffCounts(await reconcileTotals(op), before)
    for (const t of [nodes, sets, networks]) settle.events.set(t.name, t.events - (events0.get(t.name) ?? 0))
  }

  const stsGenerationBumps = names.reduce((n, name) => n + Math.max(0, (sets.get(name)?.metadata?.generation ?? 1) - 1), 0)
  return {
    pools: o.pools,
    done: doneAt.size,
    totalMs,
    createPhaseMs,
    createErrors,
    perPoolMs: [...doneAt].map(([name, at]) => at - (createdAt.get(name) ?? t0)),
    firstDoneMs: doneAt.size === 0 ? Number.NaN : Math.min(...doneAt.values()) - t0,
    timedOut,
    quietAfterMs,
    settle,
    stsGenerationBumps
  }
}
