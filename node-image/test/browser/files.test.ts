// A file dropped on node 1's page: added through node 1's content layer, shared in the room
// as {cid, name, size, type}, and downloaded intact on node 3's page through node 3, which
// checks each block against the CID. File names are shown as text.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Browser } from 'playwright-core'
import { startMesh, type Mesh } from '../mesh/harness.ts'
import { launchChromium, openPage, expectClean, openRoom, type PageWatch } from './ui-harness.ts'

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describe('files shared in a room', () => {
  let mesh: Mesh
  let browser: Browser
  const watches: PageWatch[] = []
  beforeAll(async () => {
    mesh = await startMesh({ nodes: 3 })
    browser = await launchChromium()
    for (const i of [0, 2]) watches.push(await openPage(browser, mesh.net.nodes[i]!.httpUrl + '/'))
    for (const w of watches) await openRoom(w.page)
  })
  afterAll(async () => {
    await browser.close()
    await mesh.stop()
  })

  it('downloads a 5 MB file from node 1\'s page intact on node 3\'s page', async () => {
    const [one, three] = [watches[0]!.page, watches[1]!.page]
    const bytes = randomBytes(5 * 1024 * 1024)
    await one.locator('#file-input').setInputFiles({ name: 'five-megabytes.bin', mimeType: 'application/octet-stream', buffer: bytes })
    const link = three.getByRole('link', { name: 'five-megabytes.bin' })
    await link.waitFor({ timeout: 30_000 })
    const [download] = await Promise.all([three.waitForEvent('download'), link.click()])
    expect(download.suggestedFilename()).toBe('five-megabytes.bin')
    expect(sha256(await readFile(await download.path()))).toBe(sha256(bytes))
    for (const w of watches) await expectClean(w)
  })

  it('takes a file dropped on the conversation, and shows a hostile name as text', async () => {
    const [one, three] = [watches[0]!.page, watches[1]!.page]
    const name = '<img src=x onerror="window.__pwned=1">.txt'
    await one.evaluate((fileName) => {
      const g = globalThis as unknown as { DataTransfer: new () => { items: { add: (f: unknown) => void } }, File: new (parts: string[], name: string, opts: { type: string }) => unknown, DragEvent: new (type: string, init: unknown) => unknown, document: { querySelector: (s: string) => { dispatchEvent: (e: unknown) => void } } }
      const dt = new g.DataTransfer()
      dt.items.add(new g.File(['dropped bytes'], fileName, { type: 'text/plain' }))
      g.document.querySelector('section.room').dispatchEvent(new g.DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }))
    }, name)
    const link = three.getByRole('link', { name })
    await link.waitFor({ timeout: 30_000 })
    expect(await three.locator('img[src="x"]').count()).toBe(0)
    const [download] = await Promise.all([three.waitForEvent('download'), link.click()])
    expect((await readFile(await download.path())).toString()).toBe('dropped bytes')
    for (const w of watches) await expectClean(w)
  })

  it('previews a shared PNG on the other node\'s page, fetched through that node', async () => {
    const [one, three] = [watches[0]!.page, watches[1]!.page]
    // A 1×1 PNG.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')
    await one.locator('#file-input').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: png })
    const preview = three.getByRole('img', { name: 'preview of dot.png' })
    await preview.waitFor({ timeout: 30_000 })
    await expect.poll(async () => await preview.evaluate(el => (el as unknown as { naturalWidth: number }).naturalWidth)).toBe(1)
    expect(await preview.getAttribute('src')).toMatch(/^blob:/)
    for (const w of watches) await expectClean(w)
  })
})
