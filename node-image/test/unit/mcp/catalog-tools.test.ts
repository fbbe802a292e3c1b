// find_tools and call_tool over a real listing; call_tool hands calls to a recording callTool,
// and once to the real mesh requests (createMeshRequests with a recording MeshCaller).
import { describe, expect, it } from 'vitest'
import type { CallToolResult } from '@modelcontextprotocol/server'
import { Compile } from 'typebox/compile'
import {
  CALL_TOOL_TOOL, CATALOG_TOOLS, catalogListOf, catalogTools, FIND_TOOLS_TOOL, FindToolsOutput, withCatalog, type CatalogCallParams
} from '../../../src/mcp/catalog-tools.ts'
import { listingOf, type Listing, type ListingView } from '../../../src/mcp/mesh-listing.ts'
import { createMeshRequests, MESH_PAGE_SIZE, type RequestExtra } from '../../../src/mcp/mesh-requests.ts'
import { MAX_QUERY_CHARS, MAX_SEARCH_LIMIT } from '../../../src/mcp/tool-search.ts'
import type { AgentRecord } from '../../../src/registry/agent-record.ts'
import { largeRegistry, NODES } from './catalog-fixtures.ts'
import { RecordingCaller, TestCatalog } from './fixtures.ts'
import { rec } from './naming-fixtures.ts'

const LOGICAL: ListingView = { naming: 'logical', toolFilters: {} }
const CONDITIONAL: ListingView = { naming: 'conditional', toolFilters: {} }
const registry = largeRegistry()
const outputValidator = Compile(FindToolsOutput)

interface Extra { tag: string }
interface Forwarded { params: CatalogCallParams, extra: Extra }

/** Catalog tools over `listing`, whose callTool records what it was handed. */
function catalogOver (listing: Listing): { catalog: ReturnType<typeof catalogTools<Extra>>, forwarded: Forwarded[] } {
  const forwarded: Forwarded[] = []
  const catalog = catalogTools<Extra>({
    listing: () => listing,
    callTool: async (params, extra) => {
      forwarded.push({ params, extra })
      return { content: [{ type: 'text', text: 'from the agent' }] }
    }
  })
  return { catalog, forwarded }
}

const extra: Extra = { tag: 'the request' }
const large = catalogOver(listingOf(registry, 500, LOGICAL))

async function find (args: unknown): Promise<CallToolResult> {
  return await large.catalog.call({ name: 'find_tools', arguments: args as Record<string, unknown> }, extra)
}

function textOf (result: CallToolResult): string {
  const [first] = result.content
  return first?.type === 'text' ? first.text : ''
}

describe('the tool definitions', () => {
  it('describe find_tools as read-only with an object input and output schema', () => {
    expect(FIND_TOOLS_TOOL).toMatchObject({
      name: 'find_tools',
      annotations: { readOnlyHint: true },
      inputSchema: { type: 'object', required: ['query'], properties: { query: { type: 'string', maxLength: MAX_QUERY_CHARS }, limit: { maximum: MAX_SEARCH_LIMIT } } },
      outputSchema: { type: 'object', required: ['tools'] }
    })
    expect(CALL_TOOL_TOOL).toMatchObject({ name: 'call_tool', inputSchema: { type: 'object', required: ['name'] } })
    expect(CALL_TOOL_TOOL.annotations?.readOnlyHint).not.toBe(true)
    // Plain JSON, as tools/list sends it.
    expect(JSON.parse(JSON.stringify(CATALOG_TOOLS))).toEqual(CATALOG_TOOLS)
  })
})

describe('find_tools', () => {
  it('answers with the ranked tools as structured content that fits its output schema, and as text', async () => {
    const result = await find({ query: 'weather forecast' })
    expect(result.isError).toBeUndefined()
    expect(outputValidator.Check(result.structuredContent)).toBe(true)
    const { tools } = result.structuredContent as { tools: Array<{ name: string }> }
    expect(tools[0]?.name).toBe('weather.forecast')
    expect(tools).toHaveLength(10)
    const text = textOf(result)
    expect(text).toContain('1. weather.forecast (agent weather')
    expect(text).toContain('"required":["city"]')
    expect(text).toContain('call_tool')
  })

  it('honours limit and agentId', async () => {
    const limited = await find({ query: 'invoice', limit: 3 })
    expect((limited.structuredContent as { tools: unknown[] }).tools).toHaveLength(3)
    const one = await find({ query: 'invoice order', agentId: 'svc-100', limit: 50 })
    const { tools } = one.structuredContent as { tools: Array<{ agentId: string }> }
    expect(tools.length).toBeGreaterThan(0)
    expect(tools.every((t) => t.agentId === 'svc-100')).toBe(true)
    const none = await find({ query: 'zzzz' })
    expect(none.structuredContent).toEqual({ tools: [] })
    expect(textOf(none)).toBe('No tools match "zzzz".')
  })

  it('answers bad arguments with a tool error that says what is wrong', async () => {
    const cases: Array<[unknown, string]> = [
      [{}, 'query'],
      [{ query: 42 }, 'arguments.query'],
      [{ query: null }, 'arguments.query'],
      [{ query: '' }, 'arguments.query'],
      [{ query: 'x'.repeat(MAX_QUERY_CHARS + 1) }, 'arguments.query'],
      [{ query: '?!' }, 'no words'],
      [{ query: 'weather', limit: 0 }, 'arguments.limit'],
      [{ query: 'weather', limit: MAX_SEARCH_LIMIT + 1 }, 'arguments.limit'],
      [{ query: 'weather', agentId: 'Not An Id' }, 'arguments.agentId'],
      [{ query: 'weather', extra: 1 }, 'unknown field(s) "extra"'],
      [['weather'], 'arguments']
    ]
    for (const [args, mention] of cases) {
      const result = await find(args)
      expect(result.isError, JSON.stringify(args)).toBe(true)
      expect(result._meta).toEqual({ 'dawn/error': 'invalid-arguments' })
      expect(textOf(result)).toContain('invalid arguments for tool "find_tools"')
      expect(textOf(result)).toContain(mention)
      expect(result.structuredContent).toBeUndefined()
    }
  })
})

describe('call_tool', () => {
  it('hands the call on with exactly its arguments, the outer _meta, retry fields and extra', async () => {
    const args = { city: 'Zürich', days: 3, nested: { list: [1, null, 'x'], empty: {} }, flag: false }
    const meta = { progressToken: 7, 'dawn/timeoutMs': 500 }
    const result = await large.catalog.call({
      name: 'call_tool',
      arguments: { name: 'weather.forecast', arguments: args },
      _meta: meta,
      requestState: 'state',
      inputResponses: { a: { action: 'accept' } }
    }, extra)
    expect(result).toEqual({ content: [{ type: 'text', text: 'from the agent' }] })
    const last = large.forwarded.at(-1)
    expect(last?.params).toEqual({ name: 'weather.forecast', arguments: args, _meta: meta, requestState: 'state', inputResponses: { a: { action: 'accept' } } })
    expect(last?.extra).toBe(extra)
  })

  it('sends no arguments when none were given', async () => {
    await large.catalog.call({ name: 'call_tool', arguments: { name: 'weather.current' } }, extra)
    expect(large.forwarded.at(-1)?.params).toEqual({ name: 'weather.current' })
  })

  it('refuses a name this endpoint does not list, and the catalog tools themselves, without calling anything', async () => {
    const before = large.forwarded.length
    for (const name of ['weather.nowcast', 'nowhere', 'forecast', 'find_tools', 'call_tool']) {
      const result = await large.catalog.call({ name: 'call_tool', arguments: { name, arguments: {} } }, extra)
      expect(result.isError, name).toBe(true)
      expect(result._meta).toEqual({ 'dawn/error': 'unknown-tool' })
      expect(textOf(result)).toContain(name)
    }
    expect(large.forwarded.length).toBe(before)
    const itself = await large.catalog.call({ name: 'call_tool', arguments: { name: 'call_tool', arguments: { name: 'weather.forecast' } } }, extra)
    expect(textOf(itself)).toBe('call call_tool directly, not through call_tool')
  })

  it('answers bad arguments with a tool error', async () => {
    const bad: unknown[] = [{}, { name: 5 }, { name: '' }, { name: 'weather.forecast', arguments: [1] }, { name: 'weather.forecast', arguments: 'x' }, { name: 'a', other: 1 }, 'weather.forecast']
    for (const args of bad) {
      const result = await large.catalog.call({ name: 'call_tool', arguments: args as Record<string, unknown> }, extra)
      expect(result.isError, JSON.stringify(args)).toBe(true)
      expect(textOf(result)).toContain('invalid arguments for tool "call_tool"')
    }
  })

  it('calls an agent\'s own find_tools, which lost its bare name, by its logical name through the mesh', async () => {
    const records = [rec(NODES[0] ?? '', 'finder', ['find_tools', 'other'])]
    const caller = new RecordingCaller()
    const view = (): ListingView => CONDITIONAL
    const mesh = createMeshRequests({ catalog: new TestCatalog(records), caller, log: () => {}, view }, { timeoutMs: 5000 })
    const catalog = catalogTools<RequestExtra>({ listing: () => listingOf(records, MESH_PAGE_SIZE, view()), callTool: mesh.callTool })
    const requestExtra: RequestExtra = { signal: new AbortController().signal, header: () => undefined }
    const result = await catalog.call({ name: 'call_tool', arguments: { name: 'finder.find_tools', arguments: { q: 1 } } }, requestExtra)
    expect(result.isError).toBeUndefined()
    expect(caller.calls.map((c) => [c.target.agentId, c.op, c.params])).toEqual([['finder', 'tools/call', { name: 'find_tools', arguments: { q: 1 } }]])
  })
})

describe('the catalog beside the listed tools', () => {
  const clash: AgentRecord[] = [
    rec(NODES[0] ?? '', 'finder', ['find_tools', 'call_tool', 'plain', 'finder.zz']),
    rec(NODES[1] ?? '', 'other', ['thing', 'deploy'])
  ]

  it('lists the catalog tools first, then every tool, a bare find_tools or call_tool under its logical name', () => {
    const listing = listingOf(clash, 500, CONDITIONAL)
    expect(listing.tools.map((t) => t.name)).toEqual(['call_tool', 'deploy', 'find_tools', 'finder.zz', 'plain', 'thing'])
    const full = withCatalog(listing, 'full')
    expect(full.map((t) => t.name)).toEqual(['find_tools', 'call_tool', 'deploy', 'finder.call_tool', 'finder.find_tools', 'finder.zz', 'plain', 'thing'])
    expect(full[4]?._meta).toMatchObject({ 'dawn/agentId': 'finder', 'dawn/tool': 'find_tools' })
    expect(new Set(full.map((t) => t.name)).size).toBe(full.length)
    expect(withCatalog(listing, 'search')).toEqual([...CATALOG_TOOLS])
  })

  it('changes nothing else where no bare name can clash', () => {
    const listing = listingOf(clash, 500, LOGICAL)
    expect(withCatalog(listing, 'full')).toEqual([...CATALOG_TOOLS, ...listing.tools])
  })

  it('pages the list, with one key per listing and mode, computed once', () => {
    const listing = listingOf(registry, 500, LOGICAL)
    const full = catalogListOf(listing, 'full')
    expect(catalogListOf(listing, 'full')).toBe(full)
    expect(full.tools).toHaveLength(4002)
    const first = full.pager.page('tools', undefined)
    expect(first.items.slice(0, 2)).toEqual([...CATALOG_TOOLS])
    expect(first.items).toHaveLength(500)
    expect(first.nextCursor).toBeDefined()
    const search = catalogListOf(listing, 'search')
    expect(search.pager.page('tools', undefined)).toEqual({ items: [...CATALOG_TOOLS] })
    expect(search.key).not.toBe(full.key)
  })
})
