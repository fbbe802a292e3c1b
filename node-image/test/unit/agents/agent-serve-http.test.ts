// `dawn-node agent serve --http` as a real process serves both MCP revisions on one port:
// 2026-07-28 stateless requests (server/discover, tools/call, subscriptions/listen) and
// 2025-11-25 sessions (initialize, resources/subscribe and updates on the GET stream), each
// driven by the official SDK v2 client.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client'
import { eventually } from '../../../../test/support/eventually.ts'
import { serveBuiltinHttp } from './agent-serve-process.ts'

const NOTES_ALL = 'notes://all'

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const cleanup of cleanups.splice(0).reverse()) await cleanup() })

/** Starts `dawn-node agent serve notes --http 0` and returns the URL it prints. */
async function serveNotes (): Promise<URL> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dawn-agent-serve-'))
  cleanups.push(async () => { await rm(dataDir, { recursive: true, force: true }) })
  const { url } = await serveBuiltinHttp('notes', ['--data-dir', dataDir], (cleanup) => { cleanups.push(cleanup) })
  return new URL(url)
}

async function connect (url: URL, mode: 'legacy' | { pin: string }): Promise<{ client: Client, methods: string[] }> {
  const methods: string[] = []
  const transport = new StreamableHTTPClientTransport(url, {
    fetch: async (input, init) => {
      const body = typeof init?.body === 'string' ? JSON.parse(init.body) as { method?: string } : undefined
      methods.push(`${init?.method ?? 'GET'} ${body?.method ?? '-'}`)
      return await fetch(input, init)
    }
  })
  const client = new Client({ name: 'dawn-test', version: '1.0.0' }, { versionNegotiation: { mode } })
  await client.connect(transport)
  cleanups.push(async () => { await client.close() })
  return { client, methods }
}

function text (result: CallToolResult): string {
  const first = result.content[0]
  return first?.type === 'text' ? first.text : ''
}

describe('dawn-node agent serve --http, both MCP revisions', () => {
  it('answers a 2026-07-28 client (server/discover, tools/call) and a 2025-11-25 session on the same port', async () => {
    const url = await serveNotes()

    const modern = await connect(url, { pin: '2026-07-28' })
    expect(modern.client.getProtocolEra()).toBe('modern')
    expect(modern.client.getServerVersion()?.name).toBe('dawn-notes')
    const put = await modern.client.callTool({ name: 'put', arguments: { key: 'k', value: 'from 2026' } })
    expect(put.isError).toBeUndefined()
    expect(modern.methods.slice(0, 2)).toEqual(['POST server/discover', 'POST tools/call'])
    expect(modern.methods).not.toContain('POST initialize')

    const legacy = await connect(url, 'legacy')
    expect(legacy.client.getProtocolEra()).toBe('legacy')
    expect(legacy.methods[0]).toBe('POST initialize')
    expect(text(await legacy.client.callTool({ name: 'get', arguments: { key: 'k' } }))).toBe('from 2026')
  })

  it('tells both a 2025-11-25 subscriber and a 2026-07-28 listener of a notes change', async () => {
    const url = await serveNotes()
    const legacy = await connect(url, 'legacy')
    const legacyUpdates: string[] = []
    legacy.client.setNotificationHandler('notifications/resources/updated', (n) => { legacyUpdates.push(n.params.uri) })
    await legacy.client.subscribeResource({ uri: NOTES_ALL })

    const modern = await connect(url, { pin: '2026-07-28' })
    const modernUpdates: string[] = []
    modern.client.setNotificationHandler('notifications/resources/updated', (n) => { modernUpdates.push(n.params.uri) })
    const subscription = await modern.client.listen({ resourceSubscriptions: [NOTES_ALL] })
    cleanups.push(async () => { await subscription.close() })
    expect(subscription.honoredFilter.resourceSubscriptions).toEqual([NOTES_ALL])

    // The change comes from a third client, over 2026-07-28.
    const writer = await connect(url, { pin: '2026-07-28' })
    await eventually(async () => {
      await writer.client.callTool({ name: 'put', arguments: { key: 'k', value: String(Date.now()) } })
      return (legacyUpdates.length > 0 && modernUpdates.length > 0) || undefined
    }, { what: 'resources/updated for both clients', timeoutMs: 10_000, intervalMs: 200 })
    expect(legacyUpdates[0]).toBe(NOTES_ALL)
    expect(modernUpdates[0]).toBe(NOTES_ALL)
  })
})
