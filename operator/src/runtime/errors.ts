// Named errors of the controller runtime. Callers branch on `instanceof` (or the helpers at
// the bottom), never on message text.

/** The `Status` object the apiserver returns with every failed request (and in watch ERROR events). */
export interface KubeStatus {
  kind?: string
  apiVersion?: string
  status?: string
  message?: string
  /** CamelCase machine-readable reason, e.g. `NotFound`, `AlreadyExists`, `Conflict`, `Expired`, `Gone`. */
  reason?: string
  details?: {
    name?: string
    group?: string
    kind?: string
    causes?: Array<{ reason?: string, message?: string, field?: string }>
    retryAfterSeconds?: number
  }
  code?: number
}

/** A request the apiserver answered with a non-2xx status (or a watch ERROR event carrying a Status). */
export class KubeApiError extends Error {
  override name = 'KubeApiError'
  /** HTTP status code (from the response, or the Status object's `code` for watch errors). */
  readonly status: number
  /** The Status `reason` (e.g. `NotFound`, `Conflict`, `Expired`), when the apiserver sent one. */
  readonly reason: string | undefined
  /** The apiserver's own message, unprefixed. */
  readonly apiMessage: string
  readonly method: string | undefined
  readonly path: string | undefined
  readonly details: KubeStatus['details']

  constructor (init: { status: number, reason?: string, message?: string, method?: string, path?: string, details?: KubeStatus['details'], cause?: unknown }) {
    const apiMessage = init.message ?? ''
    const where = init.method !== undefined && init.path !== undefined ? `${init.method} ${init.path}: ` : ''
    super(`${where}${init.status}${init.reason !== undefined ? ` ${init.reason}` : ''}${apiMessage !== '' ? `: ${apiMessage}` : ''}`,
      init.cause !== undefined ? { cause: init.cause } : undefined)
    this.status = init.status
    this.reason = init.reason
    this.apiMessage = apiMessage
    this.method = init.method
    this.path = init.path
    this.details = init.details
  }

  static fromStatus (status: KubeStatus, fallbackCode: number, where: { method?: string, path?: string } = {}): KubeApiError {
    return new KubeApiError({
      status: status.code ?? fallbackCode,
      ...(status.reason !== undefined ? { reason: status.reason } : {}),
      ...(status.message !== undefined ? { message: status.message } : {}),
      ...(status.details !== undefined ? { details: status.details } : {}),
      ...where
    })
  }
}

/** The request never got an HTTP answer (connection refused/reset, TLS failure, timeout). Retryable. */
export class KubeTransportError extends Error {
  override name = 'KubeTransportError'
  readonly method: string
  readonly path: string
  constructor (method: string, path: string, cause: unknown) {
    super(`${method} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    this.method = method
    this.path = path
  }
}

/** A request exceeded its own deadline (distinct from the caller aborting it). */
export class KubeTimeoutError extends Error {
  override name = 'KubeTimeoutError'
  readonly timeoutMs: number
  constructor (what: string, timeoutMs: number) {
    super(`${what}: no answer within ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}

/** A watch delivered neither an event nor a bookmark for longer than the stall timeout. */
export class WatchStalledError extends Error {
  override name = 'WatchStalledError'
  readonly idleMs: number
  constructor (idleMs: number) {
    super(`watch stalled: no event or bookmark for ${idleMs} ms`)
    this.idleMs = idleMs
  }
}

/** The operation was cancelled by its AbortSignal or because its owner is stopping. */
export class AbortError extends Error {
  override name = 'AbortError'
  readonly code = 'ABORT_ERR'
  constructor (message = 'The operation was aborted', options?: ErrorOptions) {
    super(message, options)
  }
}

/** Something that must be started first (or was stopped) was used. */
export class NotStartedError extends Error {
  override name = 'NotStartedError'
}

/** Could not map an apiVersion/kind to a resource (no discovery entry). */
export class UnknownResourceError extends Error {
  override name = 'UnknownResourceError'
  readonly apiVersion: string
  readonly kind: string
  constructor (apiVersion: string, kind: string, detail = '') {
    super(`no resource for ${kind} in ${apiVersion}${detail !== '' ? `: ${detail}` : ''}`)
    this.apiVersion = apiVersion
    this.kind = kind
  }
}

/**
 * Normalises errors from @kubernetes/client-node's typed API clients (`ApiException`, whose
 * `body` is the Status JSON as a string or object) into a KubeApiError; anything else is returned
 * unchanged. Lets controllers that use typed clients share the helpers below.
 */
export function toKubeApiError (e: unknown): unknown {
  if (e instanceof KubeApiError || !isApiException(e)) return e
  const err = e
  let status: KubeStatus = {}
  const body: unknown = err.body
  if (typeof body === 'string') {
    try { status = JSON.parse(body) as KubeStatus } catch { status = { message: body } }
  } else if (typeof body === 'object' && body !== null) {
    status = body
  }
  return new KubeApiError({
    status: err.code,
    ...(status.reason !== undefined ? { reason: status.reason } : {}),
    message: status.message ?? err.message,
    ...(status.details !== undefined ? { details: status.details } : {}),
    cause: e
  })
}

/** client-node's ApiException, recognised by shape: importing the class would load its whole client. */
function isApiException (e: unknown): e is Error & { code: number, body: unknown } {
  return e instanceof Error && e.constructor.name === 'ApiException' && typeof (e as { code?: unknown }).code === 'number' && 'body' in e
}

const statusOf = (e: unknown): number | undefined => {
  const k = toKubeApiError(e)
  return k instanceof KubeApiError ? k.status : undefined
}

export const isNotFound = (e: unknown): boolean => statusOf(e) === 404
export const isConflict = (e: unknown): boolean => statusOf(e) === 409
export const isAlreadyExists = (e: unknown): boolean => {
  const k = toKubeApiError(e)
  return k instanceof KubeApiError && k.status === 409 && k.reason === 'AlreadyExists'
}
/** 410: the resourceVersion (or list continue token) is older than what the server still has. */
export const isGone = (e: unknown): boolean => {
  const k = toKubeApiError(e)
  return k instanceof KubeApiError &&
    (k.status === 410 || k.reason === 'Expired' || k.reason === 'Gone' || /too old resource version/i.test(k.apiMessage))
}
export const isAbortError = (e: unknown): boolean =>
  e instanceof AbortError || (e instanceof Error && (e.name === 'AbortError' || (e as { code?: unknown }).code === 'ABORT_ERR'))

/** Worth retrying with backoff: transport failures, timeouts, throttling and 5xx. */
export function isRetryable (e: unknown): boolean {
  if (e instanceof KubeTransportError || e instanceof KubeTimeoutError || e instanceof WatchStalledError) return true
  const s = statusOf(e)
  return s === 429 || (s !== undefined && s >= 500)
}

/** `signal.reason` as an Error (AbortSignal reasons may be anything). */
export function abortReason (signal: AbortSignal): Error {
  const r: unknown = signal.reason
  return r instanceof Error ? r : new AbortError(typeof r === 'string' ? r : undefined)
}

export function errorMessage (e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

/**
 * `signal?.aborted === true`, as a call: TypeScript narrows a property read to `false` after an
 * early-return check and then flags later re-checks (after an await) as impossible.
 */
export function isAborted (signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}
