// find_tools' ranking over a real listing (listingOf over real records): 200 agents × 20 tools.
import { describe, expect, it } from 'vitest'
import { listingOf, type ListingView } from '../../../src/mcp/mesh-listing.ts'
import {
  DEFAULT_SEARCH_LIMIT, MAX_QUERY_CHARS, MAX_QUERY_WORDS, MAX_SEARCH_LIMIT, toolIndexOf, ToolSearchError, words, type SearchErrorReason
} from '../../../src/mcp/tool-search.ts'
import { AGENTS, largeRegistry, NODES, shuffled, TOOLS_PER_AGENT } from './catalog-fixtures.ts'
import { rec } from './naming-fixtures.ts'

const LOGICAL: ListingView = { naming: 'logical', toolFilters: {} }
const CONDITIONAL: ListingView = { naming: 'conditional', toolFilters: {} }
const registry = largeRegistry()
const index = toolIndexOf(listingOf(registry, 500, LOGICAL))

function refused (run: () => unknown): SearchErrorReason {
  try {
    run()
  } catch (err) {
    if (err instanceof ToolSearchError) return err.reason
    throw err
  }
  throw new Error('the search was not refused')
}

describe('words', () => {
  it('splits on . _ - / : and at camelCase humps, lower-cased, without a plural s', () => {
    expect(words('weather.get_HTTPStatus-forecasts/v2:tideForecast')).toEqual(['weather', 'get', 'http', 'statu', 'forecast', 'v2', 'tide', 'forecast'])
    expect(words('  ')).toEqual([])
  })
})

describe('ranking over 200 agents × 20 tools', () => {
  it('indexes every listed tool', () => {
    expect(index.size).toBe(AGENTS * TOOLS_PER_AGENT)
  })

  it('finds the weather forecast first, ahead of other forecasts and other weather', () => {
    const found = index.search('weather forecast')
    expect(found[0]?.name).toBe('weather.forecast')
    expect(found[0]).toMatchObject({ agentId: 'weather', description: expect.stringContaining('weather forecast') as string, inputSchema: { required: ['city'] } })
    // Both words matched beat either alone; then a word in the name or a short description, then the agent's name alone.
    expect(found.slice(1, 4).map((t) => t.name).sort()).toEqual(['ocean.tideForecast', 'sales.forecast_revenue', 'weather.current'])
    expect(found.slice(4).every((t) => t.agentId === 'weather')).toBe(true)
    expect(found[0]?.score).toBeGreaterThan(found[1]?.score ?? Infinity)
  })

  it('finds a tool by one word of its description, first', () => {
    expect(index.search('glacier')[0]?.name).toBe('archive.thaw_snapshot')
    expect(index.search('harbour tides')[0]?.name).toBe('ocean.tideForecast')
  })

  it('matches a word as the start of a longer one', () => {
    expect(index.search('glac')[0]?.name).toBe('archive.thaw_snapshot')
  })

  it('puts a tool whose exact name is the query first, by its listed or its own name', () => {
    expect(index.search('svc-042.delete_record_2')[0]?.name).toBe('svc-042.delete_record_2')
    expect(index.search('thaw_snapshot')[0]?.name).toBe('archive.thaw_snapshot')
    // By words alone the tool that says "get" most would win.
    const small = toolIndexOf(listingOf([rec(NODES[0] ?? '', 'alpha', [
      { name: 'get', description: 'Fetch one item by its id, with its fields and history.' },
      { name: 'get_all', description: 'Get all items: get every page, get them at once.' }
    ])], 500, LOGICAL))
    expect(small.search('get all')[0]?.name).toBe('alpha.get_all')
    expect(small.search('alpha.get')[0]?.name).toBe('alpha.get')
    expect(small.search('get')[0]?.name).toBe('alpha.get')
  })

  it('lifts an agent named in the query', () => {
    const found = index.search('ocean invoice', { limit: 20 })
    // Other agents' invoice tools match too; the ocean agent's invoice tool comes first, then its other tools.
    expect(found[0]?.name).toBe('ocean.create_invoice_10')
    expect(found.map((t) => t.agentId)).toEqual(Array(20).fill('ocean'))
    expect(index.search('invoice')[0]?.agentId).not.toBe('ocean')
  })

  it('returns the default number of results, at most the limit, best first', () => {
    expect(index.search('invoice')).toHaveLength(DEFAULT_SEARCH_LIMIT)
    const found = index.search('invoice', { limit: MAX_SEARCH_LIMIT })
    expect(found).toHaveLength(MAX_SEARCH_LIMIT)
    for (let i = 1; i < found.length; i++) expect(found[i - 1]?.score).toBeGreaterThanOrEqual(found[i]?.score ?? Infinity)
    expect(index.search('weather', { limit: 1 }).map((t) => t.name)).toEqual(['weather.current'])
  })

  it('keeps only the tools of the agent asked for', () => {
    const found = index.search('invoice order customer', { agentId: 'svc-100', limit: 50 })
    expect(found.length).toBeGreaterThan(0)
    expect(found.every((t) => t.agentId === 'svc-100')).toBe(true)
    expect(index.search('weather', { agentId: 'sales' })).toEqual([])
    expect(index.search('weather', { agentId: 'no-such-agent' })).toEqual([])
  })

  it('answers the same, in the same order, whatever order the registry arrived in', () => {
    const other = toolIndexOf(listingOf(shuffled(registry, 7), 500, LOGICAL))
    for (const query of ['weather forecast', 'invoice', 'sync the report', 'svc-010']) {
      expect(other.search(query, { limit: 50 })).toEqual(index.search(query, { limit: 50 }))
    }
  })

  it('breaks ties by name', () => {
    const twins = toolIndexOf(listingOf([rec(NODES[0] ?? '', 'b-agent', ['ping']), rec(NODES[1] ?? '', 'a-agent', ['ping'])], 500, LOGICAL))
    const found = twins.search('ping')
    expect(found.map((t) => t.name)).toEqual(['a-agent.ping', 'b-agent.ping'])
    expect(found[0]?.score).toBe(found[1]?.score)
  })

  it('builds one index per listing', () => {
    const listing = listingOf(registry, 500, LOGICAL)
    expect(toolIndexOf(listing)).toBe(toolIndexOf(listing))
  })
})

describe('names beside the catalog tools', () => {
  it('finds a bare find_tools or call_tool of an agent under its logical name', () => {
    const listing = listingOf([rec(NODES[0] ?? '', 'finder', ['find_tools', 'call_tool', 'other'])], 500, CONDITIONAL)
    const conditional = toolIndexOf(listing)
    expect(conditional.search('find_tools')[0]?.name).toBe('finder.find_tools')
    expect(conditional.has('finder.find_tools')).toBe(true)
    expect(conditional.has('finder.call_tool')).toBe(true)
    expect(conditional.has('find_tools')).toBe(false)
    expect(conditional.has('call_tool')).toBe(false)
    expect(conditional.has('other')).toBe(true)
  })
})

describe('bad queries', () => {
  it('refuses each with its reason, in a fixed order', () => {
    expect(refused(() => index.search(42 as unknown as string))).toBe('query-type')
    expect(refused(() => index.search(null as unknown as string))).toBe('query-type')
    expect(refused(() => index.search(''))).toBe('query-empty')
    expect(refused(() => index.search('   '))).toBe('query-empty')
    expect(refused(() => index.search('?!… —'))).toBe('query-empty')
    expect(refused(() => index.search('a'.repeat(MAX_QUERY_CHARS + 1)))).toBe('query-too-long')
    expect(refused(() => index.search(Array.from({ length: MAX_QUERY_WORDS + 1 }, (_, i) => `w${i}`).join(' ')))).toBe('query-too-many-words')
    expect(refused(() => index.search('weather', { limit: 0 }))).toBe('limit')
    expect(refused(() => index.search('weather', { limit: MAX_SEARCH_LIMIT + 1 }))).toBe('limit')
    expect(refused(() => index.search('weather', { limit: 1.5 }))).toBe('limit')
    expect(refused(() => index.search('weather', { agentId: 7 as unknown as string }))).toBe('agent-id')
  })

  it('takes the longest query allowed and as many words as allowed', () => {
    expect(index.search(`weather ${'x'.repeat(MAX_QUERY_CHARS - 8)}`)[0]?.agentId).toBe('weather')
    const many = [...Array.from({ length: MAX_QUERY_WORDS - 1 }, (_, i) => `w${i}`), 'glacier'].join(' ')
    expect(index.search(many)[0]?.name).toBe('archive.thaw_snapshot')
  })
})
