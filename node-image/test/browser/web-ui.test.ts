// The chat page's frame in a real Chromium: readiness, verified peers and every agent of
// the mesh, kept current by the node's event stream (nothing polls), untrusted registry
// text kept as text, and the page's security headers.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { Browser } from 'playwright-core'
import { startMesh, type Mesh } from '../mesh/harness.ts'
import { launchChromium, openPage, expectClean } from './ui-harness.ts'
import { PAGE_CSP } from '../../src/http/ui-routes.ts'

describe('the chat page in a real Chromium', () => {
  let mesh: Mesh
  let browser: Browser
  beforeAll(async () => {
    mesh = await startMesh({ nodes: 3, agents: i => [{ id: `agent-${i + 1}`, kind: 'static', description: `agent of node ${i + 1}`, tools: [{ name: 'hello' }] }] })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser.close()
    await mesh.stop()
  })

  it('shows readiness, the verified peers and every agent, and follows changes live', async () => {
    const watch = await openPage(browser, mesh.net.nodes[0]!.httpUrl + '/')
    const { page } = watch
    await expect.poll(async () => await page.locator('#status').textContent(), { timeout: 15_000 }).toBe('ready')
    await expect.poll(async () => await page.locator('#peer-count').textContent(), { timeout: 15_000 }).toBe('2')
    await expect.poll(async () => await page.getByRole('status').filter({ hasText: /^live$/ }).count(), { timeout: 15_000 }).toBe(1)
    const agents = page.getByRole('navigation', { name: 'Agents' })
    await expect.poll(async () => await agents.getByRole('button').count(), { timeout: 15_000 }).toBe(3)
    for (const i of [1, 2, 3]) expect(await agents.getByRole('button', { name: new RegExp(`^agent-${i}\\s*, online`) }).count()).toBe(1)

    // The page learns of the change from the event stream: count the requests to prove nothing polls.
    const requests: string[] = []
    page.on('request', r => requests.push(new URL(r.url()).pathname))
    await mesh.editConfig(2, c => { c.agents = [{ id: 'late-arrival', description: 'added while the page was open', tools: [{ name: 'wave' }] }] })
    await expect.poll(async () => await agents.getByRole('button', { name: /late-arrival/ }).count(), { timeout: 15_000 }).toBe(1)
    await expect.poll(async () => await agents.getByRole('button', { name: /agent-3/ }).count(), { timeout: 15_000 }).toBe(0)
    expect(requests.filter(p => p === '/api/v1/agents').length).toBeGreaterThan(0)
    expect(requests.filter(p => p === '/api/v1/node' || p === '/api/v1/registry')).toEqual([])

    // Search narrows the list by id, name, description or tool.
    await agents.getByLabel('Search agents').fill('wave')
    expect(await agents.getByRole('button').allTextContents()).toEqual([expect.stringContaining('late-arrival')])
    expect(await page.getByRole('alert').count()).toBe(0)
    await expectClean(watch)
  })

  it('keeps untrusted registry text out of the DOM as markup', async () => {
    await mesh.editConfig(1, c => { c.agents = [{ id: 'xss', name: '<b>bold</b>', description: '<img src=x onerror="window.__pwned=1">', tools: [{ name: 'x' }] }] })
    const watch = await openPage(browser, mesh.net.nodes[0]!.httpUrl + '/')
    const { page } = watch
    const item = page.getByRole('navigation', { name: 'Agents' }).getByRole('button', { name: /<b>bold<\/b>/ })
    await expect.poll(async () => await item.count(), { timeout: 15_000 }).toBe(1)
    await item.click()
    await expect.poll(async () => await page.getByText('<img src=x onerror="window.__pwned=1">').count(), { timeout: 15_000 }).toBe(1)
    expect(await page.locator('main img, nav b').count()).toBe(0)
    await expectClean(watch)
  })

  it('loads a snapshot again when it failed, with no event to prompt it', async () => {
    const watch = await openPage(browser, 'about:blank')
    const { page } = watch
    let asked = 0
    // The first load of the agent list dies on the wire; the mesh stays quiet, so only a retry fills the list.
    await page.route('**/api/v1/agents', async route => { if (++asked === 1) await route.abort('connectionreset'); else await route.continue() })
    await page.goto(mesh.net.nodes[0]!.httpUrl + '/')
    const agents = page.getByRole('navigation', { name: 'Agents' })
    const listed = async (): Promise<number> => (await mesh.get<{ logical: unknown[] }>(0, '/api/v1/agents')).logical.length
    await expect.poll(async () => { const n = await agents.getByRole('button').count(); return n > 0 && n === await listed() }, { timeout: 15_000 }).toBe(true)
    expect(asked).toBeGreaterThanOrEqual(2)
    await expectClean(watch, [/ERR_CONNECTION_RESET/])
  })

  it('serves the page with a CSP that forbids inline script and foreign origins', async () => {
    const res = await fetch(mesh.net.nodes[0]!.httpUrl + '/')
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP)
    expect(PAGE_CSP).toContain("script-src 'self'")
    expect(PAGE_CSP).toContain("require-trusted-types-for 'script'")
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const html = await res.text()
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.toMatch(/\son[a-z]+=/i)
    expect((await fetch(mesh.net.nodes[0]!.httpUrl + '/ui/vendor-entries/mcp.js')).status).toBe(404)
    expect((await fetch(mesh.net.nodes[0]!.httpUrl + '/ui/../package.json')).status).toBe(404)
  })
})
