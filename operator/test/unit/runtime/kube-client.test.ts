import { describe, it, expect } from 'vitest'
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ApiException } from '@kubernetes/client-node'
import {
  KubeClient, loadKubeConfig, KubeConfigNotFoundError, resourcePath, objectKey, splitKey, keyOf, parseApiVersion, apiVersionOf, decodeFailure, type HttpRequest, type HttpTransport
} from '../../../src/runtime/kube-client.ts'
import { KubeConfig } from '../../../src/runtime/kubeconfig.ts'
import { createKubeListWatch, type WatchEvent } from '../../../src/runtime/list-watch.ts'
import { KubeApiError, KubeTimeoutError, KubeTransportError, toKubeApiError, isNotFound, isGone, isRetryable, isConflict, isAlreadyExists } from '../../../src/runtime/errors.ts'

const kubeconfigYaml = (server: string, ns?: string): string => `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: '${server}', insecure-skip-tls-verify: true } }]
users: [{ name: u, user: { token: secret-token } }]
contexts: [{ name: ctx, context: { cluster: c, user: u${ns !== undefined ? `, namespace: ${ns}` : ''} } }]
current-context: ctx
`

function fakeKubeConfig (): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromString(kubeconfigYaml('https://k8s.invalid:6443', 'team-a'))
  return kc
}

/** A transport that answers from a script and records requests. */
function scripted (answer: (req: HttpRequest) => { status: number, body?: string, chunks?: string[], hang?: boolean }): { transport: HttpTransport, seen: HttpRequest[] } {
  const seen: HttpRequest[] = []
  const transport: HttpTransport = {
    send: async (req) => {
      seen.push(req)
      const a = answer(req)
      if (a.hang === true) {
        await new Promise<void>((_resolve, reject) => { req.signal.addEventListener('abort', () => { reject(new Error('aborted')) }) })
      }
      const enc = new TextEncoder()
      const chunks = a.chunks ?? [a.body ?? '']
      return { status: a.status, body: (async function * () { for (const ch of chunks) yield enc.encode(ch) })() }
    }
  }
  return { transport, seen }
}

describe('resource paths and keys', () => {
  it('builds core, group, namespaced, cluster-scoped and subresource paths', () => {
    const cm = { group: '', version: 'v1', plural: 'configmaps' }
    const sts = { group: 'apps', version: 'v1', plural: 'statefulsets' }
    const ns = { group: '', version: 'v1', plural: 'namespaces', namespaced: false }
    expect(resourcePath(cm)).toBe('/api/v1/configmaps')
    expect(resourcePath(cm, { namespace: 'a' })).toBe('/api/v1/namespaces/a/configmaps')
    expect(resourcePath(sts, { namespace: 'a', name: 'web' })).toBe('/apis/apps/v1/namespaces/a/statefulsets/web')
    expect(resourcePath({ group: 'mesh.dawn.dev', version: 'v1alpha1', plural: 'dawnnodes' }, { namespace: 'a', name: 'n', subresource: 'status' }))
      .toBe('/apis/mesh.dawn.dev/v1alpha1/namespaces/a/dawnnodes/n/status')
    expect(resourcePath(ns, { namespace: 'ignored', name: 'x' })).toBe('/api/v1/namespaces/x')
    expect(() => resourcePath(cm, { subresource: 'status' })).toThrow(TypeError)
  })
  it('keys', () => {
    expect(objectKey({ metadata: { name: 'a', namespace: 'ns' } })).toBe('ns/a')
    expect(objectKey({ metadata: { name: 'a' } })).toBe('a')
    expect(() => objectKey({ metadata: {} })).toThrow(TypeError)
    expect(splitKey('ns/a')).toEqual({ namespace: 'ns', name: 'a' })
    expect(splitKey('a')).toEqual({ name: 'a' })
    expect(keyOf(undefined, 'a')).toBe('a')
    expect(parseApiVersion('v1')).toEqual({ group: '', version: 'v1' })
    expect(parseApiVersion('apps/v1')).toEqual({ group: 'apps', version: 'v1' })
    expect(apiVersionOf({ group: 'apps', version: 'v1' })).toBe('apps/v1')
  })
})

describe('loadKubeConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dawn-kc-'))
  const f1 = join(dir, 'one'); writeFileSync(f1, kubeconfigYaml('https://one.invalid'))
  it('prefers an explicit path, then $KUBECONFIG, then in-cluster', () => {
    expect(loadKubeConfig({ kubeconfigPath: f1, env: {} }).getCurrentCluster()?.server).toBe('https://one.invalid')
    expect(loadKubeConfig({ env: { KUBECONFIG: `/nonexistent-is-skipped:${f1}` } }).getCurrentCluster()?.server).toBe('https://one.invalid')
    const root = join(dir, 'pod')
    mkdirSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount'), { recursive: true })
    for (const f of ['token', 'ca.crt', 'namespace']) writeFileSync(join(root, 'var/run/secrets/kubernetes.io/serviceaccount', f), f === 'namespace' ? 'dawn-system' : 'x')
    // (client-node's loadFromCluster reads the service address from process.env itself.)
    const saved = { h: process.env.KUBERNETES_SERVICE_HOST, p: process.env.KUBERNETES_SERVICE_PORT, k: process.env.KUBECONFIG }
    process.env.KUBERNETES_SERVICE_HOST = '10.0.0.1'
    process.env.KUBERNETES_SERVICE_PORT = '443'
    delete process.env.KUBECONFIG
    try {
      const kc = loadKubeConfig({ inClusterPathPrefix: root })
      expect(kc.getCurrentCluster()?.server).toBe('https://10.0.0.1:443')
      expect(new KubeClient({ kubeConfig: kc }).defaultNamespace).toBe('dawn-system')
    } finally {
      for (const [k, v] of [['KUBERNETES_SERVICE_HOST', saved.h], ['KUBERNETES_SERVICE_PORT', saved.p], ['KUBECONFIG', saved.k]] as const) {
        if (v === undefined) delete process.env[k]; else process.env[k] = v
      }
    }
  })
  it('fails clearly instead of falling back to localhost:8080', () => {
    const home = process.env.HOME
    process.env.HOME = dir // no ~/.kube/config there
    try {
      expect(() => loadKubeConfig({ env: {} })).toThrow(KubeConfigNotFoundError)
    } finally { process.env.HOME = home }
  })
})

describe('KubeClient (scripted transport)', () => {
  it('sends auth, JSON, query; parses the answer', async () => {
    const { transport, seen } = scripted(() => ({ status: 200, body: '{"kind":"ConfigMap","metadata":{"name":"a"}}' }))
    const c = new KubeClient({ kubeConfig: fakeKubeConfig(), transport })
    const r = await c.request<{ kind: string }>({ method: 'PATCH', path: '/api/v1/namespaces/a/configmaps/a', query: { fieldManager: 'm', force: true, skip: undefined }, body: { a: 1 }, contentType: 'application/apply-patch+yaml' })
    expect(r.kind).toBe('ConfigMap')
    const req = seen[0]!
    expect(req.url).toBe('https://k8s.invalid:6443/api/v1/namespaces/a/configmaps/a?fieldManager=m&force=true')
    expect(req.headers.Authorization).toBe('Bearer secret-token')
    expect(req.headers['Content-Type']).toBe('application/apply-patch+yaml')
    expect(req.body).toBe('{"a":1}')
    expect(c.defaultNamespace).toBe('team-a')
  })

  it('turns a Status answer into KubeApiError with status, reason and message', async () => {
    const { transport } = scripted(() => ({ status: 404, body: JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'NotFound', message: 'configmaps "x" not found', code: 404, details: { name: 'x', kind: 'configmaps' } }) }))
    const c = new KubeClient({ kubeConfig: fakeKubeConfig(), transport })
    const e = await c.request({ method: 'GET', path: '/api/v1/namespaces/a/configmaps/x' }).catch((x: unknown) => x) as KubeApiError
    expect(e).toBeInstanceOf(KubeApiError)
    expect(e.status).toBe(404)
    expect(e.reason).toBe('NotFound')
    expect(e.apiMessage).toBe('configmaps "x" not found')
    expect(e.details?.name).toBe('x')
    expect(e.message).toBe('GET /api/v1/namespaces/a/configmaps/x: 404 NotFound: configmaps "x" not found')
    expect(isNotFound(e)).toBe(true)
    expect(decodeFailure(502, '<html>bad gateway</html>').apiMessage).toBe('<html>bad gateway</html>')
  })

  it('deadline → KubeTimeoutError; caller abort → the caller\'s reason; network → KubeTransportError', async () => {
    const hang = new KubeClient({ kubeConfig: fakeKubeConfig(), transport: scripted(() => ({ status: 200, hang: true })).transport, requestTimeoutMs: 30 })
    await expect(hang.request({ method: 'GET', path: '/x' })).rejects.toBeInstanceOf(KubeTimeoutError)
    const reason = new Error('shutting down')
    const ac = new AbortController()
    const p = hang.request({ method: 'GET', path: '/x', signal: ac.signal, timeoutMs: 10_000 })
    ac.abort(reason)
    await expect(p).rejects.toBe(reason)
    const broken = new KubeClient({ kubeConfig: fakeKubeConfig(), transport: { send: async () => { throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 10.0.0.1:443') }) } } })
    const e = await broken.request({ method: 'GET', path: '/x' }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(KubeTransportError)
    expect((e as Error).message).toBe('GET /x: connect ECONNREFUSED 10.0.0.1:443')
    expect(isRetryable(e)).toBe(true)
  })

  it('resolves kinds through discovery, once per group-version', async () => {
    const { transport, seen } = scripted(() => ({ status: 200, body: JSON.stringify({ resources: [{ name: 'statefulsets', kind: 'StatefulSet', namespaced: true }, { name: 'statefulsets/status', kind: 'StatefulSet', namespaced: true }] }) }))
    const c = new KubeClient({ kubeConfig: fakeKubeConfig(), transport })
    expect(await c.resourceFor('apps/v1', 'StatefulSet')).toEqual({ group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true })
    await c.resourceFor('apps/v1', 'StatefulSet')
    expect(seen).toHaveLength(1)
    expect(seen[0]!.url).toBe('https://k8s.invalid:6443/apis/apps/v1')
  })
})

describe('list/watch over the wire format (scripted transport)', () => {
  it('pages through a list and fills in kind/apiVersion', async () => {
    const { transport, seen } = scripted(r => r.url.includes('continue=t1')
      ? { status: 200, body: JSON.stringify({ kind: 'ConfigMapList', metadata: { resourceVersion: '20' }, items: [{ metadata: { name: 'b', namespace: 'n' } }] }) }
      : { status: 200, body: JSON.stringify({ kind: 'ConfigMapList', metadata: { resourceVersion: '10', continue: 't1' }, items: [{ metadata: { name: 'a', namespace: 'n' } }] }) })
    const lw = createKubeListWatch(new KubeClient({ kubeConfig: fakeKubeConfig(), transport }), { group: '', version: 'v1', plural: 'configmaps' }, { namespace: 'n', labelSelector: 'app=x', pageSize: 1 })
    const r = await lw.list({ signal: new AbortController().signal })
    expect(r.items.map(i => [i.metadata?.name, i.kind, i.apiVersion])).toEqual([['a', 'ConfigMap', 'v1'], ['b', 'ConfigMap', 'v1']])
    expect(r.resourceVersion).toBe('20')
    expect(seen[0]!.url).toContain('labelSelector=app%3Dx&limit=1')
  })

  it('parses events split across chunks, bookmarks and ERROR statuses; asks for bookmarks', async () => {
    const lines = [
      JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '11' } } }),
      JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12' } } }),
      JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (5)' } })
    ].join('\n') + '\n'
    // Split mid-line and mid-UTF-8 boundaries do not matter: chunk every 7 bytes.
    const chunks: string[] = []
    for (let i = 0; i < lines.length; i += 7) chunks.push(lines.slice(i, i + 7))
    const { transport, seen } = scripted(() => ({ status: 200, chunks }))
    const lw = createKubeListWatch(new KubeClient({ kubeConfig: fakeKubeConfig(), transport }), { group: '', version: 'v1', plural: 'configmaps' })
    const events: Array<WatchEvent<unknown>> = []
    for await (const ev of await lw.watch({ resourceVersion: '10', timeoutSeconds: 300, signal: new AbortController().signal })) events.push(ev)
    expect(events.map(e => e.type)).toEqual(['ADDED', 'BOOKMARK', 'ERROR'])
    expect(events[1]).toEqual({ type: 'BOOKMARK', resourceVersion: '12' })
    const err = events[2]
    expect(err?.type === 'ERROR' && isGone(KubeApiError.fromStatus(err.status, 500))).toBe(true)
    const url = seen[0]!.url
    expect(url).toContain('watch=true')
    expect(url).toContain('resourceVersion=10')
    expect(url).toContain('allowWatchBookmarks=true')
    expect(url).toContain('timeoutSeconds=300')
  })

  it('a torn line fails the watch instead of silently dropping an event', async () => {
    const { transport } = scripted(() => ({ status: 200, chunks: ['{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MODI'] }))
    const lw = createKubeListWatch(new KubeClient({ kubeConfig: fakeKubeConfig(), transport }), { group: '', version: 'v1', plural: 'configmaps' })
    const got: string[] = []
    const run = async (): Promise<void> => { for await (const ev of await lw.watch({ resourceVersion: '1', timeoutSeconds: 5, signal: new AbortController().signal })) got.push(ev.type) }
    await expect(run()).rejects.toBeInstanceOf(KubeApiError)
    expect(got).toEqual(['ADDED'])
  })
})

describe('error helpers', () => {
  it('normalise client-node ApiException (typed clients) into KubeApiError', () => {
    const ex = new ApiException(409, 'HTTP-Code: 409 ...', JSON.stringify({ kind: 'Status', reason: 'AlreadyExists', message: 'already exists', code: 409 }), {})
    const k = toKubeApiError(ex) as KubeApiError
    expect(k).toBeInstanceOf(KubeApiError)
    expect(k.status).toBe(409)
    expect(k.apiMessage).toBe('already exists')
    expect(isConflict(ex)).toBe(true)
    expect(isAlreadyExists(ex)).toBe(true)
    expect(isNotFound(new Error('x'))).toBe(false)
    expect(isRetryable(new KubeApiError({ status: 429 }))).toBe(true)
    expect(isRetryable(new KubeApiError({ status: 422 }))).toBe(false)
  })
})
