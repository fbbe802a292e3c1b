// WCAG 2.2 AA on the chat page, checked by axe-core in a real Chromium, in both themes, at
// desktop size and at 390×844; and a keyboard-only run from the agent list to a tool's reply.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { AxeBuilder } from '@axe-core/playwright'
import { startUiMesh, launchChromium, openPage, expectClean, pickAgent, openTool, type UiMesh } from './ui-harness.ts'

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']

async function violations (page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze()
  return result.violations.map(v => `${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`)
}

/** The axe `passes` list proves the rules ran (a check that found nothing to check proves nothing). */
async function rulesRun (page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withTags(TAGS).analyze()
  return result.passes.map(p => p.id)
}

interface Focused { tag: string, name: string, outline: string }

async function focused (page: Page): Promise<Focused> {
  return await page.evaluate(() => {
    const d = globalThis as unknown as { document: { activeElement: { tagName: string, getAttribute: (n: string) => string | null, textContent: string | null, id: string } | null }, getComputedStyle: (e: unknown) => { outlineStyle: string, outlineWidth: string } }
    const el = d.document.activeElement
    if (el === null) return { tag: '', name: '', outline: '' }
    const style = d.getComputedStyle(el)
    return { tag: el.tagName.toLowerCase(), name: (el.getAttribute('aria-label') ?? (el.tagName === 'INPUT' ? el.id : el.textContent ?? '')).trim(), outline: `${style.outlineStyle} ${style.outlineWidth}` }
  })
}

describe('accessibility of the chat page', () => {
  let ui: UiMesh
  let browser: Browser
  beforeAll(async () => {
    ui = await startUiMesh()
    browser = await launchChromium()
  })
  afterAll(async () => {
    await browser.close()
    await ui.stop()
  })

  for (const theme of ['light', 'dark'] as const) {
    for (const viewport of [{ width: 1280, height: 800 }, { width: 390, height: 844 }]) {
      it(`has no WCAG 2.2 AA violations: ${theme} theme at ${viewport.width}×${viewport.height}`, async () => {
        const watch = await openPage(browser, ui.mesh.net.nodes[0]!.httpUrl + '/', { theme, viewport })
        const { page } = watch
        const mobile = viewport.width < 768
        await page.getByRole('navigation', { name: 'Agents' }).getByRole('button', { name: /everything/ }).waitFor({ timeout: 15_000 })
        expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { dataset: { theme?: string } } } }).document.documentElement.dataset.theme)).toBe(theme)
        expect(await violations(page)).toEqual([])
        expect(await rulesRun(page)).toEqual(expect.arrayContaining(['color-contrast', 'button-name', 'label']))

        // A conversation with results, a tool form with an error shown, and an open question.
        await pickAgent(page, 'everything')
        if (mobile) await page.getByRole('navigation', { name: 'Panels' }).getByRole('button', { name: 'Tools' }).click()
        await openTool(page, 'echo')
        await page.getByRole('button', { name: 'Call echo' }).click()
        await page.getByText('required', { exact: true }).waitFor()
        await page.getByRole('form', { name: 'Arguments of echo' }).getByLabel(/message/i).fill('**bold** and `code`')
        await page.getByRole('button', { name: 'Call echo' }).click()
        await openTool(page, 'trigger-elicitation-request')
        await page.getByRole('button', { name: 'Call trigger-elicitation-request' }).click()
        if (mobile) await page.getByRole('navigation', { name: 'Panels' }).getByRole('button', { name: 'Chat' }).click()
        await page.getByRole('form', { name: 'Answer the agent' }).waitFor({ timeout: 15_000 })
        expect(await violations(page)).toEqual([])
        if (!mobile) {
          await page.getByRole('tab', { name: /Prompts/ }).click()
          expect(await violations(page)).toEqual([])
        }
        await page.getByRole('form', { name: 'Answer the agent' }).getByRole('button', { name: 'Decline' }).click()

        // A room with messages, delivery marks and the search panel.
        if (mobile) await page.getByRole('navigation', { name: 'Panels' }).getByRole('button', { name: 'Agents' }).click()
        await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Everyone/ }).click()
        await page.getByLabel('Message to Everyone').fill(`checked in the ${theme} theme`)
        await page.getByLabel('Message to Everyone').press('Enter')
        await page.getByRole('list', { name: 'Messages in Everyone' }).locator('[data-msg-id]').filter({ hasText: `checked in the ${theme} theme` }).first().waitFor({ timeout: 15_000 })
        expect(await violations(page)).toEqual([])
        if (mobile) {
          await page.getByRole('navigation', { name: 'Panels' }).getByRole('button', { name: 'Tools' }).click()
          expect(await violations(page)).toEqual([])
        }
        await expectClean(watch)
        await watch.context.close()
      })
    }
  }

  it('works from the keyboard alone: skip link, agent search, a tool, its form, the reply', async () => {
    const watch = await openPage(browser, ui.mesh.net.nodes[0]!.httpUrl + '/')
    const { page } = watch
    await page.getByRole('navigation', { name: 'Agents' }).getByRole('button', { name: /everything/ }).waitFor({ timeout: 15_000 })
    const k = page.keyboard
    await k.press('Tab')
    expect(await focused(page)).toMatchObject({ tag: 'a', name: 'Skip to conversation' })
    // Past the header's controls to the agent search.
    for (let i = 0; i < 12 && (await focused(page)).name !== 'agent-search'; i++) await k.press('Tab')
    const search = await focused(page)
    expect(search).toMatchObject({ tag: 'input', name: 'agent-search' })
    expect(search.outline).toMatch(/^solid [1-9]/)
    await k.type('every')
    await k.press('ArrowDown')
    expect((await focused(page)).name).toMatch(/everything/)
    await k.press('Enter')
    await page.getByRole('heading', { level: 2, name: /everything/ }).waitFor()
    await page.getByRole('tabpanel').getByRole('button', { name: /echo$/ }).waitFor({ timeout: 15_000 })
    // From the conversation on to the side panel's tabs and the first tool (echo).
    for (let i = 0; i < 12 && (await focused(page)).tag !== 'button' || !/^Tools/.test((await focused(page)).name); i++) await k.press('Tab')
    expect((await focused(page)).name).toMatch(/^Tools/)
    await k.press('Tab')
    expect((await focused(page)).name).toMatch(/echo$/)
    await k.press('Enter')
    await k.press('Tab')
    expect(await focused(page)).toMatchObject({ tag: 'input' })
    await k.type('typed, not clicked')
    await k.press('Enter')
    await page.getByRole('list', { name: 'Conversation with everything' }).getByText('Echo: typed, not clicked').waitFor({ timeout: 15_000 })
    await expectClean(watch)
  })
})
