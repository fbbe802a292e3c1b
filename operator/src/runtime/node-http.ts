// Reading a node's HTTP API reply: size-capped, JSON, and errors that never quote the body.
// Shared by the mesh probe and the agent probe.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Readable } from 'node:stream'
import { errorMessage } from './errors.ts'

/** A reply as the probes read it; a fetch Response fits (tests use fetch-shaped fakes). */
export interface NodeReply {
  status: number
  ok: boolean
  body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null
}

/** A GET to a node's HTTP API. */
export type NodeGet = (url: string, init: { signal: AbortSignal, headers: Record<string, string> }) => Promise<NodeReply>

/**
 * The default NodeGet, on node:http. Not fetch: the operator runs with --lite-mode, where
 * WebAssembly (and so fetch's HTTP parser) is unavailable, and fetch would also load a second
 * HTTP stack (+15 MiB RSS, measured).
 */
export const httpGet: NodeGet = async (url, init) => await new Promise<NodeReply>((resolve, reject) => {
  init.signal.throwIfAborted()
  const req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { headers: init.headers }, res => {
    const status = res.statusCode ?? 0
    res.once('close', () => { init.signal.removeEventListener('abort', onAbort) })
    resolve({ status, ok: status >= 200 && status <= 299, body: res })
  })
  // By hand, not the `signal` option: an abort must close the connection even while no reply
  // has come (a hung node), and the reply's body with it.
  const onAbort = (): void => { req.destroy(init.signal.reason instanceof Error ? init.signal.reason : new Error('aborted')) }
  init.signal.addEventListener('abort', onAbort, { once: true })
  req.once('error', (e) => { init.signal.removeEventListener('abort', onAbort); reject(e) })
  req.end()
})

/** Drops a reply's body unread. */
export async function discard (r: NodeReply): Promise<void> {
  const body = r.body
  if (body === null) return
  if ('cancel' in body) await body.cancel().catch(() => {})
  else if (body instanceof Readable) body.destroy()
  else await body[Symbol.asyncIterator]().return?.().catch(() => {})
}

/** A node's reply that could not be used; the message never quotes the body. */
export class NodeReplyError extends Error {
  override name = 'NodeReplyError'
}

/** A GET's status and JSON body, read up to `maxBytes`; a body that is not JSON is a NodeReplyError. */
export async function getNodeJson (fetchFn: NodeGet, url: string, path: string, maxBytes: number, signal: AbortSignal): Promise<{ status: number, body: unknown }> {
  const r = await fetchFn(url, { signal, headers: { accept: 'application/json' } })
  const text = await readCapped(r, maxBytes, path)
  try { return { status: r.status, body: JSON.parse(text) } } catch { throw new NodeReplyError(`GET ${path}: HTTP ${r.status}, the reply is not JSON`) }
}

/** fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND). node:http errors say it themselves. */
export function withCause (e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined
  return cause instanceof Error ? `${errorMessage(e)}: ${cause.message}` : errorMessage(e)
}

export async function readCapped (r: NodeReply, max: number, path: string): Promise<string> {
  if (r.body === null) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  // Leaving the loop early cancels the stream: the rest of an oversized reply is never read.
  for await (const value of r.body as AsyncIterable<Uint8Array>) {
    size += value.byteLength
    if (size > max) throw new NodeReplyError(`GET ${path}: the reply is larger than ${max} bytes`)
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}
