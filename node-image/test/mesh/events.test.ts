// The node event stream on real node processes: node 1's page follows registry, presence and
// peer changes made on node 3, and resumes after a disconnect without losing an event.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startMesh, eventually, type Mesh } from './harness.ts'
import { openEvents, type SseEvent, type SseStream } from '../support/sse-client.ts'

interface PresenceReply { lastEventId: string, entries: Array<{ agentId: string, nodeId: string, state: string }> }
interface PeerView { peerId: string, verified: boolean }

const seq = (id: string | undefined): number => Number(id?.slice(id.lastIndexOf('-') + 1))
const agent = (id: string): Record<string, unknown> => ({ id, name: id, description: `the ${id} agent`, tools: [{ name: 'ask' }] })

describe('GET /api/v1/events on a three-node mesh', () => {
  let mesh: Mesh
  const streams: SseStream[] = []
  beforeAll(async () => {
    mesh = await startMesh({ nodes: 3 })
    await eventually(async () => (await mesh.get<PeerView[]>(0, '/api/v1/peers')).filter(p => p.verified).length === 2, { what: 'node 1 verified both peers' })
  })
  afterAll(async () => {
    for (const s of streams) s.close()
    await mesh.stop()
  })

  const open = async (lastEventId?: string): Promise<SseStream> => {
    const s = await openEvents(`${mesh.net.nodes[0]?.httpUrl ?? ''}/api/v1/events`, lastEventId === undefined ? {} : { lastEventId })
    streams.push(s)
    expect(s.status).toBe(200)
    return s
  }
  const waitFor = async (s: SseStream, what: string, match: (e: SseEvent) => boolean): Promise<SseEvent> =>
    await eventually(async () => s.events.find(match), { what, detail: async () => JSON.stringify(s.events, null, 1) })

  it('says hello, follows a remote agent, resumes without loss, and sees node 3 leave', async () => {
    const self = mesh.net.nodes[0]?.peerId ?? ''
    const node3 = mesh.net.nodes[2]?.peerId ?? ''
    const first = await open()
    const hello = await waitFor(first, 'hello', e => e.event === 'hello')
    expect(first.events[0]).toBe(hello)
    expect(hello.data).toMatchObject({ nodeId: self, network: mesh.net.network, tokenRequired: false, encryption: 'required', naming: 'logical', bootId: expect.stringMatching(/^[0-9a-f]{12}$/) })

    await mesh.editConfig(2, c => { c.agents = [agent('weather')] })
    const registry = await waitFor(first, 'a registry event for weather', e => e.event === 'registry' && JSON.stringify((e.data as { changed: unknown[] }).changed).includes('"weather"'))
    expect(registry.data).toMatchObject({ digest: expect.any(String), changed: [{ nodeId: node3, agentId: 'weather' }], removed: [] })
    await waitFor(first, 'weather online', e => e.event === 'presence' && JSON.stringify(e.data) === JSON.stringify({ agentId: 'weather', nodeId: node3, state: 'online' }))
    const listed = await mesh.get<PresenceReply>(0, '/api/v1/presence')
    expect(listed.entries).toContainEqual({ agentId: 'weather', nodeId: node3, state: 'online' })

    // Disconnect; a change lands meanwhile; resume from the last id seen.
    const resumeFrom = first.lastEventId() ?? ''
    first.close()
    await mesh.editConfig(2, c => { c.agents = [agent('weather'), agent('news')] })
    // Listed in the presence snapshot only once its registry and presence events were published.
    const after = await eventually(async () => {
      const p = await mesh.get<PresenceReply>(0, '/api/v1/presence')
      return p.entries.some(e => e.agentId === 'news') ? p : undefined
    }, { what: 'news published on node 1 while no stream was open' })
    expect(seq(after.lastEventId)).toBeGreaterThan(seq(resumeFrom))

    const resumed = await open(resumeFrom)
    await eventually(async () => seq(resumed.lastEventId()) >= seq(after.lastEventId), { what: 'the missed events replayed', detail: async () => JSON.stringify(resumed.events, null, 1) })
    expect(resumed.events[0]?.event).toBe('hello')
    expect(resumed.events.map(e => e.event)).not.toContain('reset')
    const ids = resumed.events.slice(1).map(e => seq(e.id))
    expect(ids.slice(0, seq(after.lastEventId) - seq(resumeFrom))).toEqual(Array.from({ length: seq(after.lastEventId) - seq(resumeFrom) }, (_, i) => seq(resumeFrom) + 1 + i))
    expect(resumed.events).toContainEqual(expect.objectContaining({ event: 'registry', data: expect.objectContaining({ changed: [{ nodeId: node3, agentId: 'news' }] }) }))
    expect(resumed.events).toContainEqual(expect.objectContaining({ event: 'presence', data: { agentId: 'news', nodeId: node3, state: 'online' } }))

    await mesh.procs[2]?.stop()
    await waitFor(resumed, 'node 3 left', e => e.event === 'peer' && JSON.stringify(e.data) === JSON.stringify({ peerId: node3, verified: false, route: 'none' }))
    for (const id of ['weather', 'news']) {
      await waitFor(resumed, `${id} unreachable`, e => e.event === 'presence' && JSON.stringify(e.data) === JSON.stringify({ agentId: id, nodeId: node3, state: 'unreachable' }))
    }
    expect((await mesh.get<PresenceReply>(0, '/api/v1/presence')).entries.filter(e => e.nodeId === node3).map(e => e.state)).toEqual(['unreachable', 'unreachable'])
  })
})
