// A node with an API token: the page asks for it once, sends it on every request (the event
// stream and room history included, which are private reads), and then works as usual.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { startMesh, tempDir, type Mesh } from '../mesh/harness.ts'
import { launchChromium, openPage, expectClean } from './ui-harness.ts'

const TOKEN = 'a-long-random-token-for-the-page-test'

describe('the chat page on a node with an API token', () => {
  let mesh: Mesh
  let browser: Browser
  beforeAll(async () => {
    const dir = await tempDir('dawn-token-')
    const tokenFile = join(dir, 'token')
    await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 })
    mesh = await startMesh({ nodes: 2, agents: i => [{ id: `agent-${i + 1}`, kind: 'static', description: '', tools: [{ name: 'hello' }] }], patch: (_i, c) => { c.mcp = { ...(c.mcp as object | undefined), tokenFile } } })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser.close()
    await mesh.stop()
  })

  it('refuses private reads without the token', async () => {
    const base = mesh.net.nodes[0]!.httpUrl
    for (const path of ['/api/v1/events', '/api/v1/presence', '/api/v1/rooms']) {
      expect((await fetch(base + path)).status, path).toBe(401)
    }
    const ok = await fetch(base + '/api/v1/rooms', { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(ok.status).toBe(200)
    // Public reads stay open.
    expect((await fetch(base + '/api/v1/node')).status).toBe(200)
  })

  it('asks for the token, then streams, lists agents and posts with it', async () => {
    const watch = await openPage(browser, mesh.net.nodes[0]!.httpUrl + '/')
    const { page } = watch
    const dialog = page.getByRole('dialog', { name: 'This node needs its API token' })
    await dialog.waitFor({ timeout: 15_000 })
    await dialog.getByLabel('API token').fill(TOKEN)
    await dialog.getByRole('button', { name: 'Use token' }).click()
    await expect.poll(async () => await page.getByRole('status').filter({ hasText: /^live$/ }).count(), { timeout: 15_000 }).toBe(1)
    await expect.poll(async () => await page.getByRole('navigation', { name: 'Agents' }).getByRole('button').count(), { timeout: 15_000 }).toBeGreaterThan(0)
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Everyone/ }).click({ timeout: 15_000 })
    const input = page.getByLabel('Message to Everyone')
    await input.fill('posted with the token')
    await input.press('Enter')
    await page.getByRole('list', { name: 'Messages in Everyone' }).locator('[data-msg-id]').filter({ hasText: 'posted with the token' }).waitFor({ timeout: 15_000 })
    expect(await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem: (k: string) => string | null } }).sessionStorage.getItem('dawn-token'))).toBe(TOKEN)
    // The only refusals were the ones before the token was given.
    await expectClean(watch, [/^http 401 /, /status of 401/])
  })
})
