// Partitions: who can exchange packets with whom, proven by the N×N probe.
import { fullMatrix, groupsMatrix } from '../matrix.ts'
import { expectLinks, range, sleep, type Scenario } from './scenario.ts'

function partitionScenario (name: string, description: string, minNodes: number, groupsFor: (n: number) => number[][]): Scenario {
  return {
    name,
    description,
    minNodes,
    fault: async ctx => {
      const groups = groupsFor(ctx.t.size)
      ctx.log(`partition ${JSON.stringify(groups)}`)
      await ctx.t.partition(groups)
      await expectLinks(ctx, groupsMatrix(ctx.t.size, groups), `${name} in place`)
      await sleep(ctx.holdMs)
    },
    heal: async ctx => {
      await ctx.t.heal()
      ctx.healed()
      await expectLinks(ctx, fullMatrix(ctx.t.size), 'every link open again')
    }
  }
}

/** Nodes 0..⌊n/2⌋-1 against the rest. */
export const halves = partitionScenario('halves', 'the mesh split into two halves', 2, n => {
  const h = Math.floor(n / 2)
  return [range(h), range(n, h)]
})

/** Node 0 alone against the rest. */
export const oneIsolated = partitionScenario('one-isolated', 'one node cut from all the others', 2, n => [[0], range(n, 1)])

/**
 * Majorities ring: each node sees the k nearest on each side around a ring, k chosen so
 * that every view is a majority, and every node's majority is a different one.
 */
export const ring = partitionScenario('ring', 'majorities ring: each node sees only its ring neighbours, a different majority each', 4, n => {
  const k = Math.ceil(Math.floor(n / 2) / 2)
  return range(n).map(i => range(k + 1).map(d => (i + d) % n))
})

/** Two sides that cannot see each other, and one node (the last) that sees both. */
export const bridge = partitionScenario('bridge', 'two sides cut from each other, one node seeing both', 3, n => {
  const b = n - 1
  const m = Math.floor((n - 1) / 2)
  return [[...range(m), b], [...range(n - 1, m), b]]
})
