/**
 * Carries one HTTP exchange between Node's request/response and the web-standard
 * Request/Response the v2 SDK serves. Fastify has no v2 adapter; the body was already
 * read (and size-limited) by the endpoint's own parser, so it is passed in as a string.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'

/** A web Request for a request Fastify already read; `signal` aborts when the client goes away. */
export function webRequestOf (method: string, url: string, headers: IncomingHttpHeaders, body: string | undefined, signal: AbortSignal): Request {
  const web = new Headers()
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':')) continue
    web.set(name, Array.isArray(value) ? value.join(', ') : value)
  }
  // The URL only has to parse: the SDK routes on method, headers and body, never on Host.
  return new Request(new URL(url, 'http://localhost'), {
    method,
    headers: web,
    signal,
    ...(body === undefined || method === 'GET' || method === 'HEAD' ? {} : { body })
  })
}

/**
 * Writes a web Response to `res`, streaming its body; when the client goes away the body is
 * cancelled, which is how the SDK's transports learn that a stream ended.
 */
export async function sendWebResponse (res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string> = {}
  response.headers.forEach((value, name) => { headers[name] = value })
  if (response.body === null) {
    res.writeHead(response.status, headers)
    res.end()
    return
  }
  // A plain (non-SSE) answer is complete once the SDK returns it: send it with its length in
  // one write, rather than headers, chunks and a terminator one after another.
  if (!(headers['content-type'] ?? '').startsWith('text/event-stream')) {
    let body: Uint8Array
    try {
      body = new Uint8Array(await response.arrayBuffer())
    } catch {
      // The body failed before a byte was sent: the client gets a plain error, not a cut-off answer.
      res.writeHead(500).end()
      return
    }
    delete headers['transfer-encoding']
    headers['content-length'] = String(body.byteLength)
    res.writeHead(response.status, headers)
    res.end(body)
    return
  }
  res.writeHead(response.status, headers)
  // An SSE stream may stay silent for a while (the GET stream): the client must see its headers now.
  res.flushHeaders()
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const stop = (): void => { reader.cancel().catch(() => {}) }
  res.once('close', stop)
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      res.write(value)
    }
  } catch {
    // The stream was cancelled (client gone) or failed; what was sent stands.
  } finally {
    res.off('close', stop)
    res.end()
  }
}
