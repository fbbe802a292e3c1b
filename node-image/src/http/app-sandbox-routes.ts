/**
 * The MCP Apps sandbox proxy (`/ui/apps/sandbox.html`): the middle frame of the spec's
 * double iframe. The page frames it with `sandbox="allow-scripts"`, and its own CSP says
 * `sandbox allow-scripts` too, so it runs in an opaque origin however it is opened: never
 * with the node page's origin, its storage (the token) or its DOM. The app's HTML runs one
 * level further in, as a sandboxed `srcdoc` frame, which inherits this response's policy.
 * The policy is built per request from the domains the app's resource declared
 * (`_meta.ui.csp`, passed as `?csp=<json>`): only plain origins pass, so a quote, a `;` or
 * a space cannot add a directive or a keyword.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Type from 'typebox'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { UI_DIR } from './ui-dir.ts'

const APPS_DIR = join(UI_DIR, 'apps/')

/** A scheme, a host (optionally `*.`-wildcarded) and a port: nothing a CSP could read as more. */
const ORIGIN_SOURCE = /^(https?|wss?):\/\/(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?$/i
const MAX_SOURCES = 16
const MAX_CSP_QUERY = 4096

export interface DeclaredAppCsp {
  connectDomains: string[]
  resourceDomains: string[]
  frameDomains: string[]
  baseUriDomains: string[]
}

function sources (value: unknown): string[] {
  if (!Array.isArray(value)) return []
  return value.filter((v): v is string => typeof v === 'string' && v.length <= 255 && ORIGIN_SOURCE.test(v)).slice(0, MAX_SOURCES)
}

/** The declared domains an app may use; anything malformed is dropped, never repaired. */
export function declaredAppCsp (declared: unknown): DeclaredAppCsp {
  const d = typeof declared === 'object' && declared !== null ? declared as Record<string, unknown> : {}
  return {
    connectDomains: sources(d.connectDomains),
    resourceDomains: sources(d.resourceDomains),
    frameDomains: sources(d.frameDomains),
    baseUriDomains: sources(d.baseUriDomains)
  }
}

/** `?csp=` as sent by views/app-frame.js; unreadable JSON means no domains at all. */
export function parseCspQuery (query: string | undefined): DeclaredAppCsp {
  if (query === undefined) return declaredAppCsp(undefined)
  try {
    return declaredAppCsp(JSON.parse(query))
  } catch {
    return declaredAppCsp(undefined)
  }
}

function list (fixed: string[], domains: string[]): string {
  const all = [...fixed, ...domains]
  return all.length === 0 ? "'none'" : all.join(' ')
}

/**
 * Apps ship inline script and style, so those are allowed; the network is not, beyond the
 * declared domains (`connect-src` has no `'self'`: an app never reaches the node's API).
 * `'self'` in `script-src` is for sandbox.js only; the node serves no script an app could misuse.
 */
export function appSandboxCsp (csp: DeclaredAppCsp): string {
  const res = csp.resourceDomains
  return [
    "default-src 'none'",
    `script-src ${list(["'self'", "'unsafe-inline'"], res)}`,
    `style-src ${list(["'unsafe-inline'"], res)}`,
    `img-src ${list(['data:', 'blob:'], res)}`,
    `font-src ${list(['data:'], res)}`,
    `media-src ${list(['data:', 'blob:'], res)}`,
    `connect-src ${list([], csp.connectDomains)}`,
    `frame-src ${list([], csp.frameDomains)}`,
    `base-uri ${list([], csp.baseUriDomains)}`,
    "object-src 'none'",
    "form-action 'none'",
    // Only the node's own page may frame the proxy.
    "frame-ancestors 'self'",
    'sandbox allow-scripts'
  ].join('; ')
}

function common (reply: FastifyReply, type: string): FastifyReply {
  return reply.header('content-type', type)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
}

/** `/ui/apps/sandbox.html` with its per-app policy and `/ui/apps/sandbox.js` (a classic script: a module would need CORS from an opaque origin). */
export function registerAppSandboxRoutes (app: FastifyInstance): void {
  const page = readFileSync(`${APPS_DIR}sandbox.html`)
  const script = readFileSync(`${APPS_DIR}sandbox.js`)
  const querystring = Type.Object({ csp: Type.Optional(Type.String({ maxLength: MAX_CSP_QUERY })) })
  app.get('/ui/apps/sandbox.html', { schema: { querystring } }, async (req, reply) => {
    const { csp } = req.query as { csp?: string }
    return await common(reply, 'text/html; charset=utf-8').header('content-security-policy', appSandboxCsp(parseCspQuery(csp))).send(page)
  })
  app.get('/ui/apps/sandbox.js', async (_req, reply) => {
    return await common(reply, 'text/javascript; charset=utf-8').header('content-security-policy', "default-src 'none'").send(script)
  })
}
