// The operator's own kubeconfig reader. @kubernetes/client-node's KubeConfig drags in its whole
// generated client, its own undici and a WebSocket stack (+36 MiB RSS on import, measured), for
// what is a YAML file and a few auth schemes. This reads the same files with kubectl's rules:
// clusters, users and contexts by name; paths relative to the file; KUBECONFIG lists merged,
// first file wins. Auth: client certificate, token, token file, basic, exec plugin
// (client.authentication.k8s.io ExecCredential); the legacy `auth-provider` is refused clearly.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { RequestOptions } from 'node:https'
import { dirname, isAbsolute, join } from 'node:path'
import { Type, type Static, type TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { parse as parseYaml } from 'yaml'

export class KubeConfigInvalidError extends Error {
  override name = 'KubeConfigInvalidError'
}

const Exec = Type.Object({
  command: Type.String(),
  args: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
  env: Type.Optional(Type.Union([Type.Array(Type.Object({ name: Type.String(), value: Type.String() })), Type.Null()])),
  apiVersion: Type.Optional(Type.String())
})
const Cluster = Type.Object({
  server: Type.String(),
  'certificate-authority': Type.Optional(Type.String()),
  'certificate-authority-data': Type.Optional(Type.String()),
  'insecure-skip-tls-verify': Type.Optional(Type.Boolean()),
  'tls-server-name': Type.Optional(Type.String()),
  'proxy-url': Type.Optional(Type.String())
})
const User = Type.Object({
  'client-certificate': Type.Optional(Type.String()),
  'client-certificate-data': Type.Optional(Type.String()),
  'client-key': Type.Optional(Type.String()),
  'client-key-data': Type.Optional(Type.String()),
  token: Type.Optional(Type.String()),
  tokenFile: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  exec: Type.Optional(Exec),
  'auth-provider': Type.Optional(Type.Object({ name: Type.String() }))
})
const Context = Type.Object({ cluster: Type.String(), user: Type.Optional(Type.String()), namespace: Type.Optional(Type.String()) })
const list = <T extends TSchema>(item: T) => Type.Optional(Type.Union([Type.Array(item), Type.Null()]))
const KubeConfigFile = Type.Object({
  clusters: list(Type.Object({ name: Type.String(), cluster: Cluster })),
  users: list(Type.Object({ name: Type.String(), user: User })),
  contexts: list(Type.Object({ name: Type.String(), context: Context })),
  'current-context': Type.Optional(Type.String())
})
const checkFile = Compile(KubeConfigFile)

export type ClusterEntry = Static<typeof Cluster> & { name: string }
type UserEntry = Static<typeof User>
type ContextEntry = Static<typeof Context>

/** Where relative paths of one entry resolve: the directory of the file it came from. */
interface Sourced<T> { value: T, dir: string }

const ExecCredential = Type.Object({
  status: Type.Object({
    token: Type.Optional(Type.String()),
    clientCertificateData: Type.Optional(Type.String()),
    clientKeyData: Type.Optional(Type.String()),
    expirationTimestamp: Type.Optional(Type.String())
  })
})
const checkCredential = Compile(ExecCredential)

/** A loaded kubeconfig; the methods KubeClient uses have client-node's names and shapes. */
export class KubeConfig {
  private readonly clusters = new Map<string, Sourced<ClusterEntry>>()
  private readonly users = new Map<string, Sourced<UserEntry>>()
  private readonly contexts = new Map<string, ContextEntry>()
  private currentContext = ''
  private execCache: { token?: string, cert?: string, key?: string, expiresAt: number } | undefined

  /** Adds a file's entries; names already known keep their first definition (kubectl's merge). */
  loadFromFile (path: string): void {
    this.loadFromString(readFileSync(path, 'utf8'), dirname(path), path)
  }

  loadFromString (text: string, dir = process.cwd(), what = 'kubeconfig'): void {
    let doc: unknown
    try { doc = parseYaml(text) } catch (e) { throw new KubeConfigInvalidError(`${what}: not YAML (${e instanceof Error ? e.message.split('\n')[0] ?? '' : ''})`) }
    // Never quote the document in the error: it may hold tokens and keys.
    if (!checkFile.Check(doc)) {
      const paths = [...checkFile.Errors(doc)].slice(0, 3).map(e => e.instancePath || '(root)')
      throw new KubeConfigInvalidError(`${what}: not a kubeconfig (fields ${paths.join(', ')})`)
    }
    for (const c of doc.clusters ?? []) if (!this.clusters.has(c.name)) this.clusters.set(c.name, { value: { ...c.cluster, name: c.name }, dir })
    for (const u of doc.users ?? []) if (!this.users.has(u.name)) this.users.set(u.name, { value: u.user, dir })
    for (const c of doc.contexts ?? []) if (!this.contexts.has(c.name)) this.contexts.set(c.name, c.context)
    if (this.currentContext === '' && doc['current-context'] !== undefined) this.currentContext = doc['current-context']
  }

  /** The pod's service account (KUBERNETES_SERVICE_HOST/PORT and the mounted token and CA). */
  loadFromCluster (env: Record<string, string | undefined>, prefix = ''): void {
    const sa = `${prefix}/var/run/secrets/kubernetes.io/serviceaccount`
    const host = env.KUBERNETES_SERVICE_HOST ?? ''
    const server = `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`
    let namespace: string | undefined
    try { namespace = readFileSync(`${sa}/namespace`, 'utf8').trim() } catch { /* optional */ }
    this.clusters.set('in-cluster', { value: { name: 'in-cluster', server, 'certificate-authority': `${sa}/ca.crt` }, dir: '/' })
    this.users.set('in-cluster', { value: { tokenFile: `${sa}/token` }, dir: '/' })
    this.contexts.set('in-cluster', { cluster: 'in-cluster', user: 'in-cluster', ...(namespace === undefined ? {} : { namespace }) })
    this.currentContext = 'in-cluster'
  }

  getCurrentContext (): string { return this.currentContext }

  setCurrentContext (name: string): void {
    if (!this.contexts.has(name)) throw new KubeConfigInvalidError(`no context named '${name}'`)
    this.currentContext = name
    this.execCache = undefined
  }

  getContextObject (name: string): ContextEntry | null { return this.contexts.get(name) ?? null }

  getCurrentCluster (): ClusterEntry | null {
    const ctx = this.contexts.get(this.currentContext)
    return ctx === undefined ? null : (this.clusters.get(ctx.cluster)?.value ?? null)
  }

  /** TLS material and the Authorization header for the next request (token files and exec credentials refreshed). */
  async applyToHTTPSOptions (opts: RequestOptions): Promise<void> {
    const ctx = this.contexts.get(this.currentContext)
    const cluster = ctx === undefined ? undefined : this.clusters.get(ctx.cluster)
    if (ctx === undefined || cluster === undefined) throw new KubeConfigInvalidError(`context '${this.currentContext}' has no cluster`)
    const c = cluster.value
    if (c['proxy-url'] !== undefined) throw new KubeConfigInvalidError(`cluster '${c.name}': proxy-url is not supported`)
    if (c['insecure-skip-tls-verify'] === true) opts.rejectUnauthorized = false
    const ca = data(c['certificate-authority-data'], c['certificate-authority'], cluster.dir)
    if (ca !== undefined) opts.ca = ca
    if (c['tls-server-name'] !== undefined) opts.servername = c['tls-server-name']
    const user = ctx.user === undefined ? undefined : this.users.get(ctx.user)
    if (user === undefined) return
    const u = user.value
    if (u['auth-provider'] !== undefined) throw new KubeConfigInvalidError(`user '${ctx.user ?? ''}': auth-provider '${u['auth-provider'].name}' is not supported; use an exec credential plugin`)
    const cert = data(u['client-certificate-data'], u['client-certificate'], user.dir)
    const key = data(u['client-key-data'], u['client-key'], user.dir)
    if (cert !== undefined) opts.cert = cert
    if (key !== undefined) opts.key = key
    const headers = (opts.headers ??= {}) as Record<string, string>
    if (u.exec !== undefined) {
      const cred = await this.execCredential(u.exec, user.dir)
      if (cred.token !== undefined) headers.Authorization = `Bearer ${cred.token}`
      if (cred.cert !== undefined) opts.cert = cred.cert
      if (cred.key !== undefined) opts.key = cred.key
    } else if (u.token !== undefined) {
      headers.Authorization = `Bearer ${u.token}`
    } else if (u.tokenFile !== undefined) {
      // Re-read every time: projected service-account tokens rotate.
      headers.Authorization = `Bearer ${readFileSync(resolvePath(u.tokenFile, user.dir), 'utf8').trim()}`
    } else if (u.username !== undefined) {
      headers.Authorization = `Basic ${Buffer.from(`${u.username}:${u.password ?? ''}`).toString('base64')}`
    }
  }

  private async execCredential (exec: Static<typeof Exec>, dir: string): Promise<{ token?: string, cert?: string, key?: string }> {
    if (this.execCache !== undefined && Date.now() < this.execCache.expiresAt) return this.execCache
    const env = { ...process.env }
    for (const e of exec.env ?? []) env[e.name] = e.value
    env.KUBERNETES_EXEC_INFO = JSON.stringify({ apiVersion: exec.apiVersion ?? 'client.authentication.k8s.io/v1', kind: 'ExecCredential', spec: { interactive: false } })
    const command = exec.command.includes('/') ? resolvePath(exec.command, dir) : exec.command
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(command, exec.args ?? [], { env, timeout: 60_000, maxBuffer: 1024 * 1024 }, (err, out) => {
        if (err !== null) reject(new KubeConfigInvalidError(`exec credential plugin '${exec.command}' failed: ${err.message.split('\n')[0] ?? ''}`))
        else resolve(out)
      })
    })
    let parsed: unknown
    try { parsed = JSON.parse(stdout) } catch { parsed = undefined }
    if (!checkCredential.Check(parsed)) throw new KubeConfigInvalidError(`exec credential plugin '${exec.command}' printed no ExecCredential`)
    const s = parsed.status
    const expires = s.expirationTimestamp === undefined ? Number.POSITIVE_INFINITY : Date.parse(s.expirationTimestamp)
    this.execCache = {
      ...(s.token === undefined ? {} : { token: s.token }),
      ...(s.clientCertificateData === undefined ? {} : { cert: s.clientCertificateData }),
      ...(s.clientKeyData === undefined ? {} : { key: s.clientKeyData }),
      // Refresh a little early; an unparsable timestamp means "ask every time".
      expiresAt: Number.isFinite(expires) || expires === Number.POSITIVE_INFINITY ? expires - 10_000 : 0
    }
    return this.execCache
  }
}

const resolvePath = (p: string, dir: string): string => isAbsolute(p) ? p : join(dir, p)

/** Inline base64 data wins over a file path, as in kubectl. */
function data (inline: string | undefined, file: string | undefined, dir: string): string | undefined {
  if (inline !== undefined && inline !== '') return Buffer.from(inline, 'base64').toString('utf8')
  if (file !== undefined && file !== '') return readFileSync(resolvePath(file, dir), 'utf8')
  return undefined
}
