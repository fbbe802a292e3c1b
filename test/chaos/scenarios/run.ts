// Runs one scenario on a target: workload, fault, proof, hold, heal, proof, convergence,
// invariants. Returns the figures the summary prints.
import { check, checkConvergence, violations, type Verdict } from '../invariants.ts'
import { peers } from '../node-api.ts'
import { takeSnapshot } from '../snapshot.ts'
import type { ChaosTarget } from '../target.ts'
import type { History } from '../history.ts'
import { Workload, type WorkloadInit } from '../workload.ts'
import { sleep, type Scenario, type ScenarioContext } from './scenario.ts'

/** How long after the heal every node must agree again; a run past it fails. */
export const CONVERGENCE_BOUND_MS = 90_000

export interface RunOptions {
  seed: number
  holdMs?: number
  /** How long a probe may take to show a fault or its heal; default 20 s. */
  proofTimeoutMs?: number
  /** Load before the fault and after the heal. */
  settleMs?: number
  log?: (line: string) => void
  workload?: Partial<WorkloadInit>
  /** Edits the history before the check (tests use it to plant a fault the checker must catch). */
  tamper?: (w: Workload) => void
}

export interface ScenarioResult {
  scenario: string
  nodes: number
  seed: number
  verdict: Verdict
  calls: { ok: number, error: number, unknown: number }
  agentChanges: { total: number, acknowledged: number }
  pins: number
  /** ms from the heal until the workload's last operation ended. */
  quietMs: number
  /** ms from the heal until membership was whole / digests equal / every invariant held; undefined: not within the bound. */
  membershipMs?: number
  digestsMs?: number
  convergedMs?: number
  durationMs: number
  /** What the workload did and was told (for re-checking with a doctored copy). */
  history: History
}

export async function runScenario (t: ChaosTarget, scenario: Scenario, opts: RunOptions): Promise<ScenarioResult> {
  if (t.size < scenario.minNodes) throw new RangeError(`${scenario.name} needs at least ${scenario.minNodes} nodes, the target has ${t.size}`)
  const started = Date.now()
  const log = opts.log ?? (() => {})
  const workload = new Workload(t, { seed: opts.seed, ...opts.workload })
  let healedAt = 0
  let watch: MembershipWatch | undefined
  const ctx: ScenarioContext = {
    t, workload, holdMs: opts.holdMs ?? 8000, proofTimeoutMs: opts.proofTimeoutMs ?? 20_000, log,
    healed: () => {
      healedAt = Date.now()
      watch ??= watchMembership(t, healedAt)
    }
  }
  await workload.start()
  let quietMs: number
  try {
    await sleep(opts.settleMs ?? 2000)
    await scenario.fault(ctx)
    await scenario.heal(ctx)
    ctx.healed()
  } finally {
    // The load runs through the heal and its proof; the invariants are judged once it is quiet.
    await workload.stop()
    quietMs = Date.now() - healedAt
  }
  opts.tamper?.(workload)
  const h = workload.history

  // Poll until every eventual invariant holds (or the bound passes), noting when each did.
  let digestsMs: number | undefined
  let convergedMs: number | undefined
  const deadline = healedAt + CONVERGENCE_BOUND_MS
  for (;;) {
    try {
      const c = checkConvergence(h, await takeSnapshot(t, h, { executions: false }))
      const at = Date.now() - healedAt
      if (digestsMs === undefined && c.digests.length === 0) digestsMs = at
      if ([...c.membership, ...c.digests, ...c.lost, ...c.resurrected, ...c.duplicated, ...c.pins].length === 0) {
        convergedMs = at
        break
      }
    } catch (err) {
      log(`snapshot failed: ${(err as Error).message}`)
    }
    if (Date.now() > deadline) break
    await sleep(250)
  }
  const membershipMs = await watch?.stop()
  const verdict = check(h, await takeSnapshot(t, h, { executions: true }))
  const acknowledged = h.registry.filter(r => r.acknowledged).length
  return {
    scenario: scenario.name,
    nodes: t.size,
    seed: opts.seed,
    verdict,
    calls: workload.counts(),
    agentChanges: { total: h.registry.length, acknowledged },
    pins: h.pins.length,
    quietMs,
    ...(membershipMs === undefined ? {} : { membershipMs }),
    ...(digestsMs === undefined ? {} : { digestsMs }),
    ...(convergedMs === undefined ? {} : { convergedMs }),
    durationMs: Date.now() - started,
    history: h
  }
}

export const passed = (r: ScenarioResult): boolean => r.convergedMs !== undefined && violations(r.verdict).length === 0

const secs = (ms: number | undefined): string => (ms === undefined ? `not within ${CONVERGENCE_BOUND_MS / 1000} s` : `${(ms / 1000).toFixed(1)} s`)

/** Detail lines, then the Jepsen-style line: `halves: lost 0, resurrected 0, duplicated 0, unknown 2, converged in 1.8 s`. */
export function summarize (r: ScenarioResult): string {
  const v = r.verdict
  const lines = [
    `${r.scenario} (${r.nodes} nodes, seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s)`,
    `  calls: ${r.calls.ok + r.calls.error + r.calls.unknown} (${r.calls.ok} ok, ${r.calls.error} failed, ${r.calls.unknown} unknown of which ${v.unknownExecuted} ran)`,
    ...(r.calls.unknown === 0 ? [] : [`  unknown outcomes: ${unknownCauses(r.history)}`]),
    `  agent changes: ${r.agentChanges.total} (${r.agentChanges.acknowledged} acknowledged); pins: ${r.pins}`,
    `  after the heal: membership whole in ${secs(r.membershipMs)}; load quiet at ${secs(r.quietMs)}; registry digests equal in ${secs(r.digestsMs)}; every invariant in ${secs(r.convergedMs)}`,
    ...violations(v).map(x => `  VIOLATION ${x}`),
    `${r.scenario}: lost ${v.lost.length}, resurrected ${v.resurrected.length}, duplicated ${v.duplicated.length}, unknown ${v.unknown}, ${r.convergedMs === undefined ? `did not converge within ${CONVERGENCE_BOUND_MS / 1000} s` : `converged in ${secs(r.convergedMs)}`}`
  ]
  return lines.join('\n')
}

/** "6 502 outcome-unknown, 2 HTTP timeout": why calls ended unknown. */
function unknownCauses (h: History): string {
  const by = new Map<string, number>()
  for (const c of h.calls) if (c.outcome === 'unknown') by.set(c.detail ?? '?', (by.get(c.detail ?? '?') ?? 0) + 1)
  return [...by].sort((a, b) => b[1] - a[1]).map(([d, n]) => `${n} ${d}`).join(', ')
}

interface MembershipWatch { stop: () => Promise<number | undefined> }

/** Polls every node's verified peers from the heal on; resolves to ms until every node verified every other. */
function watchMembership (t: ChaosTarget, from: number): MembershipWatch {
  const state = { stopped: false }
  const ids = Array.from({ length: t.size }, (_, i) => t.peerId(i))
  const whole = async (): Promise<boolean> => {
    const views = await Promise.all(ids.map(async (_, i) => await peers(t.url(i)).catch(() => undefined)))
    return views.every((v, i) => {
      const verified = new Set(v?.filter(p => p.verified).map(p => p.peerId))
      return v !== undefined && verified.size === ids.length - 1 && ids.every((p, j) => j === i || verified.has(p))
    })
  }
  const done = (async (): Promise<number | undefined> => {
    for (;;) {
      const last = state.stopped
      if (await whole()) return Date.now() - from
      if (last || Date.now() - from >= CONVERGENCE_BOUND_MS) return undefined
      await sleep(100)
    }
  })()
  return { stop: async () => { state.stopped = true; return await done } }
}
