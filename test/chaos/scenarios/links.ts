// Faults of the links and clocks: delay and loss, and one node's wall clock off.
import { fullMatrix } from '../matrix.ts'
import type { LinkFault } from '../target.ts'
import { clockOffset, expectLinks, fastestCallMs, FaultNotProvenError, probeCalls, sleep, type Scenario } from './scenario.ts'

export const FLAKY: LinkFault = { delayMs: 60, jitterMs: 20, lossPercent: 5 }

/** Every link delayed and lossy; the mesh must keep every promise it makes, only slower. */
export const flaky: Scenario = {
  name: 'flaky',
  description: `every link ${FLAKY.delayMs}±${FLAKY.jitterMs} ms one way per flaky end, ${FLAKY.lossPercent}% loss`,
  minNodes: 2,
  fault: async ctx => {
    ctx.log(`flaky links ${JSON.stringify(FLAKY)}`)
    await ctx.t.flaky(FLAKY)
    await expectLinks(ctx, fullMatrix(ctx.t.size), 'links still open (only slow and lossy)')
    // A routed call is at least one round trip: four delayed traversals, each ≥ delay - jitter.
    const least = 2 * (FLAKY.delayMs - FLAKY.jitterMs)
    const ms = await fastestCallMs(ctx, 0, 1)
    if (!(ms >= least)) throw new FaultNotProvenError(`a call 0->1 took ${ms} ms; flaky links make it at least ${least} ms`)
    ctx.log(`fastest call 0->1 under flaky links: ${ms} ms (at least ${least} expected)`)
    await sleep(ctx.holdMs)
  },
  heal: async ctx => {
    await ctx.t.heal()
    ctx.healed()
    await expectLinks(ctx, fullMatrix(ctx.t.size), 'every link open')
    const ms = await fastestCallMs(ctx, 0, 1)
    if (!(ms < 2 * (FLAKY.delayMs - FLAKY.jitterMs))) throw new FaultNotProvenError(`a call 0->1 still takes ${ms} ms after the heal`)
    ctx.log(`fastest call 0->1 after the heal: ${ms} ms`)
  }
}

/** The mesh refused work because of a clock skew it should tolerate. */
export class SkewNotToleratedError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SkewNotToleratedError'
  }
}

export const SKEW_MS = 30_000
const SKEWED = 2

/** One node's wall clock 30 s ahead: inside the replay window, so nothing may break. */
export const skew: Scenario = {
  name: 'skew',
  description: `node ${SKEWED}'s wall clock ${SKEW_MS / 1000} s ahead (inside the replay window)`,
  minNodes: 3,
  needs: ['skew'],
  fault: async ctx => {
    if (ctx.t.skew === undefined) throw new FaultNotProvenError(`target ${ctx.t.kind} cannot skew clocks`)
    ctx.log(`node ${SKEWED} clock +${SKEW_MS} ms`)
    ctx.workload.setDown([SKEWED])
    await ctx.t.skew(SKEWED, SKEW_MS)
    ctx.workload.restarted(SKEWED)
    ctx.workload.setDown([])
    const off = await clockOffset(ctx.t, SKEWED)
    if (Math.abs(off - SKEW_MS) > 2000) throw new FaultNotProvenError(`node ${SKEWED}'s clock is off by ${off} ms, not ${SKEW_MS}`)
    const other = await clockOffset(ctx.t, 0)
    if (Math.abs(other) > 2000) throw new FaultNotProvenError(`node 0's clock is off by ${other} ms though it was not skewed`)
    ctx.log(`node ${SKEWED}'s Date header is ${(off / 1000).toFixed(1)} s ahead; node 0's ${(other / 1000).toFixed(1)} s`)
    await expectLinks(ctx, fullMatrix(ctx.t.size), 'every link open (the fault is the clock)')
    // Inside the replay window the mesh must not notice: calls to and from the node get through.
    const to = await probeCalls(ctx, 0, SKEWED)
    const from = await probeCalls(ctx, SKEWED, 0)
    if (to.failed.length + from.failed.length > 0) {
      throw new SkewNotToleratedError(`with node ${SKEWED} ${SKEW_MS / 1000} s ahead (replay window 120 s), calls 0->${SKEWED} failed: [${to.failed.join('; ')}], calls ${SKEWED}->0 failed: [${from.failed.join('; ')}]`)
    }
    ctx.log(`calls to and from the skewed node get through (${to.ms.join(', ')} / ${from.ms.join(', ')} ms)`)
    await sleep(ctx.holdMs)
  },
  heal: async ctx => {
    if (ctx.t.skew === undefined) return
    ctx.workload.setDown([SKEWED])
    await ctx.t.skew(SKEWED, 0)
    ctx.workload.restarted(SKEWED)
    ctx.workload.setDown([])
    ctx.healed()
    const off = await clockOffset(ctx.t, SKEWED)
    if (Math.abs(off) > 2000) throw new FaultNotProvenError(`node ${SKEWED}'s clock is still off by ${off} ms`)
    await expectLinks(ctx, fullMatrix(ctx.t.size), 'every link open')
  }
}
