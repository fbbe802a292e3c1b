/**
 * Ranked search over the tools an endpoint lists, for `find_tools`. One index per listing
 * (built on first use, shared by every request until the registry or view changes).
 *
 * Ranking is BM25F: a tool's name, title, agent and description are fields of one document,
 * weighted name > title > agent = description and normalised by each field's length, so a word
 * in a short name counts for more than the same word deep in a description. A query word also
 * matches index words it is a prefix of, at a discount. A query that is exactly a tool's name
 * (its listed or its own exposed name), or has a word that is exactly an agent id, lifts those
 * tools above any ranking by words. Ties go to the lower name in code-unit order, so every node
 * with the same listing answers in the same order.
 */
import { byCodeUnit } from '../registry/canonical-json.ts'
import type { Listed } from './naming-modes.ts'
import type { Listing } from './mesh-listing.ts'
import type { Tool } from '@modelcontextprotocol/server'
import type { AgentTool } from '../registry/agent-record.ts'
import { catalogNameOf } from './catalog-names.ts'

export const MAX_QUERY_CHARS = 512
/** Distinct words a query may have after tokenising. */
export const MAX_QUERY_WORDS = 32
export const DEFAULT_SEARCH_LIMIT = 10
export const MAX_SEARCH_LIMIT = 50
/** Index words one query word may expand to as a prefix. */
const MAX_PREFIX_EXPANSIONS = 64
const PREFIX_DISCOUNT = 0.5
const MIN_PREFIX_LENGTH = 3

const K1 = 1.2
const FIELDS = {
  name: { weight: 3, b: 0.5 },
  title: { weight: 2, b: 0.5 },
  agent: { weight: 1, b: 0.3 },
  description: { weight: 1, b: 0.75 }
} as const
type Field = keyof typeof FIELDS
const FIELD_NAMES = Object.keys(FIELDS) as Field[]

/**
 * Above any ranking by words: a word adds at most its idf, under ln(1 + 2.6M) < 15 for the largest
 * registry, so 32 words and the agent boost stay under 500.
 */
const EXACT_NAME_BOOST = 1000
const AGENT_ID_BOOST = 2

export type SearchErrorReason = 'query-type' | 'query-empty' | 'query-too-long' | 'query-too-many-words' | 'limit' | 'agent-id'

/** The one error {@link ToolIndex.search} throws: the query or an option is unusable; `reason` says which. */
export class ToolSearchError extends Error {
  readonly reason: SearchErrorReason

  constructor (reason: SearchErrorReason, message: string) {
    super(message)
    this.name = 'ToolSearchError'
    this.reason = reason
  }
}

export interface SearchOptions {
  /** Most results (default {@link DEFAULT_SEARCH_LIMIT}, at most {@link MAX_SEARCH_LIMIT}). */
  limit?: number
  /** Only this agent's tools. */
  agentId?: string
}

export interface FoundTool {
  /** The name to call it by. */
  name: string
  description?: string
  agentId: string
  /** Rounded to 1/1000; higher is better. */
  score: number
  inputSchema: Tool['inputSchema']
}

export interface ToolIndex {
  /** Tools indexed. */
  readonly size: number
  /** Whether `name` is a tool name the listing lists (catalog names excepted). */
  has: (name: string) => boolean
  /** The best matches, best first; throws {@link ToolSearchError} for a bad query or option. */
  search: (query: string, options?: SearchOptions) => FoundTool[]
}

/** One posting: a document and its precomputed saturated, field-weighted term frequency. */
interface Postings { docs: number[], tf: number[] }

interface Doc {
  name: string
  /** Lower-cased names a query may equal exactly. */
  exact: string[]
  agentId: string
  tool: Tool
}

const indexes = new WeakMap<Listing, ToolIndex>()

/** The listing's search index, built once per listing. */
export function toolIndexOf (listing: Listing): ToolIndex {
  let index = indexes.get(listing)
  if (index === undefined) {
    index = buildIndex(listing)
    indexes.set(listing, index)
  }
  return index
}

/**
 * Words of a text: split on anything but letters and digits (so `.` `_` `-` `/` `:` too) and at
 * camelCase humps (`getHTTPStatus` → get, http, status), lower-cased, a plural `s` dropped.
 */
export function words (text: string): string[] {
  const spaced = text
    .replace(/(\p{Ll}|\p{N})(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
  const out: string[] = []
  for (const raw of spaced.split(/[^\p{L}\p{N}]+/u)) {
    if (raw === '') continue
    out.push(stem(raw.toLowerCase()))
  }
  return out
}

function stem (word: string): string {
  return word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word
}

/** The exposed name behind a listed name: what the agent's tool is called on this endpoint, without prefixes. */
function exposedName (listed: Listed<AgentTool>, listing: Listing): string {
  if (listed.form === 'bare') return listed.name
  if (listed.form === 'logical') return listed.name.slice(listed.agentId.length + 1)
  const tag = listing.names.nodeTag(listed.replicas[0] ?? '')
  return listed.name.slice(tag.length + listed.agentId.length + 2)
}

function buildIndex (listing: Listing): ToolIndex {
  const docs: Doc[] = []
  const fieldWords: Array<Record<Field, string[]>> = []
  const toolsByName = new Map(listing.tools.map((t) => [t.name, t]))
  for (const listed of listing.toolNames.listed) {
    const tool = toolsByName.get(listed.name)
    if (tool === undefined) continue
    const name = catalogNameOf(listed)
    const exposed = exposedName(listed, listing)
    const agent = listing.agents.get(listed.agentId)?.agent
    docs.push({ name, exact: [...new Set([name.toLowerCase(), exposed.toLowerCase()])], agentId: listed.agentId, tool: name === tool.name ? tool : { ...tool, name } })
    fieldWords.push({
      name: words(exposed),
      title: words(tool.title ?? tool.annotations?.title ?? ''),
      agent: words(agent === undefined || agent.name === listed.agentId ? listed.agentId : `${listed.agentId} ${agent.name}`),
      description: words(tool.description ?? '')
    })
  }
  const order = docs.map((_, i) => i).sort((a, b) => byCodeUnit(docs[a]?.name ?? '', docs[b]?.name ?? ''))
  const sortedDocs = order.map((i) => docs[i] as Doc)
  const sortedWords = order.map((i) => fieldWords[i] as Record<Field, string[]>)

  const n = sortedDocs.length
  const avgLength = Object.fromEntries(FIELD_NAMES.map((f) => [f, Math.max(1, sortedWords.reduce((sum, w) => sum + w[f].length, 0) / Math.max(1, n))])) as Record<Field, number>
  const postings = new Map<string, Postings>()
  sortedWords.forEach((fields, doc) => {
    const weighted = new Map<string, number>()
    for (const field of FIELD_NAMES) {
      const list = fields[field]
      const { weight, b } = FIELDS[field]
      const norm = 1 - b + b * list.length / avgLength[field]
      for (const word of list) weighted.set(word, (weighted.get(word) ?? 0) + weight / norm)
    }
    for (const [word, tf] of weighted) {
      let p = postings.get(word)
      if (p === undefined) {
        p = { docs: [], tf: [] }
        postings.set(word, p)
      }
      p.docs.push(doc)
      p.tf.push(tf / (K1 + tf))
    }
  })
  const idf = (p: Postings): number => Math.log(1 + (n - p.docs.length + 0.5) / (p.docs.length + 0.5))
  const vocabulary = [...postings.keys()].sort(byCodeUnit)

  const byExactName = new Map<string, number[]>()
  const byAgent = new Map<string, number[]>()
  const names = new Set<string>()
  const push = (map: Map<string, number[]>, key: string, doc: number): void => {
    const list = map.get(key)
    if (list === undefined) map.set(key, [doc])
    else list.push(doc)
  }
  sortedDocs.forEach((d, i) => {
    names.add(d.name)
    for (const key of d.exact) push(byExactName, key, i)
    push(byAgent, d.agentId, i)
  })

  /** Index words starting with `prefix` (not itself), in code-unit order, at most MAX_PREFIX_EXPANSIONS. */
  const extensions = (prefix: string): string[] => {
    let lo = 0
    let hi = vocabulary.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((vocabulary[mid] ?? '') < prefix) lo = mid + 1
      else hi = mid
    }
    const out: string[] = []
    for (let i = lo; i < vocabulary.length && out.length < MAX_PREFIX_EXPANSIONS; i++) {
      const word = vocabulary[i] ?? ''
      if (!word.startsWith(prefix)) break
      if (word !== prefix) out.push(word)
    }
    return out
  }

  const search = (query: string, options: SearchOptions = {}): FoundTool[] => {
    const { limit, agentId, terms, trimmed } = checked(query, options)
    const scores = new Float64Array(n)
    // Per word, a tool counts its best match (exact, or a discounted longer word), so one word's share stays below idf.
    const best = new Float64Array(n)
    const touched: number[] = []
    const take = (p: Postings, factor: number): void => {
      const weight = idf(p) * factor
      for (let i = 0; i < p.docs.length; i++) {
        const doc = p.docs[i] ?? 0
        const value = weight * (p.tf[i] ?? 0)
        if (best[doc] === 0) touched.push(doc)
        if (value > (best[doc] ?? 0)) best[doc] = value
      }
    }
    for (const term of terms) {
      const exact = postings.get(term)
      if (exact !== undefined) take(exact, 1)
      if (term.length >= MIN_PREFIX_LENGTH) {
        for (const word of extensions(term)) {
          const p = postings.get(word)
          if (p !== undefined) take(p, PREFIX_DISCOUNT)
        }
      }
      for (const doc of touched) {
        scores[doc] = (scores[doc] ?? 0) + (best[doc] ?? 0)
        best[doc] = 0
      }
      touched.length = 0
    }
    for (const doc of byExactName.get(trimmed.toLowerCase()) ?? []) scores[doc] = (scores[doc] ?? 0) + EXACT_NAME_BOOST
    for (const word of new Set(trimmed.toLowerCase().split(/\s+/))) {
      for (const doc of byAgent.get(word) ?? []) scores[doc] = (scores[doc] ?? 0) + AGENT_ID_BOOST
    }

    const hits: number[] = []
    const only = agentId === undefined ? undefined : byAgent.get(agentId) ?? []
    for (const doc of only ?? scores.keys()) if ((scores[doc] ?? 0) > 0) hits.push(doc)
    // Docs are in name order, so equal scores keep it: a stable sort by score alone breaks ties by name.
    hits.sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0))
    return hits.slice(0, limit).map((doc) => {
      const d = sortedDocs[doc] as Doc
      return {
        name: d.name,
        ...(d.tool.description === undefined ? {} : { description: d.tool.description }),
        agentId: d.agentId,
        score: Math.round((scores[doc] ?? 0) * 1000) / 1000,
        inputSchema: d.tool.inputSchema
      }
    })
  }

  return { size: n, has: (name) => names.has(name), search }
}

/** The query and options, checked in this order: query type, length, words; limit; agent id. */
function checked (query: unknown, options: SearchOptions): { limit: number, agentId: string | undefined, terms: string[], trimmed: string } {
  if (typeof query !== 'string') throw new ToolSearchError('query-type', `query must be a string, not ${query === null ? 'null' : typeof query}`)
  if (query.length > MAX_QUERY_CHARS) throw new ToolSearchError('query-too-long', `query is longer than ${MAX_QUERY_CHARS} characters`)
  const trimmed = query.trim()
  const terms = [...new Set(words(trimmed))]
  if (terms.length === 0) throw new ToolSearchError('query-empty', 'query has no words to search for')
  if (terms.length > MAX_QUERY_WORDS) throw new ToolSearchError('query-too-many-words', `query has more than ${MAX_QUERY_WORDS} distinct words`)
  const limit = options.limit ?? DEFAULT_SEARCH_LIMIT
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) throw new ToolSearchError('limit', `limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`)
  const { agentId } = options
  if (agentId !== undefined && typeof agentId !== 'string') throw new ToolSearchError('agent-id', 'agentId must be a string')
  return { limit, agentId, terms, trimmed }
}
