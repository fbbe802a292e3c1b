// The MCP reference server, unmodified, as a remote agent on node B; clients on node A. What the
// agent sends back mid-call crosses the mesh end-to-end sealed like the call itself: progress,
// and its questions (elicitation, sampling, roots), which a 2025-11-25 client answers
// as server→client requests and a 2026-07-28 client in MRTR rounds that may land on any node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { CallToolResultSchema, ElicitRequestSchema, LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { startEverythingServer, type EverythingServer } from '../../../test/support/mcp-features/everything-server.ts'
import { SUBSCRIBED_URI } from '../../../test/support/mcp-features/plan.ts'

const MODERN = '2026-07-28'
const FORM = { elicitation: { form: {} } }

interface Listed { name: string, _meta?: Record<string, unknown> }

describe('MCP features across the mesh, against the reference server', () => {
  let mesh: Mesh
  let everything: EverythingServer
  const urls: URL[] = []
  const closers: Array<{ close: () => Promise<void> }> = []
  /** Mesh name of one of the reference server's tools, and mesh URI of one of its resources. */
  let tool: (name: string) => string
  let resource: (uri: string) => string

  beforeAll(async () => {
    everything = await startEverythingServer()
    mesh = await startMesh({
      nodes: 3,
      agents: (i) => i === 1
        ? [
            { id: 'everything', kind: 'remote', url: everything.url.href, description: 'the MCP reference server' },
            { id: 'notes', kind: 'builtin', builtin: 'notes', description: '' }
          ]
        : []
    })
    urls.push(...mesh.net.nodes.map((n) => new URL('/mcp', n.httpUrl)))
    const names = await eventually(async () => {
      const reg = await mesh.get<{ entries: Array<{ agentId: string, nodeId: string, tools: Array<{ name: string }> }> }>(0, '/api/v1/registry')
      const entry = reg.entries.find((e) => e.agentId === 'everything')
      if (entry === undefined || entry.tools.length === 0) return undefined
      return { nodeId: entry.nodeId, tools: entry.tools.map((t) => t.name) }
    }, { what: 'the reference server in node A\'s registry', timeoutMs: 30_000 })
    expect(names.tools).toContain('trigger-elicitation-request')
    tool = (name) => `${names.nodeId.slice(-10)}.everything.${name}`
    resource = (uri) => `dawn://${names.nodeId}/everything/${encodeURIComponent(uri)}`
  }, 120_000)

  afterAll(async () => {
    for (const c of closers.splice(0)) await c.close().catch(() => {})
    await mesh.stop()
    await everything.stop()
  })

  const legacyClient = async (i: number, capabilities: Record<string, unknown>): Promise<LegacyClient> => {
    const client = new LegacyClient({ name: 'dawn-relay-test', version: '1.0.0' }, { capabilities })
    await client.connect(new LegacyTransport(urls[i]!))
    closers.push(client)
    return client
  }

  const modernClient = async (i: number, capabilities: Record<string, unknown>): Promise<Client> => {
    const client = new Client({ name: 'dawn-relay-test', version: '1.0.0' }, { capabilities, versionNegotiation: { mode: { pin: MODERN } } })
    await client.connect(new StreamableHTTPClientTransport(urls[i]!))
    closers.push(client)
    return client
  }

  it('relays progress to a 2025-11-25 and a 2026-07-28 client, with their own tokens', async () => {
    const legacy = await legacyClient(0, {})
    const modern = await modernClient(0, {})
    const args = { duration: 0.3, steps: 3 }
    const seen: Record<string, number[]> = { legacy: [], modern: [] }
    const [fromLegacy, fromModern] = await Promise.all([
      legacy.callTool({ name: tool('trigger-long-running-operation'), arguments: args }, CallToolResultSchema, { onprogress: (p) => { seen.legacy!.push(p.progress) } }),
      modern.callTool({ name: tool('trigger-long-running-operation'), arguments: args }, { onprogress: (p) => { seen.modern!.push(p.progress) } })
    ])
    expect(JSON.stringify(fromLegacy.content)).toContain('Long running operation completed')
    expect(JSON.stringify(fromModern.content)).toContain('Long running operation completed')
    expect(seen.legacy).toEqual([1, 2, 3])
    // The v2 client adds nothing of its own on a call without input rounds.
    expect(seen.modern).toEqual([1, 2, 3])
  })

  it('asks a 2025-11-25 client the agent\'s elicitation as a server→client request', async () => {
    const legacy = await legacyClient(0, FORM)
    const asked: unknown[] = []
    legacy.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params)
      return { action: 'accept', content: { name: 'Ada', check: true, email: 'ada@example.org' } }
    })
    const result = await legacy.callTool({ name: tool('trigger-elicitation-request'), arguments: {} })
    expect(asked).toHaveLength(1)
    expect(JSON.stringify(result.content)).toContain('Ada')
  })

  it('answers a 2026-07-28 client\'s elicitation in MRTR rounds, the retry landing on another node', async () => {
    const client = new Client({ name: 'dawn-relay-test', version: '1.0.0' }, { capabilities: FORM, versionNegotiation: { mode: { pin: MODERN } }, inputRequired: { autoFulfill: false } })
    await client.connect(new StreamableHTTPClientTransport(urls[0]!))
    closers.push(client)
    const params = { name: tool('trigger-elicitation-request'), arguments: {} }
    const first = await client.request({ method: 'tools/call', params }, { allowInputRequired: true }) as Record<string, unknown>
    expect(first.resultType).toBe('input_required')
    const requests = first.inputRequests as Record<string, { method: string }>
    const [key, question] = Object.entries(requests)[0]!
    expect(question.method).toBe('elicitation/create')
    // The retry goes to node C, which holds nothing: the state names node B, which parked the call.
    const other = new Client({ name: 'dawn-relay-test', version: '1.0.0' }, { capabilities: FORM, versionNegotiation: { mode: { pin: MODERN } }, inputRequired: { autoFulfill: false } })
    await other.connect(new StreamableHTTPClientTransport(urls[2]!))
    closers.push(other)
    const retry = { ...params, inputResponses: { [key]: { action: 'accept', content: { name: 'Grace', check: true, email: 'grace@example.org' } } }, requestState: first.requestState }
    const done = await other.request({ method: 'tools/call', params: retry }, { allowInputRequired: true }) as Record<string, unknown>
    expect(done.resultType).not.toBe('input_required')
    expect(JSON.stringify(done.content)).toContain('Grace')
    // The state was for one round: using it again finds no parked call.
    await expect(other.request({ method: 'tools/call', params: retry }, { allowInputRequired: true })).rejects.toThrow(/requestState/)
  })

  it('gives a 2025-11-25 session the agent\'s session log lines at its level, and nothing to a session that set none', async () => {
    const loud = await legacyClient(0, {})
    const quiet = await legacyClient(0, {})
    const heard: Record<'loud' | 'quiet', unknown[]> = { loud: [], quiet: [] }
    loud.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { heard.loud.push(n.params) })
    quiet.setNotificationHandler(LoggingMessageNotificationSchema, (n) => { heard.quiet.push(n.params) })
    await loud.setLoggingLevel('debug')
    // The reference server logs every 5 s on each session whose client toggled it: both sessions do.
    for (const client of [loud, quiet]) {
      const toggled = await client.callTool({ name: tool('toggle-simulated-logging'), arguments: {} })
      expect(JSON.stringify(toggled.content)).toMatch(/Started simulated/)
    }
    await eventually(async () => await Promise.resolve(heard.loud.length >= 2 ? true : undefined), { what: 'two simulated log lines at the loud session', timeoutMs: 30_000 })
    expect(heard.quiet).toEqual([])
    expect(heard.loud[0]).toMatchObject({ level: expect.any(String), data: expect.anything() })
  })

  it('subscribes a 2025-11-25 session to an agent\'s resource and delivers its updates under the mesh URI', async () => {
    const client = await legacyClient(0, {})
    const updated: string[] = []
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updated.push(n.params.uri) })
    const uri = resource(SUBSCRIBED_URI)
    await client.subscribeResource({ uri })
    const toggled = await client.callTool({ name: tool('toggle-subscriber-updates'), arguments: {} })
    expect(JSON.stringify(toggled.content)).toMatch(/Started/)
    await eventually(async () => await Promise.resolve(updated.length > 0 ? true : undefined), { what: 'an update of the subscribed resource', timeoutMs: 30_000 })
    expect(new Set(updated)).toEqual(new Set([uri]))
    await client.unsubscribeResource({ uri })
  })

  it('follows a 2026-07-28 listen stream\'s resource subscription at the agent, and a 2025-11-25 subscription too', async () => {
    const notesUri = `dawn://${mesh.net.nodes[1]!.peerId}/notes/${encodeURIComponent('notes://all')}`
    const put = `${mesh.net.nodes[1]!.peerId.slice(-10)}.notes.put`
    const modern = await modernClient(0, {})
    const legacy = await legacyClient(0, {})
    const heard: Record<'modern' | 'legacy', string[]> = { modern: [], legacy: [] }
    modern.setNotificationHandler('notifications/resources/updated', (n) => { heard.modern.push(n.params.uri) })
    legacy.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { heard.legacy.push(n.params.uri) })
    const subscription = await modern.listen({ resourceSubscriptions: [notesUri] })
    expect(subscription.honoredFilter.resourceSubscriptions).toEqual([notesUri])
    await legacy.subscribeResource({ uri: notesUri })
    // The subscriptions reach the agent asynchronously: write until both have heard of a change.
    const writer = await modernClient(2, {})
    let n = 0
    await eventually(async () => {
      await writer.callTool({ name: put, arguments: { key: 'listened', value: `v${++n}` } })
      return heard.modern.length > 0 && heard.legacy.length > 0 ? true : undefined
    }, { what: 'resource updates at both subscribers', timeoutMs: 30_000, intervalMs: 500 })
    expect(new Set([...heard.modern, ...heard.legacy])).toEqual(new Set([notesUri]))
    await subscription.close()
  })

  it('refuses bad 2026-07-28 headers and a posted answer to nothing with the specification\'s errors, before anything reaches the agent', async () => {
    const served = async (): Promise<number> => await mesh.metric(1, 'dawn_tool_calls_served_total', { result: 'ok' })
    const before = await served()
    const envelope = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} }
    const post = async (headers: Record<string, string>, body: unknown): Promise<{ status: number, body: { error?: { code: number, message: string } } }> => {
      const res = await fetch(urls[0]!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, ...headers },
        body: JSON.stringify(body)
      })
      return { status: res.status, body: await res.json() as { error?: { code: number, message: string } } }
    }
    const call = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool('echo'), arguments: { message: 'x' }, _meta: envelope } }
    const wrongMethod = await post({ 'mcp-method': 'tools/list', 'mcp-name': tool('echo') }, call)
    expect(wrongMethod.status).toBe(400)
    expect(wrongMethod.body.error?.code).toBe(-32020)
    const noName = await post({ 'mcp-method': 'tools/call' }, call)
    expect(noName.status).toBe(400)
    expect(noName.body.error?.code).toBe(-32020)
    const otherName = await post({ 'mcp-method': 'tools/call', 'mcp-name': tool('get-sum') }, call)
    expect(otherName.status).toBe(400)
    expect(otherName.body.error?.code).toBe(-32020)
    // A JSON-RPC response posted in 2026-07-28 answers nothing: clients there never post responses.
    const answer = await post({ 'mcp-method': 'tools/call' }, { jsonrpc: '2.0', id: 'q1', result: { action: 'accept', content: {} } })
    expect(answer.status).toBe(400)
    // The same request with correct headers is served, so the refusals above were the headers' doing.
    const good = await post({ 'mcp-method': 'tools/call', 'mcp-name': tool('echo') }, call)
    expect(good.status).toBe(200)
    await eventually(async () => (await served()) === before + 1 ? true : undefined, { what: 'exactly the one good call served at node B', timeoutMs: 10_000 })
  })

  it('refuses a forged requestState before anything reaches the agent', async () => {
    const client = await modernClient(0, FORM)
    const listed = (await client.listTools()).tools as Listed[]
    expect(listed.some((t) => t.name === 'everything.echo')).toBe(true)
    const nodeB = mesh.net.nodes[1]!.peerId
    const forged = `dawn1.${nodeB}.${'0'.repeat(32)}.${Date.now() + 60_000}.AAAA`
    await expect(client.request({ method: 'tools/call', params: { name: tool('echo'), arguments: { message: 'x' }, inputResponses: {}, requestState: forged } }, { allowInputRequired: true }))
      .rejects.toThrow(/requestState/)
    const other = `dawn1.${mesh.net.nodes[2]!.peerId}.${'0'.repeat(32)}.${Date.now() + 60_000}.AAAA`
    await expect(client.request({ method: 'tools/call', params: { name: tool('echo'), arguments: { message: 'x' }, requestState: other } }, { allowInputRequired: true }))
      .rejects.toThrow(/requestState/)
  })
})
