// The README's screenshots, taken from a real run: desktop light, desktop dark and mobile.
// `DAWN_UPDATE_SCREENSHOTS=1` writes them to docs/; otherwise they go to a temporary
// directory and are only checked to be real images (peer ids differ on every run).
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { startUiMesh, launchChromium, openPage, expectClean, pickAgent, openTool, type UiMesh } from './ui-harness.ts'

const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url))
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

async function converse (page: Page, mobile: boolean): Promise<void> {
  await pickAgent(page, 'everything')
  if (mobile) await page.getByRole('navigation', { name: 'Panels' }).getByRole('button', { name: 'Tools' }).click()
  await openTool(page, 'echo')
  await page.getByRole('form', { name: 'Arguments of echo' }).getByLabel(/message/i).fill('Hello from **node 1**, across the mesh')
  await page.getByRole('button', { name: 'Call echo' }).click()
  await openTool(page, 'get-structured-content')
  const form = page.getByRole('form', { name: 'Arguments of get-structured-content' })
  await form.getByLabel(/location/i).selectOption({ index: 1 })
  await form.getByRole('button', { name: 'Call get-structured-content' }).click()
  await openTool(page, 'get-tiny-image')
  await page.getByRole('button', { name: 'Call get-tiny-image' }).click()
  if (mobile) await page.getByRole('navigation', { name: 'Panels' }).getByRole('button', { name: 'Chat' }).click()
  await page.getByRole('list', { name: 'Conversation with everything' }).getByRole('img').waitFor({ timeout: 15_000 })
}

describe('screenshots of the chat page', () => {
  let ui: UiMesh
  let browser: Browser
  let dir: string
  const update = process.env.DAWN_UPDATE_SCREENSHOTS === '1'
  beforeAll(async () => {
    ui = await startUiMesh()
    browser = await launchChromium()
    dir = update ? DOCS : await mkdtemp(join(tmpdir(), 'dawn-shots-'))
  })
  afterAll(async () => {
    await browser.close()
    await ui.stop()
    if (!update) await rm(dir, { recursive: true, force: true })
  })

  for (const shot of [
    { name: 'ui-desktop-light.png', theme: 'light' as const, viewport: { width: 1280, height: 800 } },
    { name: 'ui-desktop-dark.png', theme: 'dark' as const, viewport: { width: 1280, height: 800 } },
    { name: 'ui-mobile.png', theme: 'light' as const, viewport: { width: 390, height: 844 } }
  ]) {
    it(`takes ${shot.name}`, async () => {
      const watch = await openPage(browser, ui.mesh.net.nodes[0]!.httpUrl + '/', { theme: shot.theme, viewport: shot.viewport })
      await converse(watch.page, shot.viewport.width < 768)
      const path = join(dir, shot.name)
      await watch.page.screenshot({ path })
      const png = await readFile(path)
      expect(png.subarray(0, 8).equals(PNG)).toBe(true)
      expect(png.readUInt32BE(16)).toBe(shot.viewport.width)
      await expectClean(watch)
      await watch.context.close()
    })
  }
})
