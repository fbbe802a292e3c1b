// Markup and script in registry text, tool listings, tool results (text, markdown, links,
// an SVG image, structured content) and prompt messages: the page shows them as text and
// no script runs. The sanitizer must stop them before the CSP has to (a CSP violation fails
// the test too).
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { Browser } from 'playwright-core'
import { startMesh, eventually, type Mesh } from '../mesh/harness.ts'
import { startHostileAgent, PAYLOADS, type HostileAgent } from '../support/hostile-agent.ts'
import { launchChromium, openPage, expectClean, pickAgent, openTool, listedAs } from './ui-harness.ts'

describe('untrusted text on the chat page', () => {
  let mesh: Mesh
  let agent: HostileAgent
  let browser: Browser
  beforeAll(async () => {
    agent = await startHostileAgent()
    mesh = await startMesh({
      nodes: 2,
      agents: i => i === 1
        ? [{ id: 'hostile', kind: 'remote', url: agent.url, description: PAYLOADS.join(' ') }]
        : [{ id: 'static-hostile', kind: 'static', name: PAYLOADS[1], description: PAYLOADS[0], tools: [{ name: 'x', description: PAYLOADS[4] }] }]
    })
    await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ agentId: string, tools: unknown[] }> }>(0, '/api/v1/registry')
      return reg.entries.some(e => e.agentId === 'hostile' && e.tools.length > 0) ? true : undefined
    }, { what: 'the hostile agent in node 1\'s registry', timeoutMs: 30_000 })
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser.close()
    await mesh.stop()
    await agent.close()
  })

  it('renders every payload as text, in every place it can appear, and runs none', async () => {
    const watch = await openPage(browser, mesh.net.nodes[0]!.httpUrl + '/')
    const { page } = watch
    await pickAgent(page, 'hostile')
    await openTool(page, 'payloads')
    await page.getByRole('button', { name: 'Call payloads' }).click()
    const conversation = page.getByRole('list', { name: 'Conversation with hostile' })
    await expect.poll(async () => await conversation.getByText('gnp.exe').count(), { timeout: 15_000 }).toBe(1)
    // Raw HTML in markdown is shown as its text.
    for (const p of [PAYLOADS[0], PAYLOADS[1], PAYLOADS[2], PAYLOADS[5]]) expect(await conversation.getByText(p, { exact: true }).count()).toBeGreaterThan(0)
    const before = await conversation.getByText(PAYLOADS[1], { exact: true }).count()
    await conversation.getByRole('button', { name: `Open ${PAYLOADS[0]}` }).click()

    await page.getByRole('tab', { name: /Prompts/ }).click()
    await page.getByRole('tabpanel').getByRole('button', { name: listedAs('hostile-prompt') }).click()
    await page.getByRole('button', { name: 'Use prompt hostile-prompt' }).click()
    await expect.poll(async () => await conversation.getByText(PAYLOADS[1], { exact: true }).count(), { timeout: 15_000 }).toBe(before + 1)

    await pickAgent(page, 'static-hostile')
    expect(await page.getByText(PAYLOADS[0], { exact: true }).count()).toBeGreaterThan(0)

    const dom = await page.evaluate(() => {
      const d = (globalThis as unknown as { document: { querySelectorAll: (s: string) => { length: number } } }).document
      return {
        img: d.querySelectorAll('img[src="x"], img[src^="data:image/svg"]').length,
        script: d.querySelectorAll('body script').length,
        iframe: d.querySelectorAll('iframe').length,
        svg: d.querySelectorAll('svg').length,
        jsLinks: d.querySelectorAll('[href^="javascript:" i], [src^="javascript:" i]').length,
        handlers: d.querySelectorAll('[onerror], [onload], [onclick]').length
      }
    })
    expect(dom).toEqual({ img: 0, script: 0, iframe: 0, svg: 0, jsLinks: 0, handlers: 0 })
    await expectClean(watch)
  })

  it('shows markup in chat messages and nicknames as text', async () => {
    const { networkRoom } = await mesh.get<{ networkRoom: string }>(1, '/api/v1/rooms')
    const res = await fetch(`${mesh.net.nodes[1]!.httpUrl}/api/v1/rooms/${encodeURIComponent(networkRoom)}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nonce: 'injection-test-nonce-1', nick: PAYLOADS[0], text: PAYLOADS.join('\n') })
    })
    expect(res.status).toBe(201)
    const watch = await openPage(browser, mesh.net.nodes[0]!.httpUrl + '/')
    const { page } = watch
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Everyone/ }).click({ timeout: 15_000 })
    const message = page.getByRole('list', { name: 'Messages in Everyone' }).locator('[data-msg-id]')
    await message.first().waitFor({ timeout: 15_000 })
    expect(await message.locator('.author').textContent()).toBe(PAYLOADS[0])
    expect(await message.locator('.room-text').textContent()).toBe(PAYLOADS.join('\n'))
    expect(await page.locator('main img, main script, main iframe, main svg, main [onerror], main [href^="javascript:"]').count()).toBe(0)
    await expectClean(watch)
  })
})
