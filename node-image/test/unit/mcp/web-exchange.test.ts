import { afterEach, describe, expect, it } from 'vitest'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sendWebResponse } from '../../../src/mcp/web-exchange.ts'

// sendWebResponse on a real loopback HTTP server: a plain answer goes out whole with its
// length, an SSE stream is streamed (its first event arrives while the stream is still open).

let server: Server | undefined
afterEach(async () => {
  const running = server
  server = undefined
  if (running !== undefined) await new Promise<void>(resolve => { running.close(() => { resolve() }) })
})

async function serve (respond: () => Response): Promise<string> {
  server = createServer((_req, res) => { void sendWebResponse(res, respond()) })
  await new Promise<void>(resolve => { server?.listen(0, '127.0.0.1', resolve) })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
}

describe('sendWebResponse', () => {
  it('sends a JSON answer whole, with its length and headers', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: { text: 'é'.repeat(5000) } })
    const url = await serve(() => new Response(body, { status: 200, headers: { 'content-type': 'application/json', 'mcp-session-id': 'abc' } }))
    const res = await fetch(url)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(body)))
    expect(res.headers.get('transfer-encoding')).toBeNull()
    expect(res.headers.get('mcp-session-id')).toBe('abc')
    expect(await res.text()).toBe(body)
  })

  it('sends an empty answer with its status', async () => {
    const url = await serve(() => new Response(null, { status: 202 }))
    const res = await fetch(url)
    expect(res.status).toBe(202)
    expect(await res.text()).toBe('')
  })

  it('streams an SSE answer: the first event arrives before the stream ends', async () => {
    let close: (() => void) | undefined
    const url = await serve(() => new Response(new ReadableStream<Uint8Array>({
      start (controller) {
        controller.enqueue(new TextEncoder().encode('data: first\n\n'))
        close = () => { controller.enqueue(new TextEncoder().encode('data: last\n\n')); controller.close() }
      }
    }), { headers: { 'content-type': 'text/event-stream' } }))
    const chunks: string[] = []
    const done = new Promise<void>((resolve, reject) => {
      request(url, res => {
        expect(res.headers['content-type']).toBe('text/event-stream')
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          chunks.push(chunk)
          // Only the first event was written so far; the stream is still open.
          if (chunks.length === 1) close?.()
        })
        res.on('end', () => { resolve() })
      }).on('error', reject).end()
    })
    await done
    expect(chunks[0]).toBe('data: first\n\n')
    expect(chunks.join('')).toBe('data: first\n\ndata: last\n\n')
  })
})
