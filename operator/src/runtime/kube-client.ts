// The operator's way into the apiserver: a KubeConfig (from --kubeconfig, KUBECONFIG, the
// in-cluster service account, or ~/.kube/config) and a small generic JSON/stream client: any
// group/version/plural (our CRDs), `/status` server-side apply, watches with full control over
// the stream, and per-request AbortSignal + deadline on every call.
//
// No @kubernetes/client-node at run time (its import alone costs more than the operator's
// memory goal): the kubeconfig is read by ./kubeconfig.ts and requests ride on node:https
// (./https-transport.ts). client-node's own KubeConfig still fits where one is passed in (tests).
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { RequestOptions } from 'node:https'
import type { KubernetesObject } from '@kubernetes/client-node'
import {
  KubeApiError, KubeTransportError, KubeTimeoutError, UnknownResourceError, abortReason, isAborted, type KubeStatus
} from './errors.ts'
import { HttpsTransport, type HttpResponse, type HttpTransport, type TlsMaterial } from './https-transport.ts'
import { KubeConfig } from './kubeconfig.ts'

export type { HttpTransport, HttpRequest, HttpResponse } from './https-transport.ts'

// ---------------------------------------------------------------------------------------
// KubeConfig

export class KubeConfigNotFoundError extends Error {
  override name = 'KubeConfigNotFoundError'
}

export interface LoadKubeConfigInit {
  /** Explicit kubeconfig path (e.g. a --kubeconfig flag); wins over everything else. */
  kubeconfigPath?: string
  /** Context to use instead of the file's current-context. */
  context?: string
  /** Environment that decides which source is used (KUBECONFIG, KUBERNETES_SERVICE_HOST); default process.env. */
  env?: Record<string, string | undefined>
  /** Root of the service-account files (tests); default '' (i.e. /var/run/secrets/...). */
  inClusterPathPrefix?: string
}

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token'

/**
 * Order (as controller-runtime): explicit path, $KUBECONFIG (colon-separated list, merged),
 * in-cluster service account, ~/.kube/config. Unlike KubeConfig.loadFromDefault, never falls
 * back to http://localhost:8080: an operator that cannot find its cluster must say so.
 */
export function loadKubeConfig (init: LoadKubeConfigInit = {}): KubeConfig {
  const env = init.env ?? process.env
  const kc = new KubeConfig()
  const envPath = env.KUBECONFIG
  if (init.kubeconfigPath !== undefined && init.kubeconfigPath !== '') {
    kc.loadFromFile(init.kubeconfigPath)
  } else if (envPath !== undefined && envPath !== '') {
    // As kubectl: entries that do not exist are skipped; the first one that does sets the context.
    const files = envPath.split(':').filter(f => f !== '' && existsSync(f))
    const [first, ...rest] = files
    if (first === undefined) throw new KubeConfigNotFoundError(`none of the files in KUBECONFIG exist (${envPath})`)
    kc.loadFromFile(first)
    for (const f of rest) kc.loadFromFile(f)
  } else if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(`${init.inClusterPathPrefix ?? ''}${SA_TOKEN}`)) {
    kc.loadFromCluster(env, init.inClusterPathPrefix)
  } else if (existsSync(join(homedir(), '.kube', 'config'))) {
    kc.loadFromFile(join(homedir(), '.kube', 'config'))
  } else {
    throw new KubeConfigNotFoundError('no kubeconfig: pass --kubeconfig, set KUBECONFIG, run in a pod with a service account, or create ~/.kube/config')
  }
  if (init.context !== undefined) kc.setCurrentContext(init.context)
  if (kc.getCurrentCluster() === null) throw new KubeConfigNotFoundError(`kubeconfig has no cluster for context '${kc.getCurrentContext()}'`)
  return kc
}

// ---------------------------------------------------------------------------------------
// resources and keys

/** Identifies a resource collection: group ('' for core), version, plural. */
export interface ResourceRef {
  group: string
  version: string
  plural: string
  /** Kind of the objects (for logs and for building objects); optional. */
  kind?: string
  /** Default true. Cluster-scoped resources (Namespaces, Nodes, CRDs) set false. */
  namespaced?: boolean
}

export function apiVersionOf (ref: Pick<ResourceRef, 'group' | 'version'>): string {
  return ref.group === '' ? ref.version : `${ref.group}/${ref.version}`
}

export function parseApiVersion (apiVersion: string): { group: string, version: string } {
  const i = apiVersion.indexOf('/')
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) }
}

/** URL path for a collection, an object, or an object's subresource (`status`, `scale`). */
export function resourcePath (ref: ResourceRef, at: { namespace?: string, name?: string, subresource?: string } = {}): string {
  const root = ref.group === '' ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`
  const nsPart = ref.namespaced !== false && at.namespace !== undefined && at.namespace !== ''
    ? `/namespaces/${encodeURIComponent(at.namespace)}`
    : ''
  let p = `${root}${nsPart}/${ref.plural}`
  if (at.name !== undefined) {
    p += `/${encodeURIComponent(at.name)}`
    if (at.subresource !== undefined) p += `/${at.subresource}`
  } else if (at.subresource !== undefined) {
    throw new TypeError(`subresource '${at.subresource}' needs an object name`)
  }
  return p
}

/** Cache and queue key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey (obj: KubernetesObject): string {
  const name = obj.metadata?.name
  if (name === undefined || name === '') throw new TypeError('object has no metadata.name')
  const ns = obj.metadata?.namespace
  return ns !== undefined && ns !== '' ? `${ns}/${name}` : name
}

export function keyOf (namespace: string | undefined, name: string): string {
  return namespace !== undefined && namespace !== '' ? `${namespace}/${name}` : name
}

export function splitKey (key: string): { namespace?: string, name: string } {
  const i = key.indexOf('/')
  return i < 0 ? { name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) }
}

// ---------------------------------------------------------------------------------------
// generic client

export type QueryValue = string | number | boolean | undefined
export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Path below the server URL, e.g. from resourcePath(). */
  path: string
  query?: Record<string, QueryValue>
  /** JSON-serialised unless already a string. */
  body?: unknown
  /** Default application/json (when there is a body). */
  contentType?: string
  signal?: AbortSignal
  /**
   * Deadline for the whole request (for `stream`: until the response headers arrive).
   * Default: the client's `requestTimeoutMs`.
   */
  timeoutMs?: number
}

/**
 * What KubeClient needs of a kubeconfig: the names and shapes of client-node's KubeConfig, so
 * either that or ours (./kubeconfig.ts) fits.
 */
export interface KubeAccess {
  getCurrentCluster: () => { server: string } | null
  getCurrentContext: () => string
  getContextObject: (name: string) => { namespace?: string } | null
  /** Sets TLS material and `headers.Authorization` for the next request. */
  applyToHTTPSOptions: (opts: RequestOptions) => Promise<void>
}

export interface KubeClientInit {
  kubeConfig: KubeAccess
  /** Default per-request deadline; default 30 s. */
  requestTimeoutMs?: number
  userAgent?: string
  transport?: HttpTransport
}

export interface WatchLineStream {
  /** Raw lines of the response (one JSON watch event each); ends when the server closes the stream. */
  lines: AsyncIterable<string>
}

interface ApiResourceList { resources?: Array<{ name: string, kind: string, namespaced: boolean }> }

export class KubeClient {
  readonly kubeConfig: KubeAccess
  readonly server: string
  readonly requestTimeoutMs: number
  private readonly userAgent: string
  private readonly transport: HttpTransport
  private readonly discovery = new Map<string, Promise<ApiResourceList>>()

  constructor (init: KubeClientInit) {
    this.kubeConfig = init.kubeConfig
    const cluster = init.kubeConfig.getCurrentCluster()
    if (cluster === null) throw new KubeConfigNotFoundError('kubeconfig has no current cluster')
    this.server = cluster.server.replace(/\/+$/, '')
    this.requestTimeoutMs = init.requestTimeoutMs ?? 30_000
    this.userAgent = init.userAgent ?? 'dawn-operator'
    this.transport = init.transport ?? new HttpsTransport()
  }

  /** Closes idle keep-alive connections (in-flight requests and watches are ended by their signals). */
  close (): void {
    this.transport.close?.()
  }

  /** Namespace of the current context (in-cluster: the pod's namespace), or 'default'. */
  get defaultNamespace (): string {
    const ctx = this.kubeConfig.getContextObject(this.kubeConfig.getCurrentContext())
    return ctx?.namespace ?? 'default'
  }

  /** A JSON request; resolves with the parsed body (undefined for an empty body). */
  async request<T = unknown> (req: KubeRequest): Promise<T> {
    const { res, done, timedOut } = await this.send(req, true)
    try {
      const text = await readText(res)
      return (text === '' ? undefined : JSON.parse(text)) as T
    } catch (e) {
      // The deadline cut the body off (node:http says only "aborted").
      if (timedOut() && req.signal?.aborted !== true) throw new KubeTimeoutError(`${req.method} ${req.path}`, req.timeoutMs ?? this.requestTimeoutMs)
      throw this.wrapFailure(req, e)
    } finally {
      done()
    }
  }

  /**
   * A streaming GET (watch). The request deadline covers only the wait for the response
   * headers; the stream then lives until the server ends it or `req.signal` aborts, at which
   * point iterating `lines` throws the signal's reason.
   */
  async stream (req: KubeRequest): Promise<WatchLineStream> {
    const { res, done, release } = await this.send(req, false)
    done()
    return { lines: splitLines(res.body, req.signal, release) }
  }

  /**
   * Maps apiVersion + kind to its resource via the discovery API (cached per group-version; a
   * miss is re-fetched once, since a CRD may have been installed since).
   */
  async resourceFor (apiVersion: string, kind: string, signal?: AbortSignal): Promise<ResourceRef> {
    const { group, version } = parseApiVersion(apiVersion)
    const find = (list: ApiResourceList): ResourceRef | undefined => {
      const r = list.resources?.find(x => x.kind === kind && !x.name.includes('/'))
      return r === undefined ? undefined : { group, version, plural: r.name, kind, namespaced: r.namespaced }
    }
    const cached = this.discovery.get(apiVersion)
    if (cached !== undefined) {
      const hit = find(await cached.catch(() => ({})))
      if (hit !== undefined) return hit
    }
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`
    const p = this.request<ApiResourceList>({ method: 'GET', path, ...(signal !== undefined ? { signal } : {}) })
    this.discovery.set(apiVersion, p)
    let list: ApiResourceList
    try {
      list = await p
    } catch (e) {
      this.discovery.delete(apiVersion)
      throw new UnknownResourceError(apiVersion, kind, e instanceof Error ? e.message : String(e))
    }
    const hit = find(list)
    if (hit === undefined) throw new UnknownResourceError(apiVersion, kind)
    return hit
  }

  // -------------------------------------------------------------------------------------

  private url (req: KubeRequest): string {
    const u = new URL(this.server + req.path)
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v))
    return u.toString()
  }

  /**
   * Sends a request and returns a 2xx response (throws KubeApiError for any other). `done`
   * clears the deadline timer; with `wholeBody` the deadline also covers reading the body.
   */
  private async send (req: KubeRequest, wholeBody: boolean): Promise<{ res: HttpResponse, done: () => void, release: () => void, timedOut: () => boolean }> {
    const outer = req.signal
    if (outer?.aborted === true) throw abortReason(outer)
    const timeoutMs = req.timeoutMs ?? this.requestTimeoutMs
    const ac = new AbortController()
    const onOuterAbort = (): void => { ac.abort(outer?.reason) }
    outer?.addEventListener('abort', onOuterAbort, { once: true })
    // An object, not a `let`: TypeScript cannot see the timer callback assign it.
    const deadline = { hit: false }
    const timer = setTimeout(() => {
      deadline.hit = true
      ac.abort(new KubeTimeoutError(`${req.method} ${req.path}`, timeoutMs))
    }, timeoutMs)
    // Once headers are in, a stream is governed by the caller's signal alone: unhook the
    // deadline but keep forwarding the caller's abort.
    const release = (): void => { outer?.removeEventListener('abort', onOuterAbort) }
    const done = (): void => {
      clearTimeout(timer)
      if (wholeBody) release()
    }

    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': this.userAgent }
    let body: string | undefined
    if (req.body !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json'
      body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body)
    }

    let res: HttpResponse
    try {
      const opts: RequestOptions = { headers }
      await this.kubeConfig.applyToHTTPSOptions(opts)
      // Auth may have taken a while (exec plugins): do not send what is already cancelled.
      ac.signal.throwIfAborted()
      const tls: TlsMaterial = {}
      for (const k of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const) if (opts[k] !== undefined) Object.assign(tls, { [k]: opts[k] })
      res = await this.transport.send({ method: req.method, url: this.url(req), headers: { ...(opts.headers as Record<string, string>) }, ...(body === undefined ? {} : { body }), tls, signal: ac.signal })
    } catch (e) {
      clearTimeout(timer)
      outer?.removeEventListener('abort', onOuterAbort)
      // (re-read: the signal may have fired while we awaited)
      if (outer !== undefined && isAborted(outer)) throw abortReason(outer)
      if (deadline.hit) throw new KubeTimeoutError(`${req.method} ${req.path}`, timeoutMs)
      throw new KubeTransportError(req.method, req.path, rootCause(e))
    }
    if (res.status < 200 || res.status > 299) {
      let text = ''
      try { text = await readText(res) } catch { /* keep the status line */ }
      clearTimeout(timer)
      outer?.removeEventListener('abort', onOuterAbort)
      throw decodeFailure(res.status, text, req.method, req.path)
    }
    if (deadline.hit) {
      outer?.removeEventListener('abort', onOuterAbort)
      throw new KubeTimeoutError(`${req.method} ${req.path}`, timeoutMs)
    }
    return { res, done, release, timedOut: () => deadline.hit }
  }

  private wrapFailure (req: KubeRequest, e: unknown): Error {
    if (req.signal?.aborted === true) return abortReason(req.signal)
    if (e instanceof KubeTimeoutError) return e
    if (e instanceof SyntaxError) return new KubeTransportError(req.method, req.path, new Error(`invalid JSON in response: ${e.message}`))
    const cause = rootCause(e)
    if (cause instanceof KubeTimeoutError) return cause
    return new KubeTransportError(req.method, req.path, cause)
  }
}

export function createKubeClient (init: Partial<KubeClientInit> & LoadKubeConfigInit = {}): KubeClient {
  const kubeConfig = init.kubeConfig ?? loadKubeConfig(init)
  return new KubeClient({ ...init, kubeConfig })
}

/** A fetch-style `TypeError: fetch failed` carries the useful part (ECONNREFUSED, ...) in `cause`. */
function rootCause (e: unknown): unknown {
  let cur = e
  for (let i = 0; i < 4; i++) {
    if (cur instanceof Error && cur.message === 'fetch failed' && cur.cause !== undefined) cur = cur.cause
    else break
  }
  return cur
}

export function decodeFailure (httpStatus: number, text: string, method?: string, path?: string): KubeApiError {
  let status: KubeStatus | undefined
  try {
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && (parsed as { kind?: unknown }).kind === 'Status') status = parsed
  } catch { /* not JSON */ }
  const where = { ...(method !== undefined ? { method } : {}), ...(path !== undefined ? { path } : {}) }
  if (status !== undefined) return KubeApiError.fromStatus({ ...status, code: httpStatus }, httpStatus, where)
  return new KubeApiError({ status: httpStatus, message: text.slice(0, 500), ...where })
}

/** The whole body as UTF-8 text. */
async function readText (res: HttpResponse): Promise<string> {
  const chunks: Uint8Array[] = []
  for await (const c of res.body) chunks.push(c)
  return Buffer.concat(chunks).toString('utf8')
}

/** Splits a byte stream into lines (UTF-8 safe across chunk boundaries). */
async function * splitLines (body: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined, release: () => void): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  const it = body[Symbol.asyncIterator]()
  let buf = ''
  try {
    for (;;) {
      let r: IteratorResult<Uint8Array>
      try {
        r = await it.next()
      } catch (e) {
        if (signal?.aborted === true) throw abortReason(signal)
        throw e
      }
      if (r.done === true) break
      buf += decoder.decode(r.value, { stream: true })
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim()
        buf = buf.slice(nl + 1)
        if (line !== '') yield line
      }
    }
    buf += decoder.decode()
    if (buf.trim() !== '') yield buf.trim()
  } finally {
    // Also runs when the consumer stops early (break/return): close the response.
    await it.return?.().catch(() => {})
    release()
  }
}
