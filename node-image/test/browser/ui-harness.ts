// A real mesh and a real Chromium for the chat UI tests. Node 3 hosts the MCP reference
// server (server-everything, unmodified from npm) behind a TCP recorder, so a test can say
// what the agent itself received (a cancellation, say).
import { existsSync } from 'node:fs'
import { expect } from 'vitest'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startMesh, eventually, type Mesh } from '../mesh/harness.ts'
import { startEverythingServer, type EverythingServer } from '../../../test/support/mcp-features/everything-server.ts'
import { startTcpRecorder, type TcpRecorder } from '../../../test/support/tcp-recorder.ts'
import type { AgentConfig } from '../../src/config/schema.ts'

export const CHROMIUM = process.env.DAWN_CHROMIUM ?? '/usr/bin/chromium'

export interface UiMesh {
  mesh: Mesh
  everything: EverythingServer
  recorder: TcpRecorder
  stop: () => Promise<void>
}

/** Three nodes; node 3 hosts `everything`; `extra(i)` adds agents per node. */
export async function startUiMesh (extra: (i: number) => AgentConfig[] = () => []): Promise<UiMesh> {
  const everything = await startEverythingServer()
  const recorder = await startTcpRecorder({ host: '127.0.0.1' }, { host: '127.0.0.1', port: Number(everything.url.port) })
  const mesh = await startMesh({
    nodes: 3,
    agents: i => [
      ...(i === 2 ? [{ id: 'everything', kind: 'remote' as const, url: `http://127.0.0.1:${recorder.port}/mcp`, description: 'the MCP reference server' }] : []),
      ...extra(i)
    ]
  })
  for (const i of [0, 1, 2]) {
    await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ agentId: string, tools: unknown[] }> }>(i, '/api/v1/registry')
      return reg.entries.some(e => e.agentId === 'everything' && e.tools.length > 0) ? true : undefined
    }, { what: `the reference server in node ${i + 1}'s registry`, timeoutMs: 30_000 })
  }
  return {
    mesh,
    everything,
    recorder,
    stop: async () => {
      await mesh.stop()
      await recorder.close()
      await everything.stop()
    }
  }
}

export async function launchChromium (): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}. Install it with: sh scripts/install-debian-packages.sh (Debian package "chromium"), or set DAWN_CHROMIUM.`)
  return await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
  })
}

/** What went wrong on a page that no assertion asked about: console errors, page errors, CSP violations, injected script. */
export interface PageWatch {
  page: Page
  context: BrowserContext
  problems: () => Promise<string[]>
}

export async function openPage (browser: Browser, url: string, opts: { theme?: 'light' | 'dark', viewport?: { width: number, height: number } } = {}): Promise<PageWatch> {
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 }, colorScheme: opts.theme ?? 'light', acceptDownloads: true })
  const page = await context.newPage()
  const seen: string[] = []
  page.on('console', msg => { if (msg.type() === 'error') seen.push(`console: ${msg.text()}`) })
  page.on('pageerror', err => seen.push(`pageerror: ${err.message}`))
  // Which request failed: the console line alone does not say.
  page.on('response', res => { if (res.status() >= 400) seen.push(`http ${res.status()} ${res.request().method()} ${new URL(res.url()).pathname}`) })
  // Runs before the page's own scripts and outside its CSP.
  await page.addInitScript(() => {
    interface Violation { violatedDirective: string, blockedURI: string }
    const w = globalThis as unknown as { __violations: string[], document: { addEventListener: (type: string, fn: (e: Violation) => void) => void } }
    w.__violations = []
    w.document.addEventListener('securitypolicyviolation', e => { w.__violations.push(`${e.violatedDirective}: ${e.blockedURI}`) })
  })
  await page.goto(url)
  return {
    page,
    context,
    problems: async () => {
      const inPage = await page.evaluate(() => {
        const w = globalThis as unknown as { __violations: string[], __pwned?: unknown }
        return [...w.__violations.map(v => `csp: ${v}`), ...(w.__pwned === undefined ? [] : ['injected script ran'])]
      })
      return [...seen, ...inPage]
    }
  }
}

/** `allow` names problems a test expects (a 401 before the token is given). */
export async function expectClean (watch: PageWatch, allow: RegExp[] = []): Promise<void> {
  expect((await watch.problems()).filter(p => !allow.some(a => a.test(p)))).toEqual([])
}

/** Picks an agent in the list, as a person would. */
export async function pickAgent (page: Page, agentId: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Agents' }).getByRole('button', { name: new RegExp(agentId) }).first().click()
  await page.getByRole('heading', { level: 2, name: new RegExp(agentId) }).waitFor()
}

/** A tool or prompt button's name: its title, then its own name last. */
export function listedAs (name: string): RegExp {
  return new RegExp(`(^|\\s)${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
}

/** Opens a tool's form in the side panel. */
export async function openTool (page: Page, tool: string): Promise<void> {
  await page.getByRole('tab', { name: /Tools/ }).click()
  await page.getByRole('tabpanel').getByRole('button', { name: listedAs(tool) }).click()
}

/** Opens the network's room, as a person would. */
export async function openRoom (page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Everyone/ }).click({ timeout: 15_000 })
  await page.getByRole('heading', { level: 2, name: 'Everyone' }).waitFor()
}
