// Reading a node's HTTP API reply: size-capped, JSON, and errors that never quote the body.
// Shared by the mesh probe and the agent probe.
import { errorMessage } from './errors.ts'

/** A node's reply that could not be used; the message never quotes the body. */
export class NodeReplyError extends Error {
  override name = 'NodeReplyError'
}

/** A GET's status and JSON body, read up to `maxBytes`; a body that is not JSON is a NodeReplyError. */
export async function getNodeJson (fetchFn: typeof fetch, url: string, path: string, maxBytes: number, signal: AbortSignal): Promise<{ status: number, body: unknown }> {
  const r = await fetchFn(url, { signal, headers: { accept: 'application/json' } })
  const text = await readCapped(r, maxBytes, path)
  try { return { status: r.status, body: JSON.parse(text) } } catch { throw new NodeReplyError(`GET ${path}: HTTP ${r.status}, the reply is not JSON`) }
}

/** fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND). */
export function withCause (e: unknown): string {
  const cause = e instanceof Error ? e.cause : undefined
  return cause instanceof Error ? `${errorMessage(e)}: ${cause.message}` : errorMessage(e)
}

export async function readCapped (r: Response, max: number, path: string): Promise<string> {
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
