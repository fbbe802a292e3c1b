// Discovery of the prometheus-operator kinds and the apply memory of controllers/monitoring.ts,
// against a fake API (the control-plane test runs the same against a real one).
import { describe, it, expect } from 'vitest'
import type { KubernetesObject } from '@kubernetes/client-node'
import { Monitoring } from '../../../src/controllers/monitoring.ts'
import { KubeApiError } from '../../../src/runtime/errors.ts'
import type { KubeClient, KubeRequest } from '../../../src/runtime/kube-client.ts'
import type { Applier } from '../../../src/runtime/apply.ts'

function fakeApi (): { client: KubeClient, served: Set<string>, gets: string[] } {
  const served = new Set<string>()
  const gets: string[] = []
  const client = {
    request: async (req: KubeRequest) => {
      gets.push(req.path)
      const resources = [...served].filter(p => req.path === `/apis/monitoring.coreos.com/${p === 'alertmanagerconfigs' ? 'v1alpha1' : 'v1'}`).map(name => ({ name }))
      if (resources.length === 0) throw new KubeApiError({ status: 404, reason: 'NotFound' })
      return { resources }
    }
  } as unknown as KubeClient
  return { client, served, gets }
}

describe('Monitoring.served', () => {
  it('caches discovery, looks again soon while kinds are missing, and every refresh otherwise', async () => {
    const api = fakeApi()
    let now = 0
    const m = new Monitoring({ client: api.client, refreshMs: 60_000, missingRetryMs: 5_000, now: () => now })
    const signal = new AbortController().signal
    expect([...await m.served(signal)]).toEqual([])
    expect(api.gets).toHaveLength(2)
    now = 4_000
    await m.served(signal)
    expect(api.gets).toHaveLength(2)
    for (const p of ['podmonitors', 'prometheusrules', 'alertmanagerconfigs']) api.served.add(p)
    now = 5_000
    expect([...await m.served(signal)].sort()).toEqual(['AlertmanagerConfig', 'PodMonitor', 'PrometheusRule'])
    expect(api.gets).toHaveLength(4)
    // All there: the next look is a refresh period later.
    now = 64_000
    await m.served(signal)
    expect(api.gets).toHaveLength(4)
    api.served.delete('podmonitors')
    now = 65_000
    expect([...await m.served(signal)].sort()).toEqual(['AlertmanagerConfig', 'PrometheusRule'])
  })
})

describe('Monitoring.apply and remove', () => {
  const obj = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'n-nodes', namespace: 'ns' }, spec: {} }
  const net = { metadata: { name: 'n', namespace: 'ns', uid: 'net-uid' } } as never

  it('applies an unchanged object once per reapply period, and deletes only what the network owns', async () => {
    let now = 0
    const calls: string[] = []
    let existing: KubernetesObject | undefined
    const applier = {
      apply: async (o: KubernetesObject) => { calls.push(`apply ${o.kind ?? ''}`); return o },
      get: async () => existing,
      deleteIfExists: async (_t: unknown, opts: { uid?: string }) => { calls.push(`delete ${opts.uid ?? ''}`); return true }
    } as unknown as Applier
    const m = new Monitoring({ client: fakeApi().client, reapplyMs: 1000, now: () => now })
    const signal = new AbortController().signal
    await m.apply({ applier }, obj, signal)
    await m.apply({ applier }, obj, signal)
    expect(calls).toEqual(['apply PodMonitor'])
    const changed: KubernetesObject = { ...obj, spec: { changed: true } } as KubernetesObject
    await m.apply({ applier }, changed, signal)
    now = 5000
    await m.apply({ applier }, changed, signal)
    expect(calls).toEqual(['apply PodMonitor', 'apply PodMonitor', 'apply PodMonitor'])

    const ref = { apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', namespace: 'ns', name: 'n-nodes' }
    const caches = { configMaps: { get: () => undefined } } as never
    existing = { ...obj, metadata: { ...obj.metadata, uid: 'theirs', ownerReferences: [{ apiVersion: 'x/v1', kind: 'Other', name: 'o', uid: 'other', controller: true }] } }
    expect(await m.remove({ applier, caches }, net, ref, signal)).toBe(false)
    // Confirmed once: not read again until something is applied under that name.
    existing = { ...obj, metadata: { ...obj.metadata, uid: 'ours', ownerReferences: [{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNetwork', name: 'n', uid: 'net-uid', controller: true }] } }
    expect(await m.remove({ applier, caches }, net, ref, signal)).toBe(false)
    await m.apply({ applier }, obj, signal)
    expect(await m.remove({ applier, caches }, net, ref, signal)).toBe(true)
    expect(calls.at(-1)).toBe('delete ours')
  })
})
