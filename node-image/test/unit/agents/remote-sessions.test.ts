// A caller session's own agent session on a remote agent, in both revisions the node speaks:
// on 2025-11-25 a resource subscription is resources/subscribe on the agent session; on
// 2026-07-28, which has none, it is a subscriptions/listen stream. Either way the holder hears
// the agent's updates of that resource.
import { afterEach, describe, expect, it } from 'vitest'
import { serveBuiltinHttp } from '../../../src/agents/builtin-http-server.ts'
import type { CallEvent } from '../../../src/routing/types.ts'
import { eventually, Fixture, signal } from './fixture.ts'

const fx = new Fixture()
afterEach(async () => { await fx.cleanup() })

describe('caller sessions on a remote agent', () => {
  for (const [protocol, modern] of [['2026-07-28', true], ['2025-11-25', false]] as const) {
    it(`delivers the updates of a subscribed resource to the session holder (${protocol})`, async () => {
      const dir = await fx.tmpDir()
      const server = await serveBuiltinHttp('notes', { host: '127.0.0.1', port: 0, dataDir: dir, modern })
      fx.onCleanup(async () => { await server.close() })
      const host = await fx.host(dir)
      await host.setAgents([{ id: 'notes', kind: 'remote', description: '', url: server.url }])
      expect(fx.logs.find((l) => l.msg === 'agent connected')?.fields?.protocol).toBe(protocol)

      let closed = false
      const session = await host.openSession('notes', {}, signal(), () => { closed = true })
      fx.onCleanup(async () => { await session.close() })
      const events: CallEvent[] = []
      session.handle({ onEvent: (event) => { events.push(event) } })
      await session.subscribe('notes://all', signal())
      let n = 0
      await eventually(async () => {
        await host.call('notes', 'tools/call', { name: 'put', arguments: { key: 'k', value: `v${++n}` } }, signal())
        return events.some((e) => e.method === 'notifications/resources/updated') ? true : undefined
      }, { what: 'an update of notes://all', timeoutMs: 10_000, intervalMs: 100 })
      expect(new Set(events.map((e) => JSON.stringify(e)))).toEqual(new Set([JSON.stringify({ method: 'notifications/resources/updated', params: { uri: 'notes://all' } })]))
      await session.unsubscribe('notes://all', signal())
      expect(closed).toBe(false)
    })
  }
})
