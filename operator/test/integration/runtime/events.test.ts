// Events (events.k8s.io/v1) recorded against a real kube-apiserver.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { V1ConfigMap } from '@kubernetes/client-node'
import { EventRecorder } from '../../../src/runtime/events.ts'
import { Applier } from '../../../src/runtime/apply.ts'
import { createLogger } from '../../../src/runtime/logger.ts'
import { kubeClient, createNamespace, deleteNamespace } from './helpers.ts'

interface Ev { reason: string, type: string, note?: string, reportingController: string, regarding: { kind: string, name: string, uid?: string }, series?: { count: number } }

describe('EventRecorder', () => {
  const client = kubeClient()
  let ns = ''
  beforeAll(async () => { ns = await createNamespace(client, 'events') })
  afterAll(async () => { await deleteNamespace(client, ns) })

  it('records events about an object; repeats become a series on one Event', async () => {
    const obj = await new Applier({ client }).apply<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'subject', namespace: ns }, data: {} })
    const rec = new EventRecorder({ client, instance: 'test-replica' })
    await rec.record(obj, { reason: 'Created', note: 'made the thing', action: 'Apply' })
    await rec.record(obj, { type: 'Warning', reason: 'ReconcileFailed', note: 'boom' })
    await rec.record(obj, { type: 'Warning', reason: 'ReconcileFailed', note: 'boom' })
    await rec.record(obj, { type: 'Warning', reason: 'ReconcileFailed', note: 'boom' })
    const list = await client.request<{ items: Ev[] }>({ method: 'GET', path: `/apis/events.k8s.io/v1/namespaces/${ns}/events` })
    const byReason = Object.fromEntries(list.items.map(e => [e.reason, e]))
    expect(list.items).toHaveLength(2)
    expect(byReason.Created?.type).toBe('Normal')
    expect(byReason.Created?.regarding).toMatchObject({ kind: 'ConfigMap', name: 'subject', uid: obj.metadata?.uid })
    expect(byReason.Created?.reportingController).toBe('mesh.dawn.dev/dawn-operator')
    expect(byReason.ReconcileFailed?.series?.count).toBe(3)
  })

  it('a refused event does not throw: the API error is logged, and the next event still lands', async () => {
    const lines: string[] = []
    const rec = new EventRecorder({ client, logger: createLogger({ level: 'debug', write: l => { lines.push(l) } }) })
    // The API server refuses an Event in a namespace that does not exist (404).
    await expect(rec.record({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'no-such-namespace-here' } }, { reason: 'Whatever' })).resolves.toBeUndefined()
    const logged = lines.map(l => JSON.parse(l) as { msg: string, reason?: string, object?: string, err?: string })
    expect(logged).toEqual([expect.objectContaining({ msg: 'could not record event', reason: 'Whatever', object: 'no-such-namespace-here/x' })])
    expect(logged[0]?.err).toMatch(/not found/i)

    const obj = await new Applier({ client }).apply<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after-refusal', namespace: ns }, data: {} })
    await rec.record(obj, { reason: 'StillWorking' })
    const list = await client.request<{ items: Ev[] }>({ method: 'GET', path: `/apis/events.k8s.io/v1/namespaces/${ns}/events` })
    expect(list.items.filter(e => e.reason === 'StillWorking').map(e => e.regarding.name)).toEqual(['after-refusal'])
  })
})
