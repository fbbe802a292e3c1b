// The mesh MCP server as a client sees it: the official SDK client over Streamable HTTP
// against the real endpoint, with a recording MeshCaller in place of the router.
import { describe, it, expect, beforeAll, afterAll, afterEach } from 'vitest'
import { setTimeout as sleep } from 'node:timers/promises'
import { ProtocolError as McpError, ProtocolErrorCode as ErrorCode, type Client } from '@modelcontextprotocol/client'
import { NodeUnreachableError, UnknownAgentError, AgentFailedError } from '../../../src/routing/errors.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { eventually } from '../../../../test/support/eventually.ts'
import { connectClient, newNodeId, record, RecordingCaller, startEndpoint, TestCatalog, type Endpoint } from './fixtures.ts'

let nodeA: string
let nodeB: string
let records: AgentRecord[]
let catalog: TestCatalog
let caller: RecordingCaller
let endpoint: Endpoint
const clients: Client[] = []

const tagA = (): string => nodeA.slice(-10)
const tagB = (): string => nodeB.slice(-10)

async function client (): Promise<Client> {
  const { client: c } = await connectClient(endpoint.url)
  clients.push(c)
  return c
}

async function rejection (promise: Promise<unknown>): Promise<McpError> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(McpError)
    return err as McpError
  }
  throw new Error('expected an MCP error')
}

beforeAll(async () => {
  [nodeA, nodeB] = await Promise.all([newNodeId(), newNodeId()])
  records = [
    record(nodeA, 'echo', {
      name: 'Echo',
      tools: [
        { name: 'say', description: 'Says it back', inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] } },
        { name: 'fs/read:v1.2' }
      ]
    }),
    record(nodeB, 'notes', {
      name: 'Notes',
      tools: [{ name: 'add', description: 'Adds a note' }],
      prompts: [{ name: 'summarize', description: 'Summarizes notes', arguments: [{ name: 'topic', required: true }] }],
      resources: [{ uri: 'notes://all', name: 'all notes', mimeType: 'text/plain' }]
    })
  ]
  catalog = new TestCatalog(records)
  caller = new RecordingCaller()
  endpoint = await startEndpoint(catalog, caller, { timeoutMs: 5000 })
})

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close()
  catalog.set(records)
  caller.calls.length = 0
  caller.handler = new RecordingCaller().handler
})

afterAll(async () => {
  await endpoint.close()
})

describe('mesh MCP server: listing', () => {
  it('advertises tools, prompts and resources with listChanged', async () => {
    const c = await client()
    expect(c.getServerVersion()?.name).toBe('dawn-mesh')
    expect(c.getServerCapabilities()).toMatchObject({ tools: { listChanged: true }, prompts: { listChanged: true }, resources: { listChanged: true } })
  })

  it('names every tool <agentId>.<tool> by default, with _meta and the agent\'s own description', async () => {
    const c = await client()
    const { tools } = await c.listTools()
    const byName = new Map(tools.map((t) => [t.name, t]))
    expect([...byName.keys()]).toEqual(['echo.fs/read:v1.2', 'echo.say', 'notes.add'])
    const say = byName.get('echo.say')!
    expect(say._meta).toEqual({ 'dawn/agentId': 'echo', 'dawn/tool': 'say' })
    expect(say.description).toBe('Says it back')
    expect(say.inputSchema).toEqual({ type: 'object', properties: { text: { type: 'string' } }, required: ['text'] })
    const read = byName.get('echo.fs/read:v1.2')!
    expect(read.inputSchema).toEqual({ type: 'object' })
    expect(read._meta).toEqual({ 'dawn/agentId': 'echo', 'dawn/tool': 'fs/read:v1.2' })
  })

  it('names every tool <nodeTag>.<agentId>.<tool> in always-prefixed mode, with the node in _meta', async () => {
    const prefixed = await startEndpoint(catalog, caller, {}, { view: () => ({ naming: 'always-prefixed', toolFilters: {} }) })
    try {
      const { client: c } = await connectClient(prefixed.url)
      clients.push(c)
      const { tools } = await c.listTools()
      expect(tools.map((t) => t.name)).toEqual([`${tagA()}.echo.fs/read:v1.2`, `${tagA()}.echo.say`, `${tagB()}.notes.add`].sort())
      expect(tools.find((t) => t.name === `${tagA()}.echo.say`)?._meta).toEqual({ 'dawn/nodeId': nodeA, 'dawn/agentId': 'echo', 'dawn/tool': 'say' })
      expect(c.getInstructions()).toContain('<nodeTag>.<agentId>.<name>, one per node')
    } finally {
      await prefixed.close()
    }
  })

  it('lists prompts by mesh name and resources by dawn:// URI', async () => {
    const c = await client()
    const { prompts } = await c.listPrompts()
    expect(prompts).toEqual([{
      name: 'notes.summarize',
      description: 'Summarizes notes',
      arguments: [{ name: 'topic', required: true }],
      _meta: { 'dawn/agentId': 'notes', 'dawn/prompt': 'summarize' }
    }])
    const { resources } = await c.listResources()
    expect(resources).toEqual([{
      uri: `dawn://${nodeB}/notes/${encodeURIComponent('notes://all')}`,
      name: 'all notes',
            mimeType: 'text/plain',
      _meta: { 'dawn/nodeId': nodeB, 'dawn/agentId': 'notes', 'dawn/uri': 'notes://all' }
    }])
  })
})

describe('mesh MCP server: calls', () => {
  it('routes tools/call to the right node, agent and tool with the arguments, a deadline and the caller', async () => {
    const c = await client()
    const before = Date.now()
    const result = await c.callTool({ name: `${tagB()}.notes.add`, arguments: { text: 'hello', n: 2 } })
    expect(caller.calls).toHaveLength(1)
    const call = caller.calls[0]!
    expect(call.target).toEqual({ nodeId: nodeB, agentId: 'notes' })
    expect(call.op).toBe('tools/call')
    expect(call.params).toEqual({ name: 'add', arguments: { text: 'hello', n: 2 } })
    expect(call.opts?.caller).toMatch(/^mcp:[0-9a-f]{8}@127\.0\.0\.1$/)
    expect(call.opts?.signal).toBeInstanceOf(AbortSignal)
    expect(call.opts?.deadline).toBeGreaterThanOrEqual(before + 5000)
    expect(call.opts?.deadline).toBeLessThanOrEqual(Date.now() + 5000)
    expect(result.content).toEqual([{ type: 'text', text: JSON.stringify({ name: 'add', arguments: { text: 'hello', n: 2 } }) }])
    expect(result._meta).toEqual({ 'dawn/route': 'direct' })
  })

  it('calls tools whose names hold dots, colons and slashes', async () => {
    const c = await client()
    await c.callTool({ name: `${tagA()}.echo.fs/read:v1.2`, arguments: {} })
    expect(caller.calls[0]?.target).toEqual({ nodeId: nodeA, agentId: 'echo' })
    expect(caller.calls[0]?.params.name).toBe('fs/read:v1.2')
  })

  it('shortens the deadline to _meta dawn/timeoutMs, never lengthens it, and keeps dawn/* keys to itself', async () => {
    const c = await client()
    const before = Date.now()
    await c.callTool({ name: `${tagA()}.echo.say`, arguments: { text: 'x' }, _meta: { 'dawn/timeoutMs': 300, custom: 1 } })
    expect(caller.calls[0]?.opts?.deadline).toBeLessThanOrEqual(Date.now() + 300)
    expect(caller.calls[0]?.opts?.deadline).toBeGreaterThanOrEqual(before + 300)
    expect(caller.calls[0]?.params).toEqual({ name: 'say', arguments: { text: 'x' }, _meta: { custom: 1 } })
    await c.callTool({ name: `${tagA()}.echo.say`, arguments: { text: 'x' }, _meta: { 'dawn/timeoutMs': 600_000 } })
    expect(caller.calls[1]?.opts?.deadline).toBeLessThanOrEqual(Date.now() + 5000)
  })

  it('answers an unknown tool with an InvalidParams MCP error, without routing it', async () => {
    const c = await client()
    for (const name of ['nope', `${tagA()}.echo.nope`, `${tagA()}.ghost.say`, `zzzzzzzzzz.echo.say`]) {
      const err = await rejection(c.callTool({ name, arguments: {} }))
      expect(err.code).toBe(ErrorCode.InvalidParams)
      expect(err.message).toContain(`unknown tool "${name}"`)
    }
    expect(caller.calls).toHaveLength(0)
  })

  it('turns UnknownAgentError from the router into an InvalidParams MCP error', async () => {
    caller.handler = async () => { throw new UnknownAgentError('agent echo is gone') }
    const c = await client()
    const err = await rejection(c.callTool({ name: `${tagA()}.echo.say`, arguments: { text: 'x' } }))
    expect(err.code).toBe(ErrorCode.InvalidParams)
    expect(err.message).toContain(`unknown tool "${tagA()}.echo.say": agent echo is gone`)
  })

  it('turns other ToolCallErrors into an isError result naming the code', async () => {
    caller.handler = async () => { throw new NodeUnreachableError('no route to node') }
    const c = await client()
    const result = await c.callTool({ name: `${tagA()}.echo.say`, arguments: { text: 'x' } })
    expect(result).toEqual({ isError: true, content: [{ type: 'text', text: 'node-unreachable: no route to node' }], _meta: { 'dawn/error': 'node-unreachable' } })
  })

  it('reads resources by dawn:// URI with the original URI, and hands back the dawn:// URI', async () => {
    const c = await client()
    const uri = `dawn://${nodeB}/notes/${encodeURIComponent('notes://all')}`
    const result = await c.readResource({ uri })
    expect(caller.calls[0]).toMatchObject({ target: { nodeId: nodeB, agentId: 'notes' }, op: 'resources/read', params: { uri: 'notes://all' } })
    expect(result.contents).toEqual([{ uri, text: 'resource text' }])
    const unknown = await rejection(c.readResource({ uri: 'notes://all' }))
    expect(unknown.code).toBe(ErrorCode.InvalidParams)
    expect(unknown.message).toContain('unknown resource "notes://all"')
    caller.handler = async () => { throw new AgentFailedError('agent crashed') }
    const failed = await rejection(c.readResource({ uri }))
    expect(failed.code).toBe(ErrorCode.InternalError)
    expect(failed.message).toContain('agent crashed')
    expect(failed.data).toEqual({ code: 'agent-failed' })
  })

  it('gets prompts by mesh name with the original name and arguments', async () => {
    const c = await client()
    const result = await c.getPrompt({ name: `${tagB()}.notes.summarize`, arguments: { topic: 'mesh' } })
    expect(caller.calls[0]).toMatchObject({ target: { nodeId: nodeB, agentId: 'notes' }, op: 'prompts/get', params: { name: 'summarize', arguments: { topic: 'mesh' } } })
    expect(result.messages).toEqual([{ role: 'user', content: { type: 'text', text: 'prompt summarize' } }])
    const unknown = await rejection(c.getPrompt({ name: `${tagB()}.notes.nope` }))
    expect(unknown.code).toBe(ErrorCode.InvalidParams)
    expect(unknown.message).toContain(`unknown prompt "${tagB()}.notes.nope"`)
    caller.handler = async () => { throw new NodeUnreachableError('no route') }
    const failed = await rejection(c.getPrompt({ name: `${tagB()}.notes.summarize`, arguments: { topic: 'mesh' } }))
    expect(failed.code).toBe(ErrorCode.InternalError)
    expect(failed.data).toEqual({ code: 'node-unreachable' })
  })

  it('hands the session as caller to the router (which audits routed calls) and audits refused names itself', async () => {
    const c = await client()
    endpoint.logs.length = 0
    await c.callTool({ name: `${tagB()}.notes.add`, arguments: { secret: 'hunter2' } })
    expect(caller.calls[0]?.opts?.caller).toMatch(/^mcp:[0-9a-f]{8}@127\.0\.0\.1$/)
    await rejection(c.callTool({ name: 'nope.x.y', arguments: {} }))
    const audit = endpoint.logs.filter((l) => l.fields.audit === true)
    expect(audit).toHaveLength(1)
    expect(audit[0]).toMatchObject({ level: 'info', msg: 'tool call', fields: { tool: 'nope.x.y', outcome: 'unknown-agent', caller: expect.stringMatching(/^mcp:/) } })
    expect(JSON.stringify(endpoint.logs)).not.toContain('hunter2')
  })

  it('aborts the router call when the client cancels', async () => {
    let aborted = false
    caller.handler = async ({ opts }) => await new Promise((_resolve, reject) => {
      opts?.signal?.addEventListener('abort', () => {
        aborted = true
        reject(new Error('aborted'))
      })
    })
    const c = await client()
    endpoint.logs.length = 0
    const controller = new AbortController()
    const pending = c.callTool({ name: `${tagA()}.echo.say`, arguments: { text: 'slow' } }, { signal: controller.signal })
    await eventually(async () => caller.calls.length === 1, { what: 'the call to reach the router', timeoutMs: 5000, intervalMs: 20 })
    expect(caller.calls[0]?.opts?.signal?.aborted).toBe(false)
    controller.abort(new Error('user gave up'))
    await expect(pending).rejects.toThrow()
    await eventually(async () => aborted, { what: 'the router call to be aborted', timeoutMs: 5000, intervalMs: 20 })
  })
})

describe('mesh MCP server: list changes', () => {
  it('sends tools/list_changed after a real change only, and only for the list that changed', async () => {
    const { client: c, streamOpen } = await connectClient(endpoint.url)
    clients.push(c)
    const seen: string[] = []
    c.setNotificationHandler('notifications/tools/list_changed', () => { seen.push('tools') })
    c.setNotificationHandler('notifications/prompts/list_changed', () => { seen.push('prompts') })
    await streamOpen

    catalog.set(records.map((r) => ({ ...r })))
    await sleep(400)
    expect(seen).toEqual([])

    const echo = records[0]!
    catalog.set([{ ...echo, tools: [...echo.tools, { name: 'shout' }] }, records[1]!])
    await eventually(async () => seen.length > 0, { what: 'tools/list_changed', timeoutMs: 5000, intervalMs: 20 })
    await sleep(300)
    expect(seen).toEqual(['tools'])
    const { tools } = await c.listTools()
    expect(tools.map((t) => t.name)).toContain('echo.shout')
  })

  it('gathers a burst of changes into one notification', async () => {
    const { client: c, streamOpen } = await connectClient(endpoint.url)
    clients.push(c)
    let count = 0
    c.setNotificationHandler('notifications/tools/list_changed', () => { count++ })
    await streamOpen
    const echo = records[0]!
    for (let i = 0; i < 5; i++) catalog.set([{ ...echo, tools: [...echo.tools, { name: `t${i}` }] }, records[1]!])
    await eventually(async () => count > 0, { what: 'tools/list_changed', timeoutMs: 5000, intervalMs: 20 })
    await sleep(300)
    expect(count).toBe(1)
  })

  it('stops listening to the catalog when the session ends', async () => {
    const base = catalog.listenerCount
    const { client: c, transport } = await connectClient(endpoint.url)
    expect(catalog.listenerCount).toBe(base + 1)
    await transport.terminateSession()
    await c.close()
    await eventually(async () => catalog.listenerCount === base, { what: 'the listener to go', timeoutMs: 5000, intervalMs: 20 })
  })
})
