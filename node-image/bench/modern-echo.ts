/**
 * The "direct" side of the benchmark's 2026-07-28 paths: an echo MCP server on the official
 * SDK v2's stateless handler (`createMcpHandler`), over node:http on loopback. The reference
 * servers on npm speak only 2025-11-25, so the bench brings its own.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMcpHandler, Server } from '@modelcontextprotocol/server'
import { sendWebResponse, webRequestOf } from '../src/mcp/web-exchange.ts'

export interface ModernEcho {
  url: string
  stop: () => Promise<void>
}

export async function startModernEcho (): Promise<ModernEcho> {
  const handler = createMcpHandler(() => {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- one tool, listed by hand
    const server = new Server({ name: 'bench-echo', version: '1.0.0' }, { capabilities: { tools: {} } })
    server.setRequestHandler('tools/list', () => ({ tools: [{ name: 'echo', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } }] }))
    server.setRequestHandler('tools/call', (request) => {
      const text = request.params.arguments?.text
      return { content: [{ type: 'text', text: typeof text === 'string' ? text : '' }] }
    })
    return server
  }, { legacy: 'reject' })
  const http = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      const body = chunks.length === 0 ? undefined : Buffer.concat(chunks).toString('utf8')
      await sendWebResponse(res, await handler.fetch(webRequestOf(req.method ?? 'GET', req.url ?? '/', req.headers, body, new AbortController().signal)))
    })().catch(() => { res.destroy() })
  })
  await new Promise<void>((resolve) => { http.listen(0, '127.0.0.1', resolve) })
  const { port } = http.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    stop: async () => {
      await handler.close()
      await new Promise<void>((resolve) => { http.close(() => { resolve() }) })
    }
  }
}
