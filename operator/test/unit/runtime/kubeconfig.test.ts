// The operator's own kubeconfig reader: kubectl's rules for the auth schemes it supports, and
// clear refusals for the rest. (The TLS path itself runs against the real apiserver in the
// controlplane tier.)
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import type { RequestOptions } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { KubeConfig, KubeConfigInvalidError } from '../../../src/runtime/kubeconfig.ts'

const b64 = (s: string): string => Buffer.from(s).toString('base64')
const doc = (user: string, cluster = "server: 'https://k8s.invalid:6443'"): string => `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { ${cluster} } }]
users: [{ name: u, user: ${user} }]
contexts: [{ name: ctx, context: { cluster: c, user: u, namespace: team-a } }]
current-context: ctx
`
const apply = async (kc: KubeConfig): Promise<RequestOptions & { headers: Record<string, string> }> => {
  const opts: RequestOptions = {}
  await kc.applyToHTTPSOptions(opts)
  return opts as RequestOptions & { headers: Record<string, string> }
}

describe('KubeConfig (the operator\'s own)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dawn-kubeconfig-'))

  it('inline certificate data, a CA file relative to the kubeconfig, and a token', async () => {
    writeFileSync(join(dir, 'ca.pem'), 'CA-PEM')
    const file = join(dir, 'one.yaml')
    writeFileSync(file, doc(`{ client-certificate-data: ${b64('CERT')}, client-key-data: ${b64('KEY')}, token: t0k3n }`,
      "server: 'https://k8s.invalid:6443', certificate-authority: ca.pem, tls-server-name: api.internal"))
    const kc = new KubeConfig()
    kc.loadFromFile(file)
    expect(kc.getCurrentCluster()?.server).toBe('https://k8s.invalid:6443')
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('team-a')
    const o = await apply(kc)
    expect([o.ca, o.cert, o.key, o.servername, o.rejectUnauthorized]).toEqual(['CA-PEM', 'CERT', 'KEY', 'api.internal', undefined])
    expect(o.headers.Authorization).toBe('Bearer t0k3n')
  })

  it('re-reads a token file on every request (projected tokens rotate); basic auth; insecure-skip-tls-verify', async () => {
    const token = join(dir, 'token')
    writeFileSync(token, 'first\n')
    const kc = new KubeConfig()
    kc.loadFromString(doc(`{ tokenFile: ${token} }`, "server: 'https://x.invalid', insecure-skip-tls-verify: true"))
    expect((await apply(kc)).headers.Authorization).toBe('Bearer first')
    writeFileSync(token, 'second\n')
    const o = await apply(kc)
    expect(o.headers.Authorization).toBe('Bearer second')
    expect(o.rejectUnauthorized).toBe(false)
    const basic = new KubeConfig()
    basic.loadFromString(doc('{ username: admin, password: pw }'))
    expect((await apply(basic)).headers.Authorization).toBe(`Basic ${b64('admin:pw')}`)
  })

  it('runs an exec credential plugin with its env, and caches the credential until it expires', async () => {
    const plugin = join(dir, 'plugin.sh')
    const count = join(dir, 'count')
    writeFileSync(count, '')
    writeFileSync(plugin, `#!/bin/sh
echo x >> "${count}"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' "$PLUGIN_TOKEN" "$PLUGIN_EXPIRES"
`)
    chmodSync(plugin, 0o755)
    const user = (expires: string): string => `{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ./plugin.sh, env: [{ name: PLUGIN_TOKEN, value: from-plugin }, { name: PLUGIN_EXPIRES, value: '${expires}' }] } }`
    const file = join(dir, 'exec.yaml')
    writeFileSync(file, doc(user(new Date(Date.now() + 3_600_000).toISOString())))
    const kc = new KubeConfig()
    kc.loadFromFile(file)
    expect((await apply(kc)).headers.Authorization).toBe('Bearer from-plugin')
    await apply(kc)
    expect(readFileSync(count, 'utf8').split('\n').filter(Boolean)).toHaveLength(1)
    // Already expired: asked again every time.
    writeFileSync(file, doc(user(new Date(Date.now() - 1000).toISOString())))
    const expired = new KubeConfig()
    expired.loadFromFile(file)
    await apply(expired)
    await apply(expired)
    expect(readFileSync(count, 'utf8').split('\n').filter(Boolean)).toHaveLength(3)
  })

  it('KUBECONFIG merge: the first file to name a cluster, user or context wins, and sets the current context', () => {
    const a = join(dir, 'a.yaml')
    const b = join(dir, 'b.yaml')
    writeFileSync(a, doc('{ token: a }', "server: 'https://a.invalid'"))
    writeFileSync(b, doc('{ token: b }', "server: 'https://b.invalid'").replace('current-context: ctx', 'current-context: other').replace('contexts: [', 'contexts: [{ name: other, context: { cluster: c } }, '))
    const kc = new KubeConfig()
    kc.loadFromFile(a)
    kc.loadFromFile(b)
    expect(kc.getCurrentContext()).toBe('ctx')
    expect(kc.getCurrentCluster()?.server).toBe('https://a.invalid')
    kc.setCurrentContext('other')
    expect(kc.getCurrentCluster()?.server).toBe('https://a.invalid')
    expect(() => { kc.setCurrentContext('missing') }).toThrow(KubeConfigInvalidError)
  })

  it('refuses auth-provider and malformed files clearly, without quoting secrets', async () => {
    const kc = new KubeConfig()
    kc.loadFromString(doc('{ auth-provider: { name: oidc, config: { id-token: SECRET-ID-TOKEN } } }'))
    await expect(apply(kc)).rejects.toThrow(/auth-provider 'oidc' is not supported; use an exec credential plugin/)
    const bad = new KubeConfig()
    let err: unknown
    try { bad.loadFromString(doc('{ token: [SECRET-TOKEN] }')) } catch (e) { err = e }
    expect(err).toBeInstanceOf(KubeConfigInvalidError)
    expect((err as Error).message).toContain('/users/0/user/token')
    expect((err as Error).message).not.toContain('SECRET')
    expect(() => { new KubeConfig().loadFromString('a: [unclosed') }).toThrow(KubeConfigInvalidError)
  })
})
