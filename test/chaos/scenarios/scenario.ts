// What a scenario is, and the helpers every scenario proves its fault with. Scenarios
// see only ChaosTarget and the nodes' HTTP API, so every target runs them.
import { formatMatrix, matrixDiff, type LinkMatrix } from '../matrix.ts'
import { call, nodeClock } from '../node-api.ts'
import { RECORDER_AGENT, type ChaosTarget } from '../target.ts'
import type { Workload } from '../workload.ts'

export interface ScenarioContext {
  t: ChaosTarget
  workload: Workload
  /** How long a fault is held while the workload runs. */
  holdMs: number
  /** How long a probe may take to show a fault (or its heal) before the scenario fails. */
  proofTimeoutMs: number
  log: (line: string) => void
  /** Marks the moment the fault was removed: convergence is timed from here. */
  healed: () => void
}

export interface Scenario {
  name: string
  description: string
  minNodes: number
  /** Optional target methods it needs. */
  needs?: Array<'pause' | 'skew'>
  /** Injects the fault, proves it is in place, and holds it while the workload runs. */
  fault: (ctx: ScenarioContext) => Promise<void>
  /** Removes the fault (calling ctx.healed()) and proves it is gone. */
  heal: (ctx: ScenarioContext) => Promise<void>
}

export class FaultNotProvenError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'FaultNotProvenError'
  }
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }
export const range = (n: number, from = 0): number[] => Array.from({ length: Math.max(0, n - from) }, (_, k) => from + k)

/**
 * Probes until the N×N matrix equals `expected` (a fault may take a moment to bite or to
 * lift); fails with both matrices once `timeoutMs` passes.
 */
export async function expectLinks (ctx: ScenarioContext, expected: LinkMatrix, what: string): Promise<void> {
  const deadline = Date.now() + ctx.proofTimeoutMs
  let actual: LinkMatrix
  for (let attempt = 1; ; attempt++) {
    actual = await ctx.t.probe()
    if (matrixDiff(expected, actual).length === 0) {
      ctx.log(`probe: ${what} (attempt ${attempt})\n${formatMatrix(actual)}`)
      return
    }
    if (Date.now() > deadline) break
    await sleep(500)
  }
  throw new FaultNotProvenError(`probe does not show ${what}:\n${matrixDiff(expected, actual).join('\n')}\nexpected:\n${formatMatrix(expected)}\nprobed:\n${formatMatrix(actual)}`)
}

/** Whether node i answers /healthz within `ms`. */
export async function answers (t: ChaosTarget, i: number, ms: number): Promise<boolean> {
  try {
    const res = await fetch(`${t.url(i)}/healthz`, { signal: AbortSignal.timeout(ms) })
    await res.text()
    return res.ok
  } catch { return false }
}

/** Node i's wall clock minus ours, in ms (its HTTP Date header: 1 s resolution). */
export async function clockOffset (t: ChaosTarget, i: number): Promise<number> {
  const before = Date.now()
  const theirs = await nodeClock(t.url(i))
  const after = Date.now()
  return theirs - (before + after) / 2
}

/**
 * `n` routed calls from node i to node j (a read of j's notes), each counted as served by
 * j for the duplicate check. Their durations as the mesh reports them, and the failures.
 */
export async function probeCalls (ctx: ScenarioContext, i: number, j: number, n = 3): Promise<{ ms: number[], failed: string[] }> {
  const ms: number[] = []
  const failed: string[] = []
  for (let k = 0; k < n; k++) {
    ctx.workload.extraCall(j)
    const reply = await call(ctx.t.url(i), { target: `${ctx.t.peerId(j)}:${RECORDER_AGENT}`, tool: 'list', arguments: { prefix: 'chaos-probe-' }, timeoutMs: 6000 }, 10_000)
      .catch((err: unknown) => ({ status: 0, code: 'no-answer', message: (err as Error).message }))
    if ('route' in reply) ms.push(reply.durationMs)
    else failed.push(`${reply.status} ${reply.code}: ${reply.message}`)
  }
  return { ms, failed }
}

/** The fastest of a few routed calls from node i to node j, in the mesh's own duration figure. */
export async function fastestCallMs (ctx: ScenarioContext, i: number, j: number): Promise<number> {
  return Math.min(...(await probeCalls(ctx, i, j)).ms)
}
