// Server-side apply (objects and /status), reads and deletes against a real kube-apiserver.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { V1ConfigMap } from '@kubernetes/client-node'
import { Applier, ApplyConflictError, FIELD_MANAGER, InvalidObjectError } from '../../../src/runtime/apply.ts'
import { KubeApiError, KubeTransportError, KubeTimeoutError, UnknownResourceError, isNotFound } from '../../../src/runtime/errors.ts'
import { KubeClient, resourcePath } from '../../../src/runtime/kube-client.ts'
import { KubeConfig } from '@kubernetes/client-node'
import { createServer } from 'node:net'
import { kubeClient, createNamespace, deleteNamespace, installWidgetCrd, type Widget } from './helpers.ts'

describe('server-side apply', () => {
  const client = kubeClient()
  const applier = new Applier({ client })
  let ns = ''

  beforeAll(async () => { ns = await createNamespace(client, 'apply') })
  afterAll(async () => { await deleteNamespace(client, ns) })

  interface ConfigMapLike { apiVersion: string, kind: string, metadata: { name: string, namespace?: string, labels?: Record<string, string> }, data: Record<string, string> }
  const cm = (name: string, data: Record<string, string>, labels?: Record<string, string>): ConfigMapLike => ({
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...(labels !== undefined ? { labels } : {}) }, data
  })

  it('creates, updates and prunes fields it owns, as field manager dawn-operator', async () => {
    const created = await applier.apply<V1ConfigMap>(cm('a', { one: '1', two: '2' }))
    expect(created.metadata?.uid).toBeDefined()
    const mf = created.metadata?.managedFields ?? []
    expect(mf.map(m => [m.manager, m.operation])).toEqual([[FIELD_MANAGER, 'Apply']])

    const updated = await applier.apply<V1ConfigMap>(cm('a', { one: '1' }))
    // `two` was ours alone and is no longer in our applied config: SSA removes it.
    expect(updated.data).toEqual({ one: '1' })
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion))

    // Applying the same thing again is a no-op (no new resourceVersion).
    const again = await applier.apply<V1ConfigMap>(cm('a', { one: '1' }))
    expect(again.metadata?.resourceVersion).toBe(updated.metadata?.resourceVersion)
  })

  it('leaves fields of other managers alone, and takes over conflicting ones only with force', async () => {
    await applier.apply(cm('b', { ours: 'x' }))
    // Another actor (say, a user with kubectl apply --server-side) owns `theirs` and `shared`.
    const other = new Applier({ client, fieldManager: 'someone-else' })
    await other.apply(cm('b', { theirs: 'y', shared: 'them' }))
    const merged = await applier.get<V1ConfigMap>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'b' })
    expect(merged?.data).toEqual({ ours: 'x', theirs: 'y', shared: 'them' })

    const err = await applier.apply(cm('b', { ours: 'x', shared: 'us' }), { force: false }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApplyConflictError)
    const conflict = err as ApplyConflictError
    expect(conflict.status).toBe(409)
    expect(conflict.conflicts.map(c => c.field)).toEqual(['.data.shared'])
    expect(conflict.apiMessage).toContain('someone-else')

    const forced = await applier.apply(cm('b', { ours: 'x', shared: 'us' }))
    expect(forced.data).toEqual({ ours: 'x', theirs: 'y', shared: 'us' })
  })

  it('applies status through the /status subresource without touching spec, and spec without touching status', async () => {
    const widgets = await installWidgetCrd(client)
    const w: Widget = { apiVersion: 'test.dawn.dev/v1', kind: 'Widget', metadata: { name: 'w1', namespace: ns }, spec: { size: 3, color: 'red' } }
    const created = await applier.apply(w, { resource: widgets })
    expect(created.status).toBeUndefined()
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')

    const withStatus = await applier.applyStatus<Widget>({
      ...w,
      spec: { size: 999 }, // ignored: only status is sent
      status: { phase: 'Ready', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True', reason: 'AllGood', message: 'fine', lastTransitionTime: now }] }
    })
    expect(withStatus?.status?.phase).toBe('Ready')
    expect(withStatus?.spec).toEqual({ size: 3, color: 'red' })
    expect(withStatus?.metadata?.generation).toBe(1) // status writes do not bump generation
    const statusEntry = withStatus?.metadata?.managedFields?.find(m => m.subresource === 'status')
    expect(statusEntry?.manager).toBe(FIELD_MANAGER)

    // A spec apply (which carries no status) must not wipe the status.
    const respec = await applier.apply<Widget>({ ...w, spec: { size: 4, color: 'red' } })
    expect(respec.status?.phase).toBe('Ready')
    expect(respec.metadata?.generation).toBe(2)

    // Status of a deleted object: moot, not an error.
    expect(await applier.applyStatus<Widget>({ ...w, metadata: { name: 'nope', namespace: ns }, status: { phase: 'x' } })).toBeUndefined()
  })

  it('deleteIfExists tolerates absence and refuses to delete a different incarnation', async () => {
    const c = await applier.apply<V1ConfigMap>(cm('d', { k: 'v' }))
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'd' }
    expect(await applier.deleteIfExists(ref, { uid: 'not-the-uid' })).toBe(false)
    expect(await applier.get(ref)).toBeDefined()
    expect(await applier.deleteIfExists(c, { uid: c.metadata?.uid })).toBe(true)
    expect(await applier.deleteIfExists(ref)).toBe(false)
    expect(await applier.get(ref)).toBeUndefined()
  })

  it('dry-run applies validate without persisting', async () => {
    const r = await applier.apply(cm('dry', { k: 'v' }), { dryRun: true })
    expect(r.data).toEqual({ k: 'v' })
    expect(await applier.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'dry' })).toBeUndefined()
  })

  it('errors carry the HTTP status, reason and the apiserver\'s message', async () => {
    // A typo in a rendered object fails loudly. (The apiserver answers schema errors in an
    // apply of a built-in type with 500 "failed to create typed patch object", not 4xx.)
    const typo = await applier.apply({ ...cm('typo', {}), dtaa: { k: 'v' } }).catch((e: unknown) => e)
    expect(typo).toBeInstanceOf(KubeApiError)
    expect((typo as KubeApiError).status).toBe(500)
    expect((typo as KubeApiError).apiMessage).toMatch(/\.dtaa: field not declared in schema/)

    const invalid = await applier.apply(cm('Not_A_Valid_Name', {})).catch((e: unknown) => e) as KubeApiError
    expect(invalid.status).toBe(422)
    expect(invalid.reason).toBe('Invalid')
    expect(invalid.apiMessage).toContain('Not_A_Valid_Name')

    const noNs = await applier.apply({ ...cm('x', {}), metadata: { name: 'x', namespace: 'does-not-exist-ns' } }).catch((e: unknown) => e) as KubeApiError
    expect(noNs).toBeInstanceOf(KubeApiError)
    expect(isNotFound(noNs)).toBe(true)
    expect(noNs.reason).toBe('NotFound')
    expect(noNs.message).toContain('PATCH /api/v1/namespaces/does-not-exist-ns/configmaps/x')

    await expect(applier.apply({ apiVersion: 'v1', kind: 'NoSuchKind', metadata: { name: 'x', namespace: ns } })).rejects.toBeInstanceOf(UnknownResourceError)
    await expect(applier.apply({ apiVersion: 'v1', metadata: { name: 'x' } })).rejects.toBeInstanceOf(InvalidObjectError)
    await expect(applier.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } })).rejects.toBeInstanceOf(InvalidObjectError)
  })

  it('cluster-scoped objects need no namespace', async () => {
    const name = `dawn-test-${Date.now()}`
    const pc = await applier.apply({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, value: 1000 } as { apiVersion: string, kind: string, metadata: { name: string } })
    expect(pc.metadata.name).toBe(name)
    expect(await applier.deleteIfExists(pc)).toBe(true)
  })

  it('transport failures and deadlines are named errors too', async () => {
    const port = await closedPort()
    const kc = new KubeConfig()
    kc.loadFromClusterAndUser({ name: 'c', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }, { name: 'u' })
    const dead = new KubeClient({ kubeConfig: kc, requestTimeoutMs: 2000 })
    const e = await dead.request({ method: 'GET', path: '/api/v1/namespaces' }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(KubeTransportError)
    expect((e as Error).message).toMatch(/ECONNREFUSED/)

    // A watch of nothing never answers with a body in time: the deadline fires.
    const slow = await client.request({ method: 'GET', path: resourcePath({ group: '', version: 'v1', plural: 'configmaps' }, { namespace: ns }), query: { watch: true, timeoutSeconds: 30 }, timeoutMs: 300 }).catch((x: unknown) => x)
    expect(slow).toBeInstanceOf(KubeTimeoutError)
  })
})

/** A loopback port nothing listens on. */
async function closedPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>(resolve => s.listen(0, '127.0.0.1', resolve))
  const addr = s.address()
  await new Promise(resolve => s.close(resolve))
  if (addr === null || typeof addr === 'string') throw new Error('no port')
  return addr.port
}
