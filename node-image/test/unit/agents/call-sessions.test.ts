// CallSessions with scripted clients (a double: the same leases serve every call in the mesh
// tests against the reference server). Here: many calls arriving while a session still opens.
import { describe, expect, it } from 'vitest'
import { CallSessions, type CallClient } from '../../../src/agents/call-sessions.ts'

function sessions (openMs: number): { calls: CallSessions, opened: () => number } {
  let opened = 0
  const open = async (): Promise<CallClient> => {
    opened++
    await new Promise((resolve) => setTimeout(resolve, openMs))
    const client = { setRequestHandler: () => {}, setNotificationHandler: () => {} } as unknown as CallClient['client']
    return { client, close: async () => {} }
  }
  return { calls: new CallSessions({ open, maxPerKey: 2 }), opened: () => opened }
}

describe('CallSessions', () => {
  it('serves every call that can be asked nothing from one shared session, even those arriving while it opens', async () => {
    const { calls, opened } = sessions(50)
    const leases = await Promise.all(Array.from({ length: 12 }, async () => await calls.lease({}, {}, AbortSignal.timeout(5000), true)))
    expect(new Set(leases.map((l) => l.client)).size).toBe(1)
    expect(opened()).toBe(1)
    await calls.closeAll()
  })

  it('gives calls that can be asked something a session each, at most maxPerKey, and the next one when a call ends', async () => {
    const { calls, opened } = sessions(10)
    const caps = { elicitation: {} }
    const [a, b] = await Promise.all([calls.lease(caps, {}, AbortSignal.timeout(5000)), calls.lease(caps, {}, AbortSignal.timeout(5000))])
    expect(a.client).not.toBe(b.client)
    const third = calls.lease(caps, {}, AbortSignal.timeout(5000))
    a.release()
    expect((await third).client).toBe(a.client)
    expect(opened()).toBe(2)
    await calls.closeAll()
  })
})
