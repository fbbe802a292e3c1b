// A web-standard MCP handler (the SDK v2's createMcpHandler) served over node:http on
// 127.0.0.1, for the test agents. Closing the response (the client went away) aborts the
// request, which is how 2026-07-28 cancels.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sendWebResponse, webRequestOf } from '../../src/mcp/web-exchange.ts'

export interface ServedMcpHandler {
  /** `http://127.0.0.1:<port>/mcp` */
  url: string
  /** Stops the HTTP server; the handler is the caller's to close. */
  close: () => Promise<void>
}

/** Larger request bodies fail the request (a test agent needs no more). */
const MAX_BODY = 1024 * 1024

async function readBody (req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new Error('body too large')
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}

export async function serveMcpHandler (handler: { fetch: (request: Request) => Promise<Response> }, onRequest?: (req: IncomingMessage, body: string) => void): Promise<ServedMcpHandler> {
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = (await readBody(req)).toString('utf8')
    onRequest?.(req, body)
    const aborted = new AbortController()
    res.on('close', () => { aborted.abort() })
    const request = webRequestOf(req.method ?? 'GET', req.url ?? '/', req.headers, body.length === 0 ? undefined : body, aborted.signal)
    await sendWebResponse(res, await handler.fetch(request))
  }
  const http = createServer((req, res) => {
    serve(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(0, '127.0.0.1', () => { resolve() })
  })
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      http.closeAllConnections()
      await new Promise<void>((resolve) => { http.close(() => { resolve() }) })
    }
  }
}
