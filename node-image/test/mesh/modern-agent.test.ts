// A 2026-07-28 agent (the official v2 server SDK, node-image/test/support/modern-agent.ts) as a
// remote agent on node B, used through node A by a 2026-07-28 client and a 2025-11-25 one. Node B
// speaks 2026-07-28 to it, and each call reaches it with exactly the capabilities of the caller
// driving it; its MRTR question, progress, log lines and completions reach both callers as they
// would from a 2025-11-25 agent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { REVIEW_REFUSAL, startModernAgent, type ModernAgent } from '../support/modern-agent.ts'

const MODERN = '2026-07-28'
const FORM = { elicitation: { form: {} } }
type Era = 'modern' | 'legacy'

describe('a 2026-07-28 agent behind the mesh', () => {
  let mesh: Mesh
  let agent: ModernAgent
  let url: URL
  /** The mesh name of one of the agent's tools or prompts, as node A lists it. */
  let named: (name: string) => string
  const closers: Client[] = []
  let connectedAt = 0

  beforeAll(async () => {
    agent = await startModernAgent()
    mesh = await startMesh({
      nodes: 2,
      agents: (i) => i === 1 ? [{ id: 'modern', kind: 'remote', url: agent.url, description: 'a 2026-07-28 server' }] : []
    })
    url = new URL('/mcp', mesh.net.nodes[0]!.httpUrl)
    const nodeB = mesh.net.nodes[1]!.peerId
    await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ agentId: string, tools: unknown[] }> }>(0, '/api/v1/registry')
      return reg.entries.some((e) => e.agentId === 'modern' && e.tools.length === 4) ? true : undefined
    }, { what: 'the modern agent in node A\'s registry', timeoutMs: 30_000 })
    named = (name) => `${nodeB.slice(-10)}.modern.${name}`
    connectedAt = Date.now()
  }, 120_000)

  afterAll(async () => {
    for (const c of closers.splice(0)) await c.close().catch(() => {})
    await mesh.stop()
    await agent.close()
  })

  const connect = async (era: Era, capabilities: Record<string, unknown>): Promise<Client> => {
    const client = new Client({ name: 'dawn-modern-agent-test', version: '1.0.0' }, {
      capabilities,
      versionNegotiation: era === 'modern' ? { mode: { pin: MODERN } } : { mode: 'legacy' }
    })
    await client.connect(new StreamableHTTPClientTransport(url))
    closers.push(client)
    expect(client.getProtocolEra()).toBe(era)
    return client
  }

  /** The agent's requests since `from`, other than the node's own listing and discovery. */
  const callsSince = (from: number, method: string): typeof agent.seen => agent.seen.slice(from).filter((s) => s.method === method)

  it('is spoken to in 2026-07-28 only: discovered, listed and listened to without initialize', () => {
    expect(agent.seen.length).toBeGreaterThan(0)
    expect(agent.seen[0]!.method).toBe('server/discover')
    expect(agent.seen.map((s) => s.method)).not.toContain('initialize')
    expect(agent.seen.every((s) => s.protocolVersion === MODERN)).toBe(true)
    expect(agent.seen.map((s) => s.method)).toContain('tools/list')
  })

  for (const era of ['modern', 'legacy'] as const) {
    it(`lists its tools and prompts to a ${era} client`, async () => {
      const client = await connect(era, {})
      const tools = (await client.listTools()).tools.map((t) => t.name)
      expect(tools).toEqual(expect.arrayContaining([named('ask'), named('count'), named('chat')]))
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name)
      expect(prompts).toContain(named('review'))
    })

    it(`asks a ${era} client its question, with exactly that client's capabilities at the agent`, async () => {
      const client = await connect(era, FORM)
      const asked: unknown[] = []
      client.setRequestHandler('elicitation/create', async (request) => {
        asked.push(request.params.message)
        return { action: 'accept', content: { name: era === 'modern' ? 'Ada' : 'Grace' } }
      })
      const from = agent.seen.length
      const progress: unknown[] = []
      const result = await client.callTool({ name: named('ask'), arguments: { topic: era } }, { onprogress: (p) => { progress.push(p) } })
      expect(asked).toEqual([`Your name, for ${era}?`])
      // The agent reported no progress. A 2026-07-28 caller's own Client reports the round it
      // answered; the node's Client does the same for its round with the agent, which is not the agent's.
      const ownRound = { progress: 1, message: 'Fulfilling input required by \'tools/call\' (round 1)' }
      expect(progress).toEqual(era === 'modern' ? [ownRound] : [])
      expect(JSON.stringify(result.content)).toContain(`hello ${era === 'modern' ? 'Ada' : 'Grace'} (accept)`)
      // The first round and the retry with the answer, each declaring what this caller declared.
      const calls = callsSince(from, 'tools/call')
      expect(calls).toHaveLength(2)
      // toEqual, not toMatchObject: a superset of the caller's capabilities must fail.
      expect(calls.map((c) => [c.name, c.protocolVersion, c.capabilities])).toEqual([['ask', MODERN, FORM], ['ask', MODERN, FORM]])
    })

    it(`reports the agent's progress to a ${era} client`, async () => {
      const client = await connect(era, {})
      const from = agent.seen.length
      const seen: number[] = []
      const result = await client.callTool({ name: named('count'), arguments: {} }, { onprogress: (p) => { seen.push(p.progress) } })
      expect(JSON.stringify(result.content)).toContain('counted')
      expect(seen).toEqual([1, 2, 3])
      // The agent's own 2026-07-28 stamp (its serverInfo) stays at node B, as a 2025-11-25 agent has none.
      expect(JSON.stringify(result._meta ?? {})).not.toContain('modern-agent')
      // A caller with no capabilities is one the agent may not ask anything.
      expect(callsSince(from, 'tools/call')).toEqual([{ method: 'tools/call', name: 'count', protocolVersion: MODERN, capabilities: {} }])
    })

    it(`gives a ${era} client the agent's log lines at its level`, async () => {
      const client = await connect(era, {})
      const heard: unknown[] = []
      client.setNotificationHandler('notifications/message', (n) => { heard.push(n.params) })
      const from = agent.seen.length
      // eslint-disable-next-line @typescript-eslint/no-deprecated -- the 2025-11-25 way, which this client speaks
      if (era === 'legacy') await client.setLoggingLevel('info')
      const result = await client.callTool({
        name: named('chat'),
        arguments: {},
        ...(era === 'modern' ? { _meta: { 'io.modelcontextprotocol/logLevel': 'info' } } : {})
      })
      expect(JSON.stringify(result.content)).toContain('chatted')
      // A 2025-11-25 session may hear them on its GET stream, after the result.
      await eventually(async () => await Promise.resolve(heard.length > 0 ? true : undefined), { what: 'the agent\'s log line', timeoutMs: 10_000, intervalMs: 20 })
      expect(heard).toEqual([{ level: 'info', data: { said: 'hello from the modern agent' } }])
      // 2026-07-28 has no logging/setLevel: the level went with the call.
      expect(callsSince(from, 'tools/call')).toMatchObject([{ name: 'chat', logLevel: 'info' }])
    })

    it(`cancels the agent's call when a ${era} client cancels its own`, async () => {
      const client = await connect(era, {})
      const cancel = new AbortController()
      const running = client.callTool({ name: named('wait'), arguments: { tag: era } }, { signal: cancel.signal })
      await eventually(async () => await Promise.resolve(agent.waiting.has(era) ? true : undefined), { what: 'the call at the agent', timeoutMs: 10_000, intervalMs: 20 })
      cancel.abort(new Error('the user gave up'))
      await expect(running).rejects.toThrow()
      await eventually(async () => await Promise.resolve(agent.cancelled.includes(era) ? true : undefined), { what: 'the agent to see the cancellation', timeoutMs: 10_000, intervalMs: 20 })
    })

    it(`completes the agent's prompt argument for a ${era} client`, async () => {
      const client = await connect(era, {})
      const result = await client.complete({ ref: { type: 'ref/prompt', name: named('review') }, argument: { name: 'language', value: 'ty' } })
      expect(result.completion.values).toEqual(['typescript'])
    })

    it(`gives a ${era} client the agent's own error code when it refuses`, async () => {
      const client = await connect(era, {})
      const err = await client.getPrompt({ name: named('review'), arguments: {} }).then(() => undefined, (e: unknown) => e as { code?: number, message?: string })
      expect(err?.code).toBe(REVIEW_REFUSAL.code)
      expect(err?.message).toContain(REVIEW_REFUSAL.message)
    })
  }

  it('opens the per-caller sessions from the first discovery, with no round trip of their own', () => {
    // The calls above ran on several agent sessions (one per capability set and log level); only
    // the main session discovered, besides its health checks (server/discover every 30 s).
    const discoveries = agent.seen.filter((s) => s.method === 'server/discover').length
    expect(discoveries).toBeLessThanOrEqual(1 + Math.ceil((Date.now() - connectedAt) / 30_000))
  })
})
