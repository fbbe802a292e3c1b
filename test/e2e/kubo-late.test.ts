// A Kubo sidecar that starts 20 s late (the test-only image dawn/kubo:v0.38.1-late sleeps
// before `ipfs daemon`): the node must wait for it, not crash, and become Ready with no
// container restarted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dumpOnFailure, eventually } from './access.ts'
import { HTTP_PORT, PoolFixture, restarts } from './pool-fixture.ts'

const f = new PoolFixture()
const LATE_KUBO = 'dawn/kubo:v0.38.1-late'

dumpOnFailure(() => f.ns)
beforeAll(async () => {
  await f.createNamespace('e2e-kubo-late')
  await f.apply(f.network('late'), f.pool('slow', 'late', { replicas: 2, kubo: { image: LATE_KUBO } }))
})
afterAll(async () => { await f.dispose() })

describe('a late Kubo sidecar', () => {
  it('the node reports that it waits for Kubo, then becomes Ready without a restart', async () => {
    // Proof that the node really ran while Kubo was not up: its own /readyz says so.
    const waiting = await eventually(async () => {
      const pod = (await f.pods('slow'))[0]
      if (pod?.status?.podIP === undefined) return undefined
      const kuboUp = pod.status.containerStatuses?.find(s => s.name === 'kubo')?.started === true
      try {
        const r = await fetch(`${await f.bridges.url(pod.status.podIP, HTTP_PORT)}/readyz`, { signal: AbortSignal.timeout(5000) })
        const body = await r.json() as { ready: boolean, reason: string }
        return !kuboUp && r.status === 503 && /kubo/i.test(body.reason) ? body.reason : undefined
      } catch { return undefined }
    }, { what: 'the node to report that it waits for its Kubo sidecar', timeoutMs: 120_000, intervalMs: 500 })
    expect(waiting).toMatch(/waiting for/)

    await f.readyPool('slow', 2)
    for (const pod of await f.pods('slow')) {
      expect(restarts(pod), `${pod.metadata?.name ?? ''} restarts`).toBe(0)
      expect(pod.spec?.containers.find(c => c.name === 'kubo')?.image).toBe(LATE_KUBO)
    }
  })
})
