// Faults of node processes: kill -9 and restart, a pod-deletion-like kill, SIGSTOP/SIGCONT.
import { fullMatrix, withoutNodes } from '../matrix.ts'
import { answers, expectLinks, FaultNotProvenError, sleep, type Scenario, type ScenarioContext } from './scenario.ts'

async function killAndProve (ctx: ScenarioContext, v: number): Promise<void> {
  ctx.workload.setDown([v])
  await ctx.t.kill(v)
  await expectLinks(ctx, withoutNodes(fullMatrix(ctx.t.size), [v]), `node ${v} gone`)
}

async function restart (ctx: ScenarioContext, v: number): Promise<void> {
  await ctx.t.restart(v)
  ctx.workload.restarted(v)
  ctx.workload.setDown([])
}

/** The last node killed with SIGKILL, held down, then started again. */
export const killRestart: Scenario = {
  name: 'kill-restart',
  description: 'kill -9 one node, keep it down, start it again',
  minNodes: 3,
  fault: async ctx => {
    const v = ctx.t.size - 1
    ctx.log(`kill -9 node ${v}`)
    await killAndProve(ctx, v)
    await sleep(ctx.holdMs)
  },
  heal: async ctx => {
    const v = ctx.t.size - 1
    await restart(ctx, v)
    ctx.healed()
    await expectLinks(ctx, fullMatrix(ctx.t.size), `node ${v} back`)
  }
}

/**
 * Like deleting pods with no grace period: each of two nodes is killed and comes straight
 * back (same identity and data, as a StatefulSet pod does), one after the other.
 */
export const podKill: Scenario = {
  name: 'pod-kill',
  description: 'pod-deletion-like kill: two nodes in turn killed with no grace and started again at once',
  minNodes: 3,
  fault: async ctx => {
    for (const v of [1, ctx.t.size - 1]) {
      ctx.log(`delete node ${v} (kill -9, then start again at once)`)
      await killAndProve(ctx, v)
      await restart(ctx, v)
      await sleep(ctx.holdMs / 2)
    }
  },
  heal: async ctx => {
    ctx.healed()
    await expectLinks(ctx, fullMatrix(ctx.t.size), 'every node back')
  }
}

/** One node frozen with SIGSTOP: its sockets stay open but nothing answers. */
export const pause: Scenario = {
  name: 'pause',
  description: 'SIGSTOP one node, hold, SIGCONT',
  minNodes: 3,
  needs: ['pause'],
  fault: async ctx => {
    const v = 1
    if (ctx.t.pause === undefined) throw new FaultNotProvenError(`target ${ctx.t.kind} cannot pause`)
    ctx.log(`SIGSTOP node ${v}`)
    ctx.workload.setDown([v])
    await ctx.t.pause(v)
    // The kernel still completes handshakes for a stopped process, so the probe shows every
    // link; the proof is that the node stops answering while the others do not.
    await expectLinks(ctx, fullMatrix(ctx.t.size), 'links intact under a paused node')
    if (await answers(ctx.t, v, 2000)) throw new FaultNotProvenError(`node ${v} still answers after SIGSTOP`)
    for (let i = 0; i < ctx.t.size; i++) {
      if (i !== v && !await answers(ctx.t, i, 5000)) throw new FaultNotProvenError(`node ${i} stopped answering, though only node ${v} was paused`)
    }
    ctx.log(`node ${v} answers nothing; the others answer`)
    await sleep(ctx.holdMs)
  },
  heal: async ctx => {
    const v = 1
    if (ctx.t.resume === undefined) throw new FaultNotProvenError(`target ${ctx.t.kind} cannot resume`)
    await ctx.t.resume(v)
    ctx.workload.setDown([])
    ctx.healed()
    if (!await answers(ctx.t, v, 10_000)) throw new FaultNotProvenError(`node ${v} does not answer after SIGCONT`)
    await expectLinks(ctx, fullMatrix(ctx.t.size), `node ${v} running again`)
  }
}
