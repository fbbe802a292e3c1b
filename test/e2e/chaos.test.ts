// The chaos scenarios of test/chaos/scenarios on a 5-pod pool the operator deployed: halves,
// one isolated and pod deletion, with the shared workload and invariants. Faults are
// iptables rules inside the pods' network namespaces and pod deletion with no grace period
// (test/chaos/cluster/). The operator must say so: the DawnNetwork is Degraded
// (MeshPartitioned, naming who misses whom) while the mesh is split, and Ready and not
// Degraded after the heal.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ClusterChaosTarget } from '../chaos/cluster/target.ts'
import { violations } from '../chaos/invariants.ts'
import { passed, runScenario, scenario, summarize } from '../chaos/scenarios/index.ts'
import { RECORDER_AGENT } from '../chaos/target.ts'
import { dumpOnFailure } from './access.ts'
import { attachChaosTarget, NetworkConditions, OperatorWatch } from './chaos-cluster.ts'
import { PoolFixture } from './pool-fixture.ts'

const f = new PoolFixture()
const NET = 'chaos'
const POOL = 'mesh'
const SIZE = 5
const SEED = Number(process.env.DAWN_CHAOS_SEED ?? 1300)
let t: ClusterChaosTarget | undefined
let net: NetworkConditions
const figures: string[] = []

dumpOnFailure(() => f.ns)

const target = (): ClusterChaosTarget => { if (t === undefined) throw new Error('no target'); return t }
const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`

beforeAll(async () => {
  await f.createNamespace('e2e-chaos')
  // The workload records every call it makes in the notes agent of its target node.
  await f.apply(f.network(NET), f.pool(POOL, NET, { replicas: SIZE }), f.agent(RECORDER_AGENT, NET, { builtin: { name: 'notes' } }))
  await f.readyPool(POOL, SIZE)
  net = new NetworkConditions(f, NET)
  await net.healthy(180_000)
  t = await attachChaosTarget(f, NET, POOL, SIZE)
})

afterAll(async () => {
  if (figures.length > 0) console.log(`chaos on the ${target().kind} (${SIZE} pods):\n  ${figures.join('\n  ')}`)
  await t?.close()
  await f.dispose()
})

describe('chaos on the cluster', () => {
  for (const [k, [name, split]] of ([
    ['halves', `${POOL}-0, ${POOL}-1 miss ${POOL}-2, ${POOL}-3, ${POOL}-4`],
    ['one-isolated', `${POOL}-0 misses ${POOL}-1, ${POOL}-2, ${POOL}-3, ${POOL}-4`],
    ['pod-kill', undefined]
  ] as const).entries()) {
    it(`${name}: every invariant holds after the heal${split === undefined ? '' : ', and the operator reports the split and the heal'}`, async () => {
      const sc = scenario(name)
      if (sc === undefined) throw new Error(`no scenario ${name}`)
      const watched = new OperatorWatch(target(), net)
      const log: string[] = []
      // Agent changes go through the operator and the kubelet's ConfigMap sync, slower than a file on disk.
      const r = await runScenario(watched, sc, { seed: SEED + k, log: line => { log.push(line) }, workload: { ackTimeoutMs: 30_000 } })
      console.log(summarize(r))
      expect(violations(r.verdict), log.join('\n')).toEqual([])
      expect(passed(r)).toBe(true)
      let operator = ''
      if (split !== undefined) {
        expect(watched.degraded?.condition.message).toBe(`the mesh is split into 2 parts: ${split}`)
        const healthy = await watched.healthyAfterHeal()
        operator = `; Degraded ${secs(watched.degraded?.ms ?? 0)} after the cut, Ready and not Degraded ${secs(healthy.ms)} after the heal`
      } else {
        await net.healthy()
      }
      figures.push(`${name}: converged in ${secs(r.convergedMs ?? 0)} (membership ${secs(r.membershipMs ?? 0)}, digests ${secs(r.digestsMs ?? 0)})${operator}; run ${secs(r.durationMs)}`)
    })
  }
})
