/**
 * The chat page under load, in Debian's Chromium: a 3-node mesh with 200 agents and 1,000
 * room messages. Measures frame times and long tasks while the room scrolls and while a
 * person types (in the room composer and in the agent search), and the time from a message
 * sent through node 2's API to it showing on node 1's page.
 *   npm run bench -- ui [--agents 200] [--messages 1000] [--remote 100]
 */
import { parseArgs } from 'node:util'
import type { Page } from 'playwright-core'
import { startMesh } from '../test/mesh/harness.ts'
import { launchChromium, openPage } from '../test/browser/ui-harness.ts'
import { eventually } from '../../test/support/eventually.ts'
import { fmtMs, formatTable, summarize } from './util.ts'

interface Frames { frames: number[], longTasks: number[] }

/** Starts recording frame intervals (requestAnimationFrame) and long tasks in the page. */
async function startRecording (page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as unknown as { __rec: Frames & { stop: boolean }, requestAnimationFrame: (fn: (t: number) => void) => void, PerformanceObserver: new (fn: (list: { getEntries: () => Array<{ duration: number }> }) => void) => { observe: (o: unknown) => void } }
    const rec = { frames: [] as number[], longTasks: [] as number[], stop: false }
    g.__rec = rec
    let last: number | undefined
    const tick = (t: number): void => {
      if (last !== undefined) rec.frames.push(t - last)
      last = t
      if (!rec.stop) g.requestAnimationFrame(tick)
    }
    g.requestAnimationFrame(tick)
    new g.PerformanceObserver(list => { for (const e of list.getEntries()) rec.longTasks.push(e.duration) }).observe({ type: 'longtask', buffered: false })
  })
}

async function stopRecording (page: Page): Promise<Frames> {
  return await page.evaluate(() => {
    const g = globalThis as unknown as { __rec: Frames & { stop: boolean } }
    g.__rec.stop = true
    return { frames: g.__rec.frames, longTasks: g.__rec.longTasks }
  })
}

function frameRow (what: string, r: Frames): string[] {
  const s = summarize(r.frames)
  // A frame that took over 1.5 frame intervals missed its vsync.
  const over = r.frames.filter(f => f > 25).length
  return [what, String(s.n), fmtMs(s.p50), fmtMs(s.p90), fmtMs(s.p99), fmtMs(s.max), `${over} (${(100 * over / Math.max(1, s.n)).toFixed(1)} %)`, String(r.longTasks.length), fmtMs(r.longTasks.reduce((a, b) => a + b, 0))]
}

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { agents: { type: 'string', default: '200' }, messages: { type: 'string', default: '1000' }, remote: { type: 'string', default: '100' } } })
  const nAgents = Number(values.agents)
  const nMessages = Number(values.messages)
  const nRemote = Number(values.remote)
  const mesh = await startMesh({
    nodes: 3,
    agents: i => Array.from({ length: nAgents }, (_, a) => a).filter(a => a % 3 === i).map(a => ({
      id: `agent-${String(a).padStart(3, '0')}`,
      kind: 'static' as const,
      description: `bench agent ${a}, one of ${nAgents}`,
      tools: [{ name: 'alpha' }, { name: 'beta' }, { name: 'gamma' }]
    })),
    // The page's posting limit (5/s per node) would make a 1,000-message preload take minutes.
    patch: (_i, c) => { c.rooms = { ...(c.rooms as object | undefined), pageRate: { perSecond: 10_000, burst: 10_000 } } }
  })
  const browser = await launchChromium()
  try {
    const url = (i: number): string => mesh.net.nodes[i]?.httpUrl ?? ''
    await eventually(async () => ((await mesh.get<{ logical: unknown[] }>(0, '/api/v1/agents')).logical.length >= nAgents) || undefined, { what: `${nAgents} agents on node 1`, timeoutMs: 60_000 })
    const { networkRoom } = await mesh.get<{ networkRoom: string }>(1, '/api/v1/rooms')
    const room = encodeURIComponent(networkRoom)
    const post = async (i: number, text: string): Promise<void> => {
      const res = await fetch(`${url(i)}/api/v1/rooms/${room}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ nonce: `bench-${i}-${text.length}-${Math.random().toString(36).slice(2, 14)}`, nick: `node ${i + 1}`, text })
      })
      if (!res.ok) throw new Error(`post: HTTP ${res.status} ${await res.text()}`)
    }
    for (let m = 0; m < nMessages; m++) await post(m % 2 === 0 ? 1 : 2, `preloaded message ${m}: ${'lorem ipsum dolor sit amet '.repeat(1 + (m % 4))}`)
    await eventually(async () => ((await mesh.get<{ rooms: Array<{ room: string, messages: number }> }>(0, '/api/v1/rooms')).rooms.find(r => r.room === networkRoom)?.messages ?? 0) >= nMessages || undefined, { what: `${nMessages} messages on node 1`, timeoutMs: 120_000 })

    const watch = await openPage(browser, url(0) + '/')
    const { page } = watch
    await page.getByRole('navigation', { name: 'Agents' }).getByRole('button').nth(nAgents - 1).waitFor({ timeout: 60_000 })
    await page.getByRole('navigation', { name: 'Rooms' }).getByRole('button', { name: /^Everyone/ }).click()
    const list = page.getByRole('list', { name: 'Messages in Everyone' })
    await list.locator('[data-msg-id]').nth(150).waitFor({ timeout: 60_000 })
    const rows: string[][] = []

    await list.hover()
    await startRecording(page)
    for (let s = 0; s < 60; s++) await page.mouse.wheel(0, s < 30 ? -400 : 400)
    rows.push(frameRow('scrolling the room (60 wheel steps)', await stopRecording(page)))

    const input = page.getByLabel('Message to Everyone')
    await input.click()
    await startRecording(page)
    await page.keyboard.type('a sentence typed at a steady pace, to see whether the page keeps up. '.repeat(5).slice(0, 300), { delay: 15 })
    rows.push(frameRow('typing 300 characters in the room', await stopRecording(page)))
    await input.fill('')

    const search = page.getByLabel('Search agents')
    await search.click()
    await startRecording(page)
    await page.keyboard.type('bench agent 1', { delay: 40 })
    rows.push(frameRow(`typing into the agent search (${nAgents} agents)`, await stopRecording(page)))

    // Remote send → shown: stamped in this process just before node 2's API call, read from
    // the page's own stamp when the message first rendered (both wall clock, one machine).
    const latencies: number[] = []
    for (let m = 0; m < nRemote; m++) {
      const text = `remote ${m} ${Math.random().toString(36).slice(2)}`
      const sent = Date.now()
      await post(1, text)
      const el = list.locator('[data-msg-id]').filter({ hasText: text })
      await el.waitFor({ timeout: 15_000 })
      latencies.push(Number(await el.getAttribute('data-shown-at')) - sent)
    }
    const l = summarize(latencies)

    console.log(`\nChat page in Chromium: ${nAgents} agents, ${nMessages} room messages, 3 nodes\n`)
    console.log(formatTable(['what', 'frames', 'p50', 'p90', 'p99', 'max', 'missed (> 25 ms)', 'long tasks', 'long-task time'], rows))
    console.log(`\nremote message (sent through node 2's API) → shown on node 1's page, ${l.n} messages: p50 ${fmtMs(l.p50)}, p90 ${fmtMs(l.p90)}, p99 ${fmtMs(l.p99)}, max ${fmtMs(l.max)}`)
    const problems = await watch.problems()
    if (problems.length > 0) console.log(`page problems: ${problems.join('; ')}`)
  } finally {
    await browser.close()
    await mesh.stop()
  }
}
