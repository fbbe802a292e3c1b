import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'

const UI_DIR = new URL('../ui/', import.meta.url)
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8'
}
// Same-origin only: the UI needs nothing from anywhere else.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

/** Serves the web UI: three static files, read once at start. */
export function registerUiRoutes (app: FastifyInstance): void {
  const files = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(new URL(name, UI_DIR)) }]))
  const send = (name: string) => (_req: unknown, reply: { header: (k: string, v: string) => unknown, send: (b: Buffer) => unknown }) => {
    const file = files.get(name)
    if (file === undefined) throw new Error(`missing UI asset ${name}`)
    reply.header('content-type', file.type)
    reply.header('content-security-policy', CSP)
    reply.header('x-content-type-options', 'nosniff')
    reply.header('cache-control', 'no-cache')
    return reply.send(file.body)
  }
  app.get('/', send('index.html'))
  for (const name of Object.keys(ASSETS)) app.get(`/ui/${name}`, send(name))
}
