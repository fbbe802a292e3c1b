// Talking to an agent from a node's chat page, in a real Chromium: the reference server
// runs on node 3 and the page is node 1's. Every step goes through the page's own MCP
// session (/mcp/agents/everything) and the mesh.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { startUiMesh, launchChromium, openPage, expectClean, pickAgent, openTool, listedAs, type UiMesh, type PageWatch } from './ui-harness.ts'

describe('the chat page talks to an agent on another node', () => {
  let ui: UiMesh
  let browser: Browser
  let watch: PageWatch
  let page: Page
  beforeAll(async () => {
    ui = await startUiMesh()
    browser = await launchChromium()
    watch = await openPage(browser, ui.mesh.net.nodes[0]!.httpUrl + '/')
    page = watch.page
    await pickAgent(page, 'everything')
  })
  afterAll(async () => {
    await browser.close()
    await ui.stop()
  })

  const conversation = (): ReturnType<Page['getByRole']> => page.getByRole('list', { name: 'Conversation with everything' })

  it('lists the agent as online, and calls echo through the form generated from its schema', async () => {
    const item = page.getByRole('navigation', { name: 'Agents' }).getByRole('button', { name: /everything/ })
    expect(await item.textContent()).toContain('online')
    await openTool(page, 'echo')
    const form = page.getByRole('form', { name: 'Arguments of echo' })
    // Validation before anything is sent: the required field is marked and refused empty.
    await form.getByRole('button', { name: 'Call echo' }).click()
    await expect.poll(async () => await form.getByText('required', { exact: true }).count()).toBe(1)
    expect(await conversation().getByText('/echo').count()).toBe(0)
    await form.getByLabel(/message/i).fill('hello from node 1')
    await form.getByRole('button', { name: 'Call echo' }).click()
    await expect.poll(async () => await conversation().getByText('Echo: hello from node 1').count(), { timeout: 15_000 }).toBe(1)
    // The header says how the call travelled: another node, sealed end to end.
    const route = page.locator('.badge.route')
    await expect.poll(async () => await route.textContent()).toMatch(/^Route to everything: (direct|relayed) · end-to-end sealed$/)
    await expectClean(watch)
  })

  it('shows an image result as an image', async () => {
    await openTool(page, 'get-tiny-image')
    await page.getByRole('form', { name: 'Arguments of get-tiny-image' }).getByRole('button', { name: 'Call get-tiny-image' }).click()
    const img = conversation().getByRole('img')
    await expect.poll(async () => await img.count(), { timeout: 15_000 }).toBeGreaterThan(0)
    expect(await img.first().evaluate(el => (el as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0)
    await expectClean(watch)
  })

  it('shows a long call\'s progress, cancels it, and the agent receives the cancellation', async () => {
    await openTool(page, 'trigger-long-running-operation')
    const form = page.getByRole('form', { name: 'Arguments of trigger-long-running-operation' })
    await form.getByLabel(/duration/i).fill('30')
    await form.getByLabel(/steps/i).fill('30')
    await form.getByRole('button', { name: 'Call trigger-long-running-operation' }).click()
    const typing = page.getByRole('status').filter({ hasText: 'is working on trigger-long-running-operation' })
    await expect.poll(async () => await typing.textContent(), { timeout: 15_000 }).toMatch(/ — [1-9]\d*\/30/)
    const before = ui.recorder.total()
    await typing.getByRole('button', { name: 'Cancel trigger-long-running-operation' }).click()
    await expect.poll(async () => await conversation().getByText('Cancelled.').count(), { timeout: 15_000 }).toBe(1)
    // The cancellation crossed the mesh to the agent: the recorder between node 3 and the server saw it.
    await expect.poll(() => ui.recorder.saw(new TextEncoder().encode('notifications/cancelled')), { timeout: 15_000 }).toBe(true)
    expect(ui.recorder.total()).toBeGreaterThan(before)
    await expectClean(watch)
  })

  it('answers an elicitation through an inline form', async () => {
    await openTool(page, 'trigger-elicitation-request')
    await page.getByRole('form', { name: 'Arguments of trigger-elicitation-request' }).getByRole('button', { name: 'Call trigger-elicitation-request' }).click()
    const question = page.getByRole('form', { name: 'Answer the agent' })
    await question.waitFor({ timeout: 15_000 })
    await question.getByLabel(/^String\s*\*/).fill('Ada Lovelace')
    await question.getByLabel('String with email format').fill('ada@example.org')
    await question.getByRole('button', { name: 'Send answer' }).click()
    await expect.poll(async () => await conversation().getByText('Ada Lovelace').count(), { timeout: 15_000 }).toBeGreaterThan(0)
    expect(await conversation().textContent()).toContain('ada@example.org')
    await expectClean(watch)
  })

  it('answers a sampling request in the model\'s place', async () => {
    await openTool(page, 'trigger-sampling-request')
    const form = page.getByRole('form', { name: 'Arguments of trigger-sampling-request' })
    await form.getByLabel(/prompt/i).fill('name a colour')
    await form.getByRole('button', { name: 'Call trigger-sampling-request' }).click()
    const reply = page.getByRole('form', { name: 'Your reply to the agent' })
    await reply.waitFor({ timeout: 15_000 })
    expect(await page.getByRole('group', { name: /answer as its model/ }).textContent()).toContain('name a colour')
    await reply.getByLabel('Your reply').fill('ultramarine, said a person')
    await reply.getByRole('button', { name: 'Send reply' }).click()
    await expect.poll(async () => await conversation().getByText(/ultramarine, said a person/).count(), { timeout: 15_000 }).toBeGreaterThan(0)
    await expectClean(watch)
  })

  it('uses a prompt with arguments, and its messages join the conversation', async () => {
    await page.getByRole('tab', { name: /Prompts/ }).click()
    await page.getByRole('tabpanel').getByRole('button', { name: listedAs('args-prompt') }).click()
    const form = page.getByRole('form', { name: 'Arguments of prompt args-prompt' })
    await form.getByLabel(/city/i).fill('Lisbon')
    await form.getByRole('button', { name: 'Use prompt args-prompt' }).click()
    await expect.poll(async () => await conversation().getByText('What\'s weather in Lisbon?').count(), { timeout: 15_000 }).toBe(1)
    await expectClean(watch)
  })

  it('keeps the conversation in this browser: back after a reload, searchable and filterable', async () => {
    // An error to filter on: the composer sends what the agent's schema refuses.
    await page.getByLabel('Message to everything').fill('/echo {}')
    await page.getByLabel('Message to everything').press('Enter')
    await expect.poll(async () => await conversation().locator('.bubble.error').count(), { timeout: 15_000 }).toBeGreaterThan(0)
    await page.reload()
    await pickAgent(page, 'everything')
    await expect.poll(async () => await conversation().getByText('Echo: hello from node 1').count(), { timeout: 15_000 }).toBe(1)

    await page.getByRole('button', { name: 'Search history' }).click()
    const search = page.getByRole('search', { name: 'Search this browser\'s history' })
    const results = page.getByRole('list', { name: 'Search results' }).getByRole('button')
    await search.getByLabel('Words').fill('hello from no')
    await expect.poll(async () => await results.allTextContents(), { timeout: 15_000 }).toEqual([expect.stringContaining('everything · echo')])
    await search.getByLabel('Words').fill('')
    await search.getByLabel('Errors only').check()
    // Polled as a whole: the list updates after the filter, so each state is waited for, not raced.
    await expect.poll(async () => {
      const texts = await results.allTextContents()
      return texts.length > 0 && texts.every(t => t.includes('· error'))
    }).toBe(true)
    await search.getByLabel('Tool').fill('get-tiny-image')
    await expect.poll(async () => await results.count()).toBe(0)
    await search.getByLabel('Errors only').uncheck()
    await expect.poll(async () => await results.count()).toBe(1)
    await expectClean(watch)
  })
})
