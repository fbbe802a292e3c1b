/**
 * The endpoint's own catalog tools, so a client can start with two tools and reach every one:
 * `find_tools` searches the tools the endpoint lists (tool-search.ts) and `call_tool` calls one
 * by the name `find_tools` gave, through the endpoint's own tools/call (routing, failover,
 * progress and input rounds included). They are the endpoint's, not an agent's: they name no
 * agent, are never in the registry, and are listed beside the agents' tools ("full") or alone
 * ("search"). Catalog names win over an agent's bare name (catalog-names.ts).
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/server'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import { AGENT_ID_PATTERN } from '../registry/agent-record.ts'
import { byCodeUnit } from '../registry/canonical-json.ts'
import { describeIssues } from '../validation/schema-error.ts'
import { CALL_TOOL, catalogNameOf, FIND_TOOLS, isCatalogName, type CatalogMode } from './catalog-names.ts'
import { createListPager, type ListPager } from './list-pages.ts'
import type { Listing } from './mesh-listing.ts'
import { DEFAULT_SEARCH_LIMIT, MAX_QUERY_CHARS, MAX_SEARCH_LIMIT, toolIndexOf, ToolSearchError, type FoundTool } from './tool-search.ts'

/** Longer than any listed name: a full peer id, an agent id and a tool name with their dots. */
const MAX_CALLED_NAME = 512
/** Characters of a description in the text rendering; structuredContent has it whole. */
const TEXT_DESCRIPTION_CHARS = 300

/** Any JSON object, as the plain `{"type": "object"}` every client's schema support reads. */
function AnyObject (description: string): Type.TUnsafe<Record<string, unknown>> {
  return Type.Unsafe<Record<string, unknown>>({ type: 'object', description })
}

export const FindToolsInput = Type.Object({
  query: Type.String({ minLength: 1, maxLength: MAX_QUERY_CHARS, description: 'what the tool should do, in a few words, or its name' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEARCH_LIMIT, description: `most results (default ${DEFAULT_SEARCH_LIMIT})` })),
  agentId: Type.Optional(Type.String({ pattern: AGENT_ID_PATTERN, description: 'only this agent\'s tools' }))
}, { additionalProperties: false })

export const FoundToolSchema = Type.Object({
  name: Type.String({ description: 'pass this to call_tool' }),
  description: Type.Optional(Type.String()),
  agentId: Type.String(),
  score: Type.Number({ description: 'higher is a better match' }),
  inputSchema: AnyObject('JSON Schema of the tool\'s arguments')
})

export const FindToolsOutput = Type.Object({ tools: Type.Array(FoundToolSchema) })

export const CallToolInput = Type.Object({
  name: Type.String({ minLength: 1, maxLength: MAX_CALLED_NAME, description: 'a name find_tools returned' }),
  arguments: Type.Optional(AnyObject('the tool\'s arguments, as its inputSchema describes'))
}, { additionalProperties: false })
type CallToolInput = Type.Static<typeof CallToolInput>

/** A plain JSON copy: what tools/list sends is exactly what clients see. */
function jsonSchema (schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>
}

export const FIND_TOOLS_TOOL: Tool = Object.freeze({
  name: FIND_TOOLS,
  title: 'Find tools',
  description: 'Search the tools of every agent in the mesh by what they do or by name. Returns the best matches first, each with ' +
    'the name to pass to call_tool and the JSON Schema of its arguments.',
  inputSchema: jsonSchema(FindToolsInput) as Tool['inputSchema'],
  outputSchema: jsonSchema(FindToolsOutput),
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false }
})

export const CALL_TOOL_TOOL: Tool = Object.freeze({
  name: CALL_TOOL,
  title: 'Call a tool',
  description: 'Call a tool of the mesh by the name find_tools returned, with its arguments. The result is the tool\'s own.',
  inputSchema: jsonSchema(CallToolInput) as Tool['inputSchema']
})

export const CATALOG_TOOLS: readonly Tool[] = Object.freeze([FIND_TOOLS_TOOL, CALL_TOOL_TOOL])

/**
 * The tools an endpoint lists in a catalog mode: "search" lists the two catalog tools alone;
 * "full" lists them first, then every listed tool in name order, an agent's bare `find_tools` or
 * `call_tool` (conditional mode) under its logical name instead.
 */
export function withCatalog (listing: Listing, mode: CatalogMode): Tool[] {
  if (mode === 'search') return [...CATALOG_TOOLS]
  const renamed = new Map<string, string>()
  for (const listed of listing.toolNames.listed) {
    const name = catalogNameOf(listed)
    if (name !== listed.name) renamed.set(listed.name, name)
  }
  const tools = renamed.size === 0
    ? listing.tools
    : listing.tools.map((t) => {
      const name = renamed.get(t.name)
      return name === undefined ? t : { ...t, name }
    }).sort((a, b) => byCodeUnit(a.name, b.name))
  return [...CATALOG_TOOLS, ...tools]
}

/** An endpoint's tools list in a catalog mode: the tools, the string that changes exactly when they do, and their pages. */
export interface CatalogList {
  tools: Tool[]
  key: string
  pager: ListPager<{ tools: Tool[] }>
}

const lists = new WeakMap<Listing, Partial<Record<CatalogMode, CatalogList>>>()

/** {@link withCatalog} with its key and pages, computed once per listing and mode (page size as the listing's). */
export function catalogListOf (listing: Listing, mode: CatalogMode): CatalogList {
  const byMode = lists.get(listing) ?? {}
  let list = byMode[mode]
  if (list === undefined) {
    const tools = withCatalog(listing, mode)
    list = { tools, key: JSON.stringify(tools), pager: createListPager({ tools }, listing.pager.pageSize) }
    byMode[mode] = list
    lists.set(listing, byMode)
  }
  return list
}

/** What `tools/call` carries; structurally the endpoint's own call params. */
export interface CatalogCallParams {
  name: string
  arguments?: Record<string, unknown>
  _meta?: Record<string, unknown>
  inputResponses?: Record<string, unknown>
  requestState?: string
}

export interface CatalogToolsComponents<E> {
  /** The endpoint's current listing (its registry snapshot and view). */
  listing: () => Listing
  /** The endpoint's own tools/call for a listed name; `call_tool` hands its call here. */
  callTool: (params: CatalogCallParams, extra: E) => Promise<CallToolResult>
}

export interface CatalogTools<E> {
  /** Whether `name` is a catalog tool's: such a call goes to {@link call}, never to an agent. */
  handles: (name: string) => boolean
  /** Answers `find_tools` or `call_tool`; bad arguments and unknown names are tool errors (isError) a model can read. */
  call: (params: CatalogCallParams, extra: E) => Promise<CallToolResult>
}

const findValidator = Compile(FindToolsInput)
const callValidator = Compile(CallToolInput)

function toolError (text: string, code: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }], _meta: { 'dawn/error': code } }
}

function clipped (text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** The results as text, for clients that read only content: each name, agent, description and argument schema. */
export function renderFound (query: string, tools: readonly FoundTool[]): string {
  const quoted = JSON.stringify(clipped(query, 80))
  if (tools.length === 0) return `No tools match ${quoted}.`
  const lines = [`${tools.length} tool${tools.length === 1 ? '' : 's'} for ${quoted}, best first; call one with call_tool {"name": ..., "arguments": {...}}:`]
  tools.forEach((t, i) => {
    const description = t.description === undefined ? '' : `: ${clipped(t.description.replace(/\s+/g, ' ').trim(), TEXT_DESCRIPTION_CHARS)}`
    lines.push(`${i + 1}. ${t.name} (agent ${t.agentId}, score ${t.score})${description}`)
    lines.push(`   arguments: ${JSON.stringify(t.inputSchema)}`)
  })
  return lines.join('\n')
}

/** The catalog tools of one endpoint. */
export function catalogTools<E> (components: CatalogToolsComponents<E>): CatalogTools<E> {
  const findTools = (args: unknown): CallToolResult => {
    if (!findValidator.Check(args)) {
      return toolError(`invalid arguments for tool "${FIND_TOOLS}": ${describeIssues(findValidator.Errors(args), 'arguments').join('; ')}`, 'invalid-arguments')
    }
    try {
      const tools = toolIndexOf(components.listing()).search(args.query, {
        ...(args.limit === undefined ? {} : { limit: args.limit }),
        ...(args.agentId === undefined ? {} : { agentId: args.agentId })
      })
      return { content: [{ type: 'text', text: renderFound(args.query, tools) }], structuredContent: { tools } }
    } catch (err) {
      if (err instanceof ToolSearchError) return toolError(`invalid arguments for tool "${FIND_TOOLS}": ${err.message}`, 'invalid-arguments')
      throw err
    }
  }

  const callTool = async (params: CatalogCallParams, args: CallToolInput, extra: E): Promise<CallToolResult> => {
    const { name } = args
    if (isCatalogName(name)) return toolError(`call ${name} directly, not through ${CALL_TOOL}`, 'unknown-tool')
    if (!toolIndexOf(components.listing()).has(name)) {
      return toolError(`unknown tool ${JSON.stringify(clipped(name, 160))}: not a tool name this endpoint lists; ${FIND_TOOLS} gives the names`, 'unknown-tool')
    }
    // The outer call's _meta (deadline, progress token, trace context) and retry fields go with it.
    return await components.callTool({
      name,
      ...(args.arguments === undefined ? {} : { arguments: args.arguments }),
      ...(params._meta === undefined ? {} : { _meta: params._meta }),
      ...(params.inputResponses === undefined ? {} : { inputResponses: params.inputResponses }),
      ...(params.requestState === undefined ? {} : { requestState: params.requestState })
    }, extra)
  }

  return {
    handles: isCatalogName,
    call: async (params, extra) => {
      const args: unknown = params.arguments ?? {}
      if (params.name === FIND_TOOLS) return findTools(args)
      if (params.name !== CALL_TOOL) throw new RangeError(`${params.name} is not a catalog tool`)
      if (!callValidator.Check(args)) {
        return toolError(`invalid arguments for tool "${CALL_TOOL}": ${describeIssues(callValidator.Errors(args), 'arguments').join('; ')}`, 'invalid-arguments')
      }
      return await callTool(params, args, extra)
    }
  }
}
