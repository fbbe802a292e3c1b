import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'
import { startMesh, type Mesh } from '../mesh/harness.ts'

const CHROMIUM = process.env.DAWN_CHROMIUM ?? '/usr/bin/chromium'

describe('the web UI in a real Chromium', () => {
  let mesh: Mesh
  let browser: Browser
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}. Install it with: sh scripts/install-debian-packages.sh (Debian package "chromium"), or set DAWN_CHROMIUM.`)
    mesh = await startMesh({ nodes: 3, agents: i => [{ id: `agent-${i + 1}`, kind: 'static', description: `agent of node ${i + 1}`, tools: [{ name: 'hello' }] }] })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
  })
  afterAll(async () => {
    await browser.close()
    await mesh.stop()
  })

  it('shows the node, its verified peers and the whole registry, and follows live changes', async () => {
    const page = await browser.newPage()
    const consoleErrors: string[] = []
    page.on('console', msg => { if (msg.type() === 'error') consoleErrors.push(msg.text()) })
    await page.goto(mesh.net.nodes[0]!.httpUrl + '/')
    await expect.poll(async () => await page.locator('#status').textContent(), { timeout: 15_000 }).toBe('ready')
    await expect.poll(async () => await page.locator('#peers tbody tr .ok').count(), { timeout: 15_000 }).toBe(2)
    await expect.poll(async () => await page.locator('#registry tbody tr').count(), { timeout: 15_000 }).toBe(3)
    expect(await page.locator('#node .id').textContent()).toBe(mesh.net.nodes[0]!.peerId)
    const registryText = await page.locator('#registry').textContent()
    for (const n of mesh.net.nodes) expect(registryText).toContain(n.peerId)

    await mesh.editConfig(2, c => { c.agents = [{ id: 'late-arrival', description: 'added while the page was open', tools: [{ name: 'wave' }] }] })
    await expect.poll(async () => await page.locator('#registry').textContent(), { timeout: 15_000 }).toContain('late-arrival')
    await expect.poll(async () => await page.locator('#registry').textContent(), { timeout: 15_000 }).not.toContain('agent-3')

    // What a person sees, found by accessible role and name: the new agent's row is on
    // screen, the registry heading counts what the table shows, no error alert is up.
    const lateRow = page.getByRole('row', { name: new RegExp(`${mesh.net.nodes[2]!.peerId}:late-arrival`) })
    await expect.poll(async () => await lateRow.isVisible(), { timeout: 15_000 }).toBe(true)
    expect(await lateRow.getByRole('cell').allTextContents()).toEqual([`${mesh.net.nodes[2]!.peerId}:late-arrival`, 'late-arrival', 'static', 'wave', 'added while the page was open'])
    expect(await page.getByRole('heading', { level: 2, name: /^Agent registry/ }).textContent()).toBe('Agent registry (3 agents)')
    expect(await page.getByRole('row').filter({ hasText: ':agent-' }).count()).toBe(2)
    expect(await page.getByRole('alert').count()).toBe(0)
    expect(consoleErrors).toEqual([])
  })

  it('keeps untrusted text out of the DOM as markup', async () => {
    await mesh.editConfig(1, c => { c.agents = [{ id: 'xss', description: '<img src=x onerror="window.__pwned=1">', tools: [] }] })
    const page = await browser.newPage()
    await page.goto(mesh.net.nodes[0]!.httpUrl + '/')
    await expect.poll(async () => await page.locator('#registry').textContent(), { timeout: 15_000 }).toContain('<img src=x')
    expect(await page.locator('#registry img').count()).toBe(0)
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined()
    const res = await fetch(mesh.net.nodes[0]!.httpUrl + '/')
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
  })
})
