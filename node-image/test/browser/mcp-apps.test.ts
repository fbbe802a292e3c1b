// MCP Apps in the chat page, in a real Chromium: the apps agent runs behind node 2 and the
// page is node 1's. Calling its tool renders the app two frames down (host page → sandbox
// proxy → app), each in an opaque origin; the app reaches the agent only through the
// page's bridge, and its `ui/message` lands in the conversation.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import type { Browser, Dialog, Frame, Page } from 'playwright-core'
import { startMesh, eventually, type Mesh } from '../mesh/harness.ts'
import { launchChromium, openPage, expectClean, pickAgent, openTool, type PageWatch } from './ui-harness.ts'
import { startAppsAgent, APP_TOOL, ADD_TOOL, CLOSED_TOOL, type AppsAgent } from '../support/apps-agent.ts'

describe('an MCP App in the chat page', () => {
  let mesh: Mesh
  let agent: AppsAgent
  let browser: Browser
  let watch: PageWatch
  let page: Page
  beforeAll(async () => {
    agent = await startAppsAgent()
    mesh = await startMesh({ nodes: 2, agents: i => i === 1 ? [{ id: 'apps', kind: 'remote' as const, url: agent.url, description: 'an agent with an MCP App' }] : [] })
    await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ agentId: string, tools: unknown[] }> }>(0, '/api/v1/registry')
      return reg.entries.some(e => e.agentId === 'apps' && e.tools.length > 0) ? true : undefined
    }, { what: 'the apps agent in node 1\'s registry', timeoutMs: 30_000 })
    browser = await launchChromium()
    watch = await openPage(browser, mesh.net.nodes[0]!.httpUrl + '/')
    page = watch.page
    await pickAgent(page, 'apps')
  })
  afterAll(async () => {
    await browser.close()
    await mesh.stop()
    await agent.close()
  })

  const conversation = (): ReturnType<Page['getByRole']> => page.getByRole('list', { name: 'Conversation with apps' })
  const proxyFrame = (): ReturnType<Page['locator']> => page.locator(`iframe[title="App of ${APP_TOOL}"]`)
  const app = (): ReturnType<Page['frameLocator']> => page.frameLocator(`iframe[title="App of ${APP_TOOL}"]`).frameLocator('iframe[title="MCP App"]')
  const frameNamed = (url: RegExp): Frame | undefined => page.frames().find(f => url.test(f.url()))

  it('renders the app in a sandbox, gives it the input and result, and relays its tool call and message', async () => {
    await openTool(page, APP_TOOL)
    const form = page.getByRole('form', { name: `Arguments of ${APP_TOOL}` })
    await form.getByLabel(/text/i).fill('hello app')
    await form.getByRole('button', { name: `Call ${APP_TOOL}` }).click()
    await expect.poll(async () => await conversation().getByText('shown: hello app').count(), { timeout: 15_000 }).toBe(1)

    await proxyFrame().waitFor({ timeout: 15_000 })
    // Scripts only: no allow-same-origin, no popups, no top navigation.
    expect(await proxyFrame().getAttribute('sandbox')).toBe('allow-scripts')
    expect(await proxyFrame().getAttribute('src')).toMatch(/^\/ui\/apps\/sandbox\.html\?csp=/)

    await expect.poll(async () => await app().locator('#input').textContent(), { timeout: 15_000 }).toBe('input: {"text":"hello app"}')
    expect(await app().locator('#result').textContent()).toBe('result: shown: hello app')
    // Dawn's own result keys (the route through the mesh) are not the app's business.
    expect(await app().locator('#meta').textContent()).toBe('meta: ')
    // The app called the agent's tool through the page's bridge and the mesh.
    await expect.poll(async () => await app().locator('#sum').textContent(), { timeout: 15_000 }).toBe('sum: sum 5')
    expect(agent.calls).toEqual([APP_TOOL, ADD_TOOL])
    // Its ui/message is in the conversation, said on the person's behalf.
    const message = conversation().locator('.app-message')
    await expect.poll(async () => await message.textContent(), { timeout: 15_000 }).toContain('The app says: sum 5')
    expect(await message.textContent()).toContain(`From the ${APP_TOOL} app`)
    // The app sized its frame (between the page's bounds, 80 and 640 px).
    const asked = Number((await app().locator('#height').textContent())?.replace('height: ', ''))
    expect(asked).toBeGreaterThan(80)
    expect(asked).toBeLessThan(240)
    await expect.poll(async () => await proxyFrame().evaluate(el => (el as unknown as { style: { height: string } }).style.height)).toBe(`${asked}px`)
    await expectClean(watch)
  })

  it('keeps the app and the proxy out of the page\'s origin', async () => {
    // What the app saw of itself and its host.
    expect(await app().locator('#origin').textContent()).toBe('origin: null')
    expect(await app().locator('#top').textContent()).toBe('top: blocked (SecurityError)')
    const proxy = frameNamed(/\/ui\/apps\/sandbox\.html/)
    const inner = frameNamed(/^about:srcdoc$/)
    expect(proxy).toBeDefined()
    expect(inner).toBeDefined()
    expect(await proxy!.evaluate(() => (globalThis as unknown as { origin: string }).origin)).toBe('null')
    expect(await inner!.evaluate(() => (globalThis as unknown as { origin: string }).origin)).toBe('null')
    // The app is sandboxed from the proxy too (else it could script the proxy's frame).
    expect(await proxy!.evaluate(() => (globalThis as unknown as { document: { querySelector: (s: string) => { getAttribute: (a: string) => string | null } | null } }).document.querySelector('iframe')?.getAttribute('sandbox'))).toBe('allow-scripts')
    expect(await inner!.evaluate(() => { try { return (globalThis as unknown as { parent: { document: { title: string } } }).parent.document.title } catch (e) { return (e as Error).name } })).toBe('SecurityError')
    // Nor can it read the page's storage (where the token lives).
    expect(await inner!.evaluate(() => { try { return String((globalThis as unknown as { localStorage: { length: number } }).localStorage.length) } catch (e) { return (e as Error).name } })).toBe('SecurityError')
    await expectClean(watch)
  })

  it('opens a link the app asks for only if the person agrees, and never a script URL', async () => {
    const inner = frameNamed(/^about:srcdoc$/)!
    let nextId = 1000
    // The app's side of ui/open-link, sent from its frame as the app itself would.
    const openLink = async (url: string): Promise<unknown> => await inner.evaluate(async ({ u, id }) => await new Promise(resolve => {
      const g = globalThis as unknown as { parent: { postMessage: (m: unknown, o: string) => void }, addEventListener: (t: string, f: (e: { data: { id?: number, result?: unknown, error?: unknown } }) => void) => void }
      g.addEventListener('message', e => { if (e.data.id === id) resolve(e.data.result ?? e.data.error) })
      g.parent.postMessage({ jsonrpc: '2.0', id, method: 'ui/open-link', params: { url: u } }, '*')
    }), { u: url, id: nextId++ })
    const target = `${mesh.net.nodes[1]!.httpUrl}/healthz`
    const asked: string[] = []
    let agree = false
    const onDialog = (d: Dialog): void => { asked.push(d.message()); void (agree ? d.accept() : d.dismiss()) }
    page.on('dialog', onDialog)
    expect(await openLink(target)).toEqual({ isError: true })
    expect(asked).toEqual([`The ${APP_TOOL} app wants to open ${target}. Open it in a new tab?`])
    agree = true
    const popup = watch.context.waitForEvent('page')
    expect(await openLink(target)).toEqual({})
    const opened = await popup
    await expect.poll(() => opened.url()).toBe(target)
    await opened.close()
    // Refused without a question.
    expect(await openLink('javascript:alert(1)')).toEqual({ isError: true })
    expect(asked).toHaveLength(2)
    page.off('dialog', onDialog)
    await expectClean(watch)
  })

  it('opens the proxy in an opaque origin even outside its frame', async () => {
    const other = await openPage(browser, mesh.net.nodes[0]!.httpUrl + '/ui/apps/sandbox.html')
    expect(await other.page.evaluate(() => (globalThis as unknown as { origin: string }).origin)).toBe('null')
    await other.context.close()
  })

  it('asks the app to tear down before it closes', async () => {
    await page.getByRole('button', { name: `Close the ${APP_TOOL} app` }).click()
    await expect.poll(async () => await proxyFrame().count()).toBe(0)
    // The app was asked, and still connected while it answered: its call went through.
    expect(agent.calls).toEqual([APP_TOOL, ADD_TOOL, CLOSED_TOOL])
    await expectClean(watch)
  })

  it('gives the app no network beyond its declared domains (a hostile declaration was dropped)', async () => {
    // The tool's form is still open from the first call.
    const form = page.getByRole('form', { name: `Arguments of ${APP_TOOL}` })
    await form.getByLabel(/text/i).fill('again')
    await form.getByRole('button', { name: `Call ${APP_TOOL}` }).click()
    await expect.poll(async () => await app().locator('#sum').textContent(), { timeout: 15_000 }).toBe('sum: sum 5')
    const inner = frameNamed(/^about:srcdoc$/)
    // Not even a no-cors request to the node's API leaves the frame. Last: the refusal is
    // logged in the app's frame, which the page's console listener also hears.
    const url = `${mesh.net.nodes[0]!.httpUrl}/api/v1/node`
    expect(await inner!.evaluate(async (u) => await fetch(u, { mode: 'no-cors' }).then(() => 'sent', () => 'blocked'), url)).toBe('blocked')
  })

  it('does not re-run the app of a call restored from history until the person asks', async () => {
    const result = { content: [{ type: 'text', text: 'shown: from history' }] }
    // The entry as the page's history restores it, put in the page's own store.
    // (A string: vitest would rewrite an import() inside a function.)
    const entry = { role: 'call', tool: APP_TOOL, args: { text: 'from history' }, status: 'done', result, restored: true }
    const id = await page.evaluate<string>(`import('/ui/state/conversations.js').then(m => m.addEntry('apps', ${JSON.stringify(entry)}))`)
    const reply = page.locator(`[data-entry-reply="${id}"]`)
    const open = reply.getByRole('button', { name: `Open the ${APP_TOOL} app` })
    await open.waitFor({ timeout: 15_000 })
    const before = agent.calls.length
    expect(await reply.locator('iframe').count()).toBe(0)
    await open.click()
    const restored = reply.frameLocator('iframe').frameLocator('iframe')
    await expect.poll(async () => await restored.locator('#sum').textContent(), { timeout: 15_000 }).toBe('sum: sum 5')
    expect(await restored.locator('#input').textContent()).toBe('input: {"text":"from history"}')
    expect(agent.calls.slice(before)).toEqual([ADD_TOOL])
  })
})
