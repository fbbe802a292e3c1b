import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { extname, join, relative, sep } from 'node:path'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { registerAppSandboxRoutes } from './app-sandbox-routes.ts'
import { UI_DIR } from './ui-dir.ts'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml'
}
// Bundler inputs and the build module are sources, not assets; apps/ has its own routes and policy.
const NOT_SERVED = new Set(['vendor-entries', 'vendor-build.ts', 'apps'])

/**
 * Same origin only, no inline script or style, and every HTML sink behind the one
 * Trusted Types policy (render/markdown.js's DOMPurify): text from the registry, tool
 * results and chat messages cannot become markup the browser runs. `blob:` serves
 * images, audio and previews the page made from bytes it fetched itself.
 */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' data: blob:",
  "frame-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "require-trusted-types-for 'script'",
  // DOMPurify parses through its own pass-through policy before it sanitizes.
  'trusted-types dawn-markdown dompurify'
].join('; ')

interface Asset { type: string, body: Buffer, etag: string }

function walk (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    if (NOT_SERVED.has(name)) return []
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return walk(path)
    return extname(name) in TYPES ? [path] : []
  })
}

/** Reads every UI file once at start: a fixed allow-list, so no request names a path on disk. */
function loadAssets (): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const path of walk(UI_DIR)) {
    const body = readFileSync(path)
    const name = relative(UI_DIR, path).split(sep).join('/')
    assets.set(name, { type: TYPES[extname(path)] ?? 'application/octet-stream', body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  return assets
}

function send (reply: FastifyReply, asset: Asset, ifNoneMatch: string | undefined): FastifyReply {
  void reply.header('content-security-policy', PAGE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-cache')
    .header('etag', asset.etag)
  if (ifNoneMatch === asset.etag) return reply.status(304).send()
  return reply.header('content-type', asset.type).send(asset.body)
}

/** Serves the chat UI: `/` is the page, `/ui/<path>` its modules, styles and vendor bundles. */
export function registerUiRoutes (app: FastifyInstance): void {
  const assets = loadAssets()
  const index = assets.get('index.html')
  if (index === undefined) throw new Error(`missing UI asset index.html in ${UI_DIR}`)
  app.get('/', (req, reply) => send(reply, index, req.headers['if-none-match']))
  app.get('/ui/*', (req, reply) => {
    const name = (req.params as { '*': string })['*']
    const asset = assets.get(name)
    if (asset === undefined) return reply.status(404).send({ statusCode: 404, error: 'Not Found', message: `no UI file ${name}` })
    return send(reply, asset, req.headers['if-none-match'])
  })
  registerAppSandboxRoutes(app)
}
