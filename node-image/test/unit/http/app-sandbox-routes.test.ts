// The MCP Apps sandbox proxy's routes: its policy is built per request from the app's
// declared domains, and nothing a hostile declaration carries (quotes, `;`, spaces,
// keywords, other schemes) reaches the header.
import { afterEach, describe, expect, it } from 'vitest'
import Fastify, { type FastifyInstance } from 'fastify'
import { appSandboxCsp, declaredAppCsp, registerAppSandboxRoutes } from '../../../src/http/app-sandbox-routes.ts'
import { registerUiRoutes } from '../../../src/http/ui-routes.ts'

const apps: FastifyInstance[] = []
afterEach(async () => { for (const app of apps.splice(0)) await app.close() })

function server (register: (app: FastifyInstance) => void): FastifyInstance {
  const app = Fastify({ logger: false })
  register(app)
  apps.push(app)
  return app
}

function directives (csp: string): Map<string, string[]> {
  return new Map(csp.split('; ').map(d => {
    const [name = '', ...values] = d.split(' ')
    return [name, values]
  }))
}

const sandboxUrl = (csp: unknown): string => `/ui/apps/sandbox.html?csp=${encodeURIComponent(JSON.stringify(csp))}`

describe('the MCP Apps sandbox proxy', () => {
  it('serves the proxy in an opaque origin, framed only by the node page, with no network by default', async () => {
    const app = server(registerUiRoutes)
    const res = await app.inject({ url: '/ui/apps/sandbox.html' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.body).toContain('<script src="/ui/apps/sandbox.js" defer></script>')
    const d = directives(String(res.headers['content-security-policy']))
    expect(d.get('sandbox')).toEqual(['allow-scripts'])
    expect(d.get('frame-ancestors')).toEqual(["'self'"])
    expect(d.get('default-src')).toEqual(["'none'"])
    expect(d.get('connect-src')).toEqual(["'none'"])
    expect(d.get('frame-src')).toEqual(["'none'"])
    expect(d.get('base-uri')).toEqual(["'none'"])
    expect(d.get('script-src')).toEqual(["'self'", "'unsafe-inline'"])
    expect(d.get('img-src')).toEqual(['data:', 'blob:'])
    const js = await app.inject({ url: '/ui/apps/sandbox.js' })
    expect(js.statusCode).toBe(200)
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8')
    expect(js.body).toContain('sandbox-proxy-ready')
  })

  it('puts declared plain origins in their directives', async () => {
    const app = server(registerAppSandboxRoutes)
    const res = await app.inject({
      url: sandboxUrl({
        connectDomains: ['https://api.example.org', 'wss://live.example.org:8443'],
        resourceDomains: ['https://*.cdn.example.org'],
        frameDomains: ['https://player.example.org'],
        baseUriDomains: ['https://base.example.org']
      })
    })
    const d = directives(String(res.headers['content-security-policy']))
    expect(d.get('connect-src')).toEqual(['https://api.example.org', 'wss://live.example.org:8443'])
    expect(d.get('script-src')).toEqual(["'self'", "'unsafe-inline'", 'https://*.cdn.example.org'])
    expect(d.get('img-src')).toEqual(['data:', 'blob:', 'https://*.cdn.example.org'])
    expect(d.get('frame-src')).toEqual(['https://player.example.org'])
    expect(d.get('base-uri')).toEqual(['https://base.example.org'])
    expect(d.get('sandbox')).toEqual(['allow-scripts'])
  })

  it('drops hostile declared values rather than repairing them', async () => {
    const hostile = [
      "https://a.example.org; script-src 'unsafe-eval'",
      "'unsafe-eval'",
      'https://a.example.org https://b.example.org',
      '"https://a.example.org"',
      '*',
      'https://*',
      'javascript:alert(1)',
      'data:',
      'https://a.example.org/path',
      'https://a.example.org,https://b.example.org',
      "https://a.example.org'",
      'https://a.example.org\nsandbox',
      42,
      { url: 'https://a.example.org' }
    ]
    const app = server(registerAppSandboxRoutes)
    const res = await app.inject({ url: sandboxUrl({ connectDomains: [...hostile, 'https://ok.example.org'], resourceDomains: hostile, frameDomains: 'https://x.example.org', baseUriDomains: null }) })
    expect(res.statusCode).toBe(200)
    const csp = String(res.headers['content-security-policy'])
    const d = directives(csp)
    expect(d.get('connect-src')).toEqual(['https://ok.example.org'])
    expect(d.get('script-src')).toEqual(["'self'", "'unsafe-inline'"])
    expect(d.get('frame-src')).toEqual(["'none'"])
    expect(d.get('base-uri')).toEqual(["'none'"])
    expect(csp).not.toContain('unsafe-eval')
    expect(csp).not.toContain('"')
    expect([...d.keys()].filter(k => k === 'sandbox' || k === 'script-src')).toEqual(['script-src', 'sandbox'])
    expect(csp.split('; ')).toHaveLength(13)
  })

  it('treats unreadable, oversized or missing declarations as none, and caps the count', async () => {
    const app = server(registerAppSandboxRoutes)
    const bad = await app.inject({ url: '/ui/apps/sandbox.html?csp=%7Bnot-json' })
    expect(bad.statusCode).toBe(200)
    expect(directives(String(bad.headers['content-security-policy'])).get('connect-src')).toEqual(["'none'"])
    const huge = await app.inject({ url: sandboxUrl({ connectDomains: ['https://a.example.org'.padEnd(5000, 'x')] }) })
    expect(huge.statusCode).toBe(400)
    const many = Array.from({ length: 40 }, (_, i) => `https://h${i}.example.org`)
    expect(declaredAppCsp({ connectDomains: many }).connectDomains).toHaveLength(16)
    expect(appSandboxCsp(declaredAppCsp(['https://a.example.org']))).toContain("connect-src 'none'")
  })

  it('keeps apps/ off the page routes: only the proxy routes serve it', async () => {
    const app = server(registerUiRoutes)
    const page = await app.inject({ url: '/' })
    expect(page.statusCode).toBe(200)
    const res = await app.inject({ url: '/ui/apps/sandbox.html' })
    expect(String(res.headers['content-security-policy'])).not.toContain('trusted-types')
    expect((await app.inject({ url: '/ui/apps/other.html' })).statusCode).toBe(404)
  })
})
