/**
 * The config schemas of what `/mcp` shows: the naming mode and per-agent tool filters.
 * Their meaning is in mcp/naming-modes.ts and mcp/tool-filters.ts; the schemas live here so
 * the config does not depend on the MCP layer.
 */
import Type from 'typebox'
import { AGENT_ID_PATTERN, MAX_DESCRIPTION, ToolName } from '../registry/agent-record.ts'
import { byCodeUnit } from '../registry/canonical-json.ts'

/** What a filter's keys and values are checked against, for schemas built on this one (the operator's CRD). */
export { MAX_DESCRIPTION, MAX_TOOL_NAME, TOOL_NAME_PATTERN, ToolName } from '../registry/agent-record.ts'

export const NAMING_MODES = ['logical', 'always-prefixed', 'conditional'] as const
// Literals spelled out: a Union over a mapped array would type the config field as never.
export const NamingMode = Type.Union([Type.Literal('logical'), Type.Literal('always-prefixed'), Type.Literal('conditional')], {
  default: 'logical',
  description: 'logical: <agentId>.<tool>, one per agent; always-prefixed: <nodeTag>.<agentId>.<tool>, one per node; conditional: the bare tool name unless two agents share it'
})
export type NamingMode = typeof NAMING_MODES[number]

export const CATALOG_MODES = ['full', 'search'] as const
export const CatalogMode = Type.Union([Type.Literal('full'), Type.Literal('search')], {
  default: 'full',
  description: 'full: /mcp lists every tool plus find_tools and call_tool; search: only those two (every tool stays callable)'
})
export type CatalogMode = typeof CATALOG_MODES[number]

export const MAX_FILTER_ENTRIES = 256

/** A tool name where `*` matches any run of characters (including none and dots). */
const ToolPattern = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:/*-]+$' })

/** The filter of one agent; in the node config per agent id, and in a DawnAgent's spec. */
export const ToolFilter = Type.Object({
  allow: Type.Optional(Type.Array(ToolPattern, { maxItems: MAX_FILTER_ENTRIES, description: 'only tools matching one of these are kept; absent keeps all, [] keeps none' })),
  deny: Type.Optional(Type.Array(ToolPattern, { maxItems: MAX_FILTER_ENTRIES, description: 'tools matching one of these are dropped (wins over allow)' })),
  rename: Type.Optional(Type.Record(ToolName, ToolName, { maxProperties: MAX_FILTER_ENTRIES, additionalProperties: false })),
  descriptions: Type.Optional(Type.Record(ToolName, Type.String({ maxLength: MAX_DESCRIPTION }), { maxProperties: MAX_FILTER_ENTRIES, additionalProperties: false }))
}, { additionalProperties: false })
export type ToolFilter = Type.Static<typeof ToolFilter>

/** Filters by agent id, as the node config holds them. */
export const ToolFilters = Type.Record(Type.String({ pattern: AGENT_ID_PATTERN }), ToolFilter, {
  maxProperties: 10_000,
  additionalProperties: false,
  default: {}
})
export type ToolFilters = Type.Static<typeof ToolFilters>

/** The first two tools renamed to one name, if any (in code-unit order of the sources, so the answer is stable). */
export function renameClash (filter: ToolFilter): { first: string, second: string, to: string } | undefined {
  const sources = new Map<string, string>()
  for (const [from, to] of Object.entries(filter.rename ?? {}).sort(([a], [b]) => byCodeUnit(a, b))) {
    const other = sources.get(to)
    if (other !== undefined) return { first: other, second: from, to }
    sources.set(to, from)
  }
  return undefined
}
