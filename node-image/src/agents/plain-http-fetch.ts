/**
 * The `fetch` a remote agent's MCP transport uses. Over plain `http:` it sends the
 * request with `node:http` on a keep-alive pool: per call that costs about two thirds
 * of the CPU of undici's `fetch` (the SDK client and `fetch` are most of what a call
 * to a remote agent costs its host). Anything this path does not do the same way as
 * `fetch` goes to `fetch`: `https:`, redirects followed by the fetcher (the SDK follows
 * them itself with `redirect: 'manual'`), and bodies other than a string.
 *
 * What stays as `fetch` does it: a network failure rejects with `TypeError('fetch failed')`
 * and the cause; an abort rejects (and errors the body) with the signal's reason; a
 * compressed body is decoded; a string body without a content type is text/plain.
 */
import { Agent, request, type IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import type { FetchLike } from '@modelcontextprotocol/client'

/** Free sockets close after 4 s, or a second before the server's `Keep-Alive: timeout`, as undici's pool does: reusing one the server is closing fails the request. */
const KEEP_ALIVE_MS = 4_000

/** Statuses whose response has no body, as the fetch standard lists them. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

const sharedAgent = new Agent({ keepAlive: true, timeout: KEEP_ALIVE_MS })

export interface PlainHttpFetchInit {
  /** The connection pool; one shared by every transport unless a test brings its own. */
  agent?: Agent
  /** Where anything off the plain-http path goes. */
  fallback?: FetchLike
}

export function plainHttpFetch (init: PlainHttpFetchInit = {}): FetchLike {
  const agent = init.agent ?? sharedAgent
  const fallback = init.fallback ?? fetch
  return async (url, requestInit) => {
    const target = new URL(url)
    const body = requestInit?.body
    if (target.protocol !== 'http:' || requestInit?.redirect !== 'manual' || !(body === undefined || body === null || typeof body === 'string')) {
      return await fallback(url, requestInit)
    }
    return await send(target, requestInit, body ?? undefined, agent)
  }
}

async function send (target: URL, init: RequestInit, body: string | undefined, agent: Agent): Promise<Response> {
  const signal = init.signal ?? undefined
  signal?.throwIfAborted()
  const method = (init.method ?? 'GET').toUpperCase()
  const headers = requestHeaders(init.headers, body)
  return await new Promise<Response>((resolve, reject) => {
    let response: IncomingMessage | undefined
    const onAbort = (): void => {
      const error = abortReason(signal)
      req.destroy(error)
      response?.destroy(error)
    }
    const req = request(target, { method, headers, agent }, (res) => {
      response = res
      res.once('close', () => signal?.removeEventListener('abort', onAbort))
      try {
        resolve(toResponse(res, method))
      } catch (err) {
        res.destroy()
        reject(new TypeError('fetch failed', { cause: err }))
      }
    })
    req.once('error', (err) => {
      signal?.removeEventListener('abort', onAbort)
      reject(signal?.aborted === true ? abortReason(signal) : new TypeError('fetch failed', { cause: err }))
    })
    signal?.addEventListener('abort', onAbort, { once: true })
    req.end(body)
  })
}

function abortReason (signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError')
}

function requestHeaders (init: RequestInit['headers'], body: string | undefined): Partial<Record<string, string>> {
  const headers: Partial<Record<string, string>> = {}
  new Headers(init).forEach((value, name) => { headers[name] = value })
  headers['user-agent'] ??= 'node'
  headers.accept ??= '*/*'
  if (body !== undefined) headers['content-type'] ??= 'text/plain;charset=UTF-8'
  return headers
}

function toResponse (res: IncomingMessage, method: string): Response {
  const status = res.statusCode ?? 0
  const headers = new Headers()
  const raw = res.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string)
  const init = { status, statusText: res.statusMessage ?? '', headers }
  if (NULL_BODY_STATUSES.has(status) || method === 'HEAD') {
    res.resume()
    return new Response(null, init)
  }
  return new Response(Readable.toWeb(decoded(res)) as ReadableStream<Uint8Array>, init)
}

/** The body with its content coding removed, as `fetch` does; a coding we do not know stays as sent. */
function decoded (res: IncomingMessage): Readable {
  const coding = (res.headers['content-encoding'] ?? '').trim().toLowerCase()
  const decoder = coding === 'gzip' || coding === 'x-gzip'
    ? createGunzip()
    : coding === 'deflate' ? createInflate() : coding === 'br' ? createBrotliDecompress() : undefined
  if (decoder === undefined) return res
  res.once('error', (err) => decoder.destroy(err))
  decoder.once('close', () => { if (!res.complete) res.destroy() })
  return res.pipe(decoder)
}
