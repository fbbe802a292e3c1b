// SessionChannels with a scripted agent session (a double; the same paths run against the MCP
// reference server in node-image/test/mesh/mcp-relay.test.ts). Here: isolation between peers,
// limits, and answers that match no question.
import { describe, expect, it } from 'vitest'
import { SessionChannels } from '../../../src/agents/session-channels.ts'
import type { DedicatedSession, LeaseHandlers } from '../../../src/agents/call-sessions.ts'
import type { CallEvent } from '../../../src/routing/types.ts'

const ID = (n: number): string => n.toString(16).padStart(32, '0')

function channels (init: { maxPerPeer?: number, idleMs?: number, attachGraceMs?: number } = {}): { channels: SessionChannels, opened: Array<{ agentId: string, caps: Record<string, unknown>, handlers: () => LeaseHandlers, closed: () => boolean }> } {
  const opened: Array<{ agentId: string, caps: Record<string, unknown>, handlers: () => LeaseHandlers, closed: () => boolean }> = []
  const agents = {
    openSession: async (agentId: string, caps: Record<string, unknown>): Promise<DedicatedSession> => {
      let handlers: LeaseHandlers = {}
      let closed = false
      opened.push({ agentId, caps, handlers: () => handlers, closed: () => closed })
      return await Promise.resolve({
        // Never used by these paths: calls and subscriptions on it are the mesh test's.
        client: undefined as unknown as DedicatedSession['client'],
        handle: (h) => { handlers = h },
        useLogLevel: async () => {},
        requestMeta: () => ({}),
        subscribe: async () => {},
        unsubscribe: async () => {},
        close: async () => { closed = true }
      })
    }
  }
  return { channels: new SessionChannels({ agents }, init), opened }
}

describe('SessionChannels', () => {
  it('gives each peer its own agent session for the same id, with that peer\'s capabilities', async () => {
    const { channels: c, opened } = channels()
    const a = await c.sessionFor('peer-a', ID(1), 'everything', { capabilities: { sampling: {} } })
    const b = await c.sessionFor('peer-b', ID(1), 'everything', { capabilities: {} })
    expect(a).not.toBe(b)
    expect(opened.map((o) => o.caps)).toEqual([{ sampling: {} }, {}])
    expect(await c.sessionFor('peer-a', ID(1), 'everything', undefined)).toBe(a)
    await expect(c.sessionFor('peer-a', ID(1), 'notes', undefined)).rejects.toThrow(/another agent/)
  })

  it('sends the agent\'s questions down the session stream and takes the answer only for a question asked', async () => {
    const { channels: c, opened } = channels()
    const events: CallEvent[] = []
    const stream = new AbortController()
    const open = c.open('peer-a', ID(2), 'everything', { capabilities: { elicitation: {} } }, (e) => { events.push(e) }, stream.signal)
    await expect.poll(() => opened.length).toBe(1)
    await expect.poll(() => opened[0]!.handlers().onRequest !== undefined).toBe(true)
    const answer = opened[0]!.handlers().onRequest!({ method: 'elicitation/create', params: { message: 'name?' } }, new AbortController().signal)
    await expect.poll(() => events.length).toBe(1)
    expect(events[0]).toEqual({ method: 'dawn/question', params: { id: 'q1', method: 'elicitation/create', params: { message: 'name?' } } })
    // Another peer cannot answer it, and a made-up question id finds nothing.
    await expect(c.request('peer-b', ID(2), 'everything', 'session/answer', { id: 'q1', result: { action: 'accept' } }, AbortSignal.timeout(1000), undefined)).rejects.toThrow(/no question/)
    await expect(c.request('peer-a', ID(2), 'everything', 'session/answer', { id: 'q7', result: {} }, AbortSignal.timeout(1000), undefined)).rejects.toThrow(/no question/)
    await c.request('peer-a', ID(2), 'everything', 'session/answer', { id: 'q1', result: { action: 'accept', content: { name: 'Ada' } } }, AbortSignal.timeout(1000), undefined)
    expect(await answer).toEqual({ action: 'accept', content: { name: 'Ada' } })
    stream.abort()
    expect(await open).toEqual({})
    expect(opened[0]!.closed()).toBe(true)
    expect(c.size).toBe(1) // peer-b's stray channel from the refused answer, closed when idle
  })

  it('holds a question that comes before the session stream until the stream attaches, and fails it when none does', async () => {
    const { channels: c, opened } = channels({ attachGraceMs: 200 })
    // The session's first call arrives before its session/open (they travel on different streams).
    await c.sessionFor('peer-a', ID(4), 'everything', { capabilities: { elicitation: {} } })
    await expect.poll(() => opened[0]?.handlers().onRequest !== undefined).toBe(true)
    const early = opened[0]!.handlers().onRequest!({ method: 'elicitation/create', params: { message: 'name?' } }, new AbortController().signal)
    const events: CallEvent[] = []
    const stream = new AbortController()
    const open = c.open('peer-a', ID(4), 'everything', undefined, (e) => { events.push(e) }, stream.signal)
    await expect.poll(() => events.length).toBe(1)
    await c.request('peer-a', ID(4), 'everything', 'session/answer', { id: 'q1', result: { action: 'decline' } }, AbortSignal.timeout(1000), undefined)
    expect(await early).toEqual({ action: 'decline' })
    stream.abort()
    await open
    // No stream ever: the question fails once the grace is over.
    await c.sessionFor('peer-a', ID(5), 'everything', undefined)
    await expect.poll(() => opened[1]?.handlers().onRequest !== undefined).toBe(true)
    await expect(opened[1]!.handlers().onRequest!({ method: 'elicitation/create', params: {} }, new AbortController().signal)).rejects.toThrow(/no open session stream/)
  })

  it('refuses more sessions than the per-peer limit and closes idle ones', async () => {
    const { channels: c, opened } = channels({ maxPerPeer: 2, idleMs: 20 })
    await c.sessionFor('peer-a', ID(1), 'x', undefined)
    await c.sessionFor('peer-a', ID(2), 'x', undefined)
    await expect(c.sessionFor('peer-a', ID(3), 'x', undefined)).rejects.toThrow(/too many caller sessions/)
    await c.sessionFor('peer-b', ID(3), 'x', undefined)
    await expect.poll(() => c.size, { timeout: 5000 }).toBe(0)
    expect(opened.every((o) => o.closed())).toBe(true)
  })
})
