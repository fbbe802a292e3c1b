// JSON over the node's /api/v1, with the token when one is set. A 401 asks the page for
// the token (app.js shows the dialog) and rejects with AuthRequiredError.
import { loadToken } from '../state/token.js'

export class ApiError extends Error {
  constructor (status, message, code) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
  }
}

export class AuthRequiredError extends ApiError {
  constructor () {
    super(401, 'this node needs its API token', 'Unauthorized')
    this.name = 'AuthRequiredError'
  }
}

const authListeners = new Set()
/** Called when a request was refused for want of the token. */
export function onAuthRequired (fn) {
  authListeners.add(fn)
  return () => authListeners.delete(fn)
}
export function reportAuthRequired () {
  for (const fn of authListeners) fn()
}

export function authHeaders () {
  const token = loadToken()
  return token === undefined ? {} : { authorization: `Bearer ${token}` }
}

/** A read that hangs would leave its snapshot empty with no error to retry on. */
const READ_TIMEOUT_MS = 20_000

export async function api (path, { method = 'GET', body, signal, headers = {} } = {}) {
  if (signal === undefined && method === 'GET') signal = AbortSignal.timeout(READ_TIMEOUT_MS)
  const init = { method, signal, headers: { accept: 'application/json', ...authHeaders(), ...headers } }
  if (body !== undefined) {
    if (body instanceof Blob || body instanceof ArrayBuffer) init.body = body
    else {
      init.body = JSON.stringify(body)
      init.headers['content-type'] = 'application/json'
    }
  }
  const res = await fetch(path, init)
  if (res.status === 401) {
    reportAuthRequired()
    throw new AuthRequiredError()
  }
  const text = await res.text()
  let json
  try { json = text === '' ? undefined : JSON.parse(text) } catch { json = undefined }
  if (!res.ok) throw new ApiError(res.status, json?.message ?? `HTTP ${res.status}`, json?.error)
  return json
}
