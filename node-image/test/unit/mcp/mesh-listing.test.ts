// What /mcp lists beyond names, in pages, and where completions go: the real mesh requests
// behind both protocol faces, driven by the official SDK clients, with a recording MeshCaller.
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Client, InMemoryTransport, ProtocolError as McpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { createMeshRequests, MeshRequestError, type RequestExtra } from '../../../src/mcp/mesh-requests.ts'
import { createModernMcpHandler } from '../../../src/mcp/modern-mcp-handler.ts'
import { createMeshMcpServer } from '../../../src/mcp/legacy-mcp-server.ts'
import { AgentFailedError } from '../../../src/routing/errors.ts'
import { meshResourceTemplate, meshResourceUri } from '../../../src/routing/tool-names.ts'
import { newNodeId, record, RecordingCaller, TestCatalog } from './fixtures.ts'

const MODERN = '2026-07-28'
const log = (): void => {}
const ICON = { src: 'https://example.org/icon.png', mimeType: 'image/png', sizes: ['48x48'] }
const OUTPUT = { type: 'object', properties: { temperature: { type: 'number' } }, required: ['temperature'] }
const TEMPLATE = 'demo://resource/dynamic/text/{resourceId}'

let nodeA: string
let nodeB: string
let records: AgentRecord[]
const cleanups: Array<() => Promise<void>> = []

const extra = (): RequestExtra => ({ signal: new AbortController().signal, header: () => undefined })

beforeAll(async () => {
  [nodeA, nodeB] = await Promise.all([newNodeId(), newNodeId()])
  records = [
    record(nodeA, 'echo', { tools: [{ name: 'say' }, { name: 'shout' }, { name: 'whisper' }] }),
    record(nodeB, 'everything', {
      name: 'Everything',
      tools: [
        { name: 'get-structured-content', title: 'Structured', description: 'weather', inputSchema: { type: 'object' }, outputSchema: OUTPUT, annotations: { readOnlyHint: true, openWorldHint: false }, icons: [ICON], _meta: { 'vendor/x': 1, 'dawn/tool': 'spoofed' } },
        { name: 'echo' }
      ],
      prompts: [{ name: 'completable-prompt', title: 'Team Management', arguments: [{ name: 'department', required: true }], icons: [ICON] }],
      resources: [{ uri: 'demo://resource/static/document/a.md', name: 'a', title: 'A', size: 12, annotations: { priority: 0.5 }, _meta: { k: 'v' } }],
      resourceTemplates: [
        { uriTemplate: TEMPLATE, name: 'Dynamic Text Resource', title: 'Text', mimeType: 'text/plain', icons: [ICON], _meta: { k: 1 } },
        { uriTemplate: 'demo://resource/dynamic/blob/{resourceId}', name: 'Dynamic Blob Resource' }
      ]
    })
  ]
})

afterEach(async () => {
  for (const fn of cleanups.splice(0)) await fn()
})

async function legacyClient (catalog: TestCatalog, caller: RecordingCaller, pageSize?: number): Promise<Client> {
  const server = createMeshMcpServer({ catalog, caller, log }, { timeoutMs: 5000, ...(pageSize === undefined ? {} : { pageSize }) })
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await server.connect(serverSide)
  const client = new Client({ name: 'dawn-test', version: '1.0.0' })
  await client.connect(clientSide)
  cleanups.push(async () => { await client.close(); await server.close() })
  return client
}

/** A 2026-07-28 client whose HTTP goes straight into the modern handler. */
async function modernClient (catalog: TestCatalog, caller: RecordingCaller, pageSize?: number): Promise<Client> {
  const handler = createModernMcpHandler({ catalog, caller, log }, { timeoutMs: 5000, ...(pageSize === undefined ? {} : { pageSize }) })
  const transport = new StreamableHTTPClientTransport(new URL('http://mesh.invalid/mcp'), {
    fetch: async (input, init) => await handler.fetch(new Request(input, init), 'mcp:test')
  })
  const client = new Client({ name: 'dawn-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } })
  await client.connect(transport)
  cleanups.push(async () => { await client.close(); await handler.close() })
  return client
}

describe('listing fields', () => {
  it('lists title, outputSchema, annotations, icons, size and _meta as the agent did, beside Dawn\'s keys', () => {
    const mesh = createMeshRequests({ catalog: new TestCatalog(records), caller: new RecordingCaller(), log }, { timeoutMs: 5000 })
    const tool = mesh.listTools().tools.find((t) => t.name === 'everything.get-structured-content')
    expect(tool).toEqual({
      name: 'everything.get-structured-content',
      title: 'Structured',
      description: 'weather',
      inputSchema: { type: 'object' },
      outputSchema: OUTPUT,
      annotations: { readOnlyHint: true, openWorldHint: false },
      icons: [ICON],
      // The agent's keys stay; Dawn's own win over a spoofed one.
      _meta: { 'vendor/x': 1, 'dawn/agentId': 'everything', 'dawn/tool': 'get-structured-content' }
    })
    expect(mesh.listPrompts().prompts[0]).toMatchObject({ title: 'Team Management', icons: [ICON] })
    expect(mesh.listResources().resources[0]).toMatchObject({ title: 'A', size: 12, annotations: { priority: 0.5 }, _meta: { k: 'v', 'dawn/uri': 'demo://resource/static/document/a.md' } })
    expect(mesh.listResourceTemplates().resourceTemplates).toEqual([
      {
        uriTemplate: meshResourceTemplate(nodeB, 'everything', TEMPLATE),
        name: 'Dynamic Text Resource',
        title: 'Text',
                mimeType: 'text/plain',
        icons: [ICON],
        _meta: { k: 1, 'dawn/nodeId': nodeB, 'dawn/agentId': 'everything', 'dawn/uriTemplate': TEMPLATE }
      },
      expect.objectContaining({ uriTemplate: `${meshResourceUri(nodeB, 'everything', 'demo://resource/dynamic/blob/')}{resourceId}` })
    ])
  })

  it('leaves out an outputSchema a client would refuse, keeping the tool', () => {
    const bad = [record(nodeA, 'x', { tools: [{ name: 't', outputSchema: { type: 'object', properties: { a: 1 } } }, { name: 'u', outputSchema: { type: 'string' } }] })]
    const mesh = createMeshRequests({ catalog: new TestCatalog(bad), caller: new RecordingCaller(), log }, { timeoutMs: 5000 })
    expect(mesh.listTools().tools.map((t) => [t.name.split('.').at(-1), t.outputSchema])).toEqual([['t', undefined], ['u', undefined]])
  })
})

describe('pages', () => {
  it('pages every list with cursors that walk it exactly once', () => {
    const catalog = new TestCatalog(records)
    const mesh = createMeshRequests({ catalog, caller: new RecordingCaller(), log }, { timeoutMs: 5000, pageSize: 2 })
    const whole = createMeshRequests({ catalog, caller: new RecordingCaller(), log }, { timeoutMs: 5000 }).listTools().tools
    expect(whole).toHaveLength(5)
    const pages: string[][] = []
    let cursor: string | undefined
    do {
      const page = mesh.listTools(cursor === undefined ? {} : { cursor })
      pages.push(page.tools.map((t) => t.name))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1])
    expect(pages.flat()).toEqual(whole.map((t) => t.name))
    // A list that fits one page has no cursor.
    expect(mesh.listResourceTemplates().nextCursor).toBeUndefined()
    // The same contents in a new snapshot keep cursors valid (any node with the same catalog answers them).
    const second = mesh.listTools().nextCursor
    catalog.set(records)
    expect(mesh.listTools({ cursor: second }).tools).toHaveLength(2)
  })

  it('refuses garbled, foreign and stale cursors with -32602 invalid cursor', () => {
    const catalog = new TestCatalog(records)
    const mesh = createMeshRequests({ catalog, caller: new RecordingCaller(), log }, { timeoutMs: 5000, pageSize: 2 })
    const cursor = mesh.listTools().nextCursor
    expect(cursor).toBeDefined()
    const refused = (run: () => unknown): MeshRequestError => {
      try {
        run()
      } catch (err) {
        expect(err).toBeInstanceOf(MeshRequestError)
        return err as MeshRequestError
      }
      throw new Error('expected a refusal')
    }
    for (const bad of ['', 'garbage!', 'x'.repeat(300), Buffer.from('{"l":"tools","d":"x","o":1e300}').toString('base64url'), Buffer.from('[]').toString('base64url')]) {
      const err = refused(() => mesh.listTools({ cursor: bad }))
      expect([err.code, err.message]).toEqual([-32602, 'invalid cursor: not one this server issued'])
    }
    expect(refused(() => mesh.listPrompts({ cursor })).message).toMatch(/^invalid cursor: it pages another list/)
    catalog.set(records.map((r) => r.agentId === 'echo' ? { ...r, tools: [...r.tools, { name: 'sing' }] } : r))
    expect(refused(() => mesh.listTools({ cursor })).message).toBe('invalid cursor: the list changed since; list again from the start')
  })

  it('serves pages to a 2025-11-25 client following nextCursor and to a 2026-07-28 client that gathers them', async () => {
    const catalog = new TestCatalog(records)
    const legacy = await legacyClient(catalog, new RecordingCaller(), 2)
    // A raw request: the SDK's listTools() would gather the pages itself.
    const first = await legacy.request({ method: 'tools/list', params: {} })
    expect(first.tools).toHaveLength(2)
    expect(first.nextCursor).toBeDefined()
    const names = first.tools.map((t) => t.name)
    for (let cursor = first.nextCursor; cursor !== undefined;) {
      const page = await legacy.listTools({ cursor })
      names.push(...page.tools.map((t) => t.name))
      cursor = page.nextCursor
    }
    expect(names).toHaveLength(5)
    expect((await legacy.listTools()).tools.map((t) => t.name)).toEqual(names)
    await expect(legacy.listTools({ cursor: 'nope' })).rejects.toMatchObject({ code: -32602, message: expect.stringContaining('invalid cursor') })
    expect((await legacy.listResourceTemplates()).resourceTemplates).toHaveLength(2)

    const modern = await modernClient(catalog, new RecordingCaller(), 2)
    expect((await modern.listTools()).tools.map((t) => t.name)).toEqual(names)
    await expect(modern.listTools({ cursor: 'nope' })).rejects.toThrow(/invalid cursor/)
    expect((await modern.listResourceTemplates()).resourceTemplates.map((t) => t._meta?.['dawn/uriTemplate'])).toEqual([TEMPLATE, 'demo://resource/dynamic/blob/{resourceId}'])
  })
})

describe('completion/complete', () => {
  const answer = { completion: { values: ['Engineering'], total: 1, hasMore: false } }
  const completing = (): RecordingCaller => {
    const caller = new RecordingCaller()
    caller.handler = async ({ op }) => op === 'completion/complete' ? answer : { content: [] }
    return caller
  }
  const completions = (caller: RecordingCaller): RecordingCaller['calls'] => caller.calls.filter((c) => c.op === 'completion/complete')

  it('routes a prompt ref, a resource ref and a template ref to the owning agent with its own names', async () => {
    const caller = completing()
    const mesh = createMeshRequests({ catalog: new TestCatalog(records), caller, log }, { timeoutMs: 5000 })
    const argument = { name: 'department', value: 'Eng' }
    const prompt = `${nodeB.slice(-10)}.everything.completable-prompt`
    const result = await mesh.complete({ ref: { type: 'ref/prompt', name: prompt }, argument, context: { arguments: { name: 'A' } }, _meta: { 'dawn/timeoutMs': 100, vendor: 1 } }, extra())
    expect(result).toEqual({ ...answer, _meta: { 'dawn/route': 'direct' } })
    await mesh.complete({ ref: { type: 'ref/resource', uri: meshResourceTemplate(nodeB, 'everything', TEMPLATE) }, argument: { name: 'resourceId', value: '4' } }, extra())
    await mesh.complete({ ref: { type: 'ref/resource', uri: meshResourceUri(nodeB, 'everything', 'demo://resource/static/document/a.md') }, argument: { name: 'x', value: '' } }, extra())
    expect(completions(caller).map((c) => [c.target, c.params])).toEqual([
      [{ nodeId: nodeB, agentId: 'everything' }, { ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument, context: { arguments: { name: 'A' } }, _meta: { vendor: 1 } }],
      [{ nodeId: nodeB, agentId: 'everything' }, { ref: { type: 'ref/resource', uri: TEMPLATE }, argument: { name: 'resourceId', value: '4' } }],
      [{ nodeId: nodeB, agentId: 'everything' }, { ref: { type: 'ref/resource', uri: 'demo://resource/static/document/a.md' }, argument: { name: 'x', value: '' } }]
    ])
  })

  it('answers unknown refs with -32602 without routing them', async () => {
    const caller = completing()
    const mesh = createMeshRequests({ catalog: new TestCatalog(records), caller, log }, { timeoutMs: 5000 })
    const argument = { name: 'a', value: '' }
    const refs = [
      { type: 'ref/prompt', name: `${nodeB.slice(-10)}.everything.no-such-prompt` },
      { type: 'ref/prompt', name: 'completable-prompt' },
      { type: 'ref/resource', uri: meshResourceTemplate(nodeB, 'everything', 'demo://other/{id}') },
      { type: 'ref/resource', uri: meshResourceTemplate(nodeA, 'everything', TEMPLATE) },
      { type: 'ref/resource', uri: TEMPLATE },
      { type: 'ref/tool', name: 'x' }
    ]
    for (const ref of refs) {
      await expect(mesh.complete({ ref, argument }, extra()), JSON.stringify(ref)).rejects.toMatchObject({ code: -32602 })
    }
    expect(completions(caller)).toEqual([])
  })

  it('gives the agent\'s own refusal to the client as the protocol error', async () => {
    const caller = new RecordingCaller()
    caller.handler = async () => { throw new AgentFailedError('agent everything: Method not found', { rpcCode: -32601 }) }
    const legacy = await legacyClient(new TestCatalog(records), caller)
    const err = await legacy.complete({ ref: { type: 'ref/prompt', name: `${nodeB.slice(-10)}.everything.completable-prompt` }, argument: { name: 'd', value: '' } }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(McpError)
    expect((err as McpError).code).toBe(-32601)
    expect((err as McpError).message).toContain('agent everything: Method not found')
  })

  it('completes through both faces, which declare the capability', async () => {
    const catalog = new TestCatalog(records)
    const prompt = `${nodeB.slice(-10)}.everything.completable-prompt`
    const legacyCaller = completing()
    const legacy = await legacyClient(catalog, legacyCaller)
    expect(legacy.getServerCapabilities()?.completions).toEqual({})
    expect((await legacy.complete({ ref: { type: 'ref/prompt', name: prompt }, argument: { name: 'department', value: 'Eng' } })).completion.values).toEqual(['Engineering'])
    const modernCaller = completing()
    const modern = await modernClient(catalog, modernCaller)
    expect(modern.getServerCapabilities()?.completions).toEqual({})
    const done = await modern.complete({ ref: { type: 'ref/resource', uri: meshResourceTemplate(nodeB, 'everything', TEMPLATE) }, argument: { name: 'resourceId', value: '4' } })
    expect(done.completion.values).toEqual(['Engineering'])
    expect(completions(legacyCaller)[0]?.params.ref).toEqual({ type: 'ref/prompt', name: 'completable-prompt' })
    expect(completions(modernCaller)[0]?.params.ref).toEqual({ type: 'ref/resource', uri: TEMPLATE })
  })
})
