/**
 * Per-agent tool filters: allow and deny lists, renames and description overrides. They are
 * applied to a logical agent before names are formed, so a filtered tool is neither listed
 * nor resolvable, and a renamed tool is known only by its new name.
 *
 * Every key of a filter names a tool by the agent's own name: `allow`/`deny` patterns match
 * it, `rename` maps it to the exposed name, `descriptions` replaces its description.
 * Prompts pass through unfiltered (the filters are about tools).
 */
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { TLocalizedValidationError } from 'typebox/error'
import { MAX_TOOL_NAME, pointer, TOOL_NAME_PATTERN, type AgentPrompt, type AgentTool } from '../registry/agent-record.ts'
import { renameClash, ToolFilter, ToolFilters } from '../config/mcp-views.ts'
import { byCodeUnit } from '../registry/canonical-json.ts'
import { type ItemVersion, type LogicalAgent } from './logical-catalog.ts'

export { MAX_FILTER_ENTRIES, ToolFilter, ToolFilters } from '../config/mcp-views.ts'

const TOOL_NAME = new RegExp(TOOL_NAME_PATTERN)

/** The one error a filter parser throws; `path` is a JSON pointer into the input. */
export class ToolFilterError extends Error {
  readonly path: string

  constructor (path: string, message: string) {
    super(`tool filter ${path === '' ? '/' : path}: ${message}`)
    this.name = 'ToolFilterError'
    this.path = path
  }
}

/** A tool of a filtered agent under the name it is exposed by. */
export interface ExposedItem<T extends { name: string }> {
  /** The name after renames; what names are formed from. */
  name: string
  /** The agent's own name, what a call sends to the agent. */
  ownName: string
  replicas: string[]
  /** As in the logical agent, description overrides applied; the listed version first. */
  versions: Array<ItemVersion<T>>
}

/** A rename whose target is also a tool's own name: the rename wins, so the name keeps meaning what the config said. */
export const FilterConflict = Type.Object({
  agentId: Type.String(),
  name: Type.String(),
  renamedFrom: Type.String(),
  /** The agent's own tool of that name, now hidden. */
  hidden: Type.String()
})
export type FilterConflict = Type.Static<typeof FilterConflict>

export interface FilteredAgent {
  agent: LogicalAgent
  agentId: string
  replicas: string[]
  /** Sorted by exposed name. */
  tools: Array<ExposedItem<AgentTool>>
  prompts: Array<ExposedItem<AgentPrompt>>
  conflicts: FilterConflict[]
}

const singleValidator = Compile(ToolFilter)
const mapValidator = Compile(ToolFilters)

function schemaError (errors: TLocalizedValidationError[], base: string): ToolFilterError {
  const error = errors.find((e) => e.keyword === 'additionalProperties') ?? errors.find((e) => e.keyword !== 'boolean') ?? errors[0]
  if (error === undefined) return new ToolFilterError(base, 'invalid')
  const path = `${base}${error.instancePath}`
  if (error.keyword === 'additionalProperties') {
    const key = error.params.additionalProperties[0] ?? ''
    const where = path.split('/').at(-1)
    const what = where === 'rename' || where === 'descriptions' ? 'is not a valid tool name' : 'is not a known setting'
    return new ToolFilterError(`${path}${pointer(key)}`, `"${key}" ${what}`)
  }
  if (/\/rename\/[^/]+$/.test(path)) {
    return new ToolFilterError(path, 'rename target is not a valid tool name (1-128 of A-Z a-z 0-9 _ . : / -)')
  }
  if (error.keyword === 'pattern' && /\/(allow|deny)\/\d+$/.test(path)) {
    return new ToolFilterError(path, 'not a tool name pattern (tool name characters and *)')
  }
  return new ToolFilterError(path, error.message)
}

/** What the schema cannot say: keys within the name length, and no two tools renamed to one name. */
function checkFilter (filter: ToolFilter, base: string): void {
  for (const field of ['rename', 'descriptions'] as const) {
    for (const key of Object.keys(filter[field] ?? {})) {
      if (key.length > MAX_TOOL_NAME || !TOOL_NAME.test(key)) throw new ToolFilterError(`${base}${pointer(field, key)}`, `"${key.slice(0, 140)}" is not a valid tool name`)
    }
  }
  const clash = renameClash(filter)
  if (clash !== undefined) throw new ToolFilterError(`${base}${pointer('rename', clash.second)}`, `"${clash.first}" and "${clash.second}" are both renamed to "${clash.to}"`)
}

/** Checks one agent's filter (e.g. a DawnAgent's); throws ToolFilterError. */
export function parseToolFilter (value: unknown): ToolFilter {
  if (!singleValidator.Check(value)) throw schemaError(singleValidator.Errors(value), '')
  checkFilter(value, '')
  return value
}

/** Checks the node config's filters by agent id; throws ToolFilterError. */
export function parseToolFilters (value: unknown): ToolFilters {
  if (!mapValidator.Check(value)) throw schemaError(mapValidator.Errors(value), '')
  for (const [agentId, filter] of Object.entries(value)) checkFilter(filter, pointer(agentId))
  return value
}

/** `*` matches any run of characters; everything else literally. */
function globTest (patterns: string[]): (name: string) => boolean {
  const regexes = patterns.map((p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`))
  return (name) => regexes.some((r) => r.test(name))
}

function described<T extends { description?: string }> (versions: Array<ItemVersion<T>>, description: string | undefined): Array<ItemVersion<T>> {
  return description === undefined ? versions : versions.map((v) => ({ item: { ...v.item, description }, nodeIds: v.nodeIds }))
}

/** One logical agent with its filter (if any) applied. */
export function filterAgent (agent: LogicalAgent, filter: ToolFilter | undefined): FilteredAgent {
  const allowed = filter?.allow === undefined ? () => true : globTest(filter.allow)
  const denied = globTest(filter?.deny ?? [])
  const rename = new Map(Object.entries(filter?.rename ?? {}))
  const descriptions = new Map(Object.entries(filter?.descriptions ?? {}))
  const kept = agent.tools.filter((t) => allowed(t.name) && !denied(t.name))
  const renamedTargets = new Map<string, string>()
  for (const tool of kept) {
    const to = rename.get(tool.name)
    if (to !== undefined && to !== tool.name) renamedTargets.set(to, tool.name)
  }
  const conflicts: FilterConflict[] = []
  const tools: Array<ExposedItem<AgentTool>> = []
  for (const tool of kept) {
    const renamed = rename.get(tool.name)
    const from = renamedTargets.get(tool.name)
    // Renames were checked unique, so at most one renamed tool and this one claim the name.
    if (renamed === undefined && from !== undefined) {
      conflicts.push({ agentId: agent.agentId, name: tool.name, renamedFrom: from, hidden: tool.name })
      continue
    }
    tools.push({ name: renamed ?? tool.name, ownName: tool.name, replicas: tool.replicas, versions: described(tool.versions, descriptions.get(tool.name)) })
  }
  // Unchecked filters could still rename two tools to one name; the lowest own name keeps it.
  tools.sort((a, b) => byCodeUnit(a.name, b.name) || byCodeUnit(a.ownName, b.ownName))
  for (let i = tools.length - 1; i > 0; i--) {
    const [prev, cur] = [tools[i - 1], tools[i]]
    if (prev === undefined || cur === undefined || prev.name !== cur.name) continue
    conflicts.push({ agentId: agent.agentId, name: cur.name, renamedFrom: prev.ownName, hidden: cur.ownName })
    tools.splice(i, 1)
  }
  conflicts.sort((a, b) => byCodeUnit(a.name, b.name) || byCodeUnit(a.hidden, b.hidden))
  const prompts = agent.prompts.map((p) => ({ name: p.name, ownName: p.name, replicas: p.replicas, versions: p.versions }))
  return { agent, agentId: agent.agentId, replicas: agent.replicas, tools, prompts, conflicts }
}

/** Every logical agent with its filter applied; agents without one pass unchanged. */
export function filterAgents (agents: readonly LogicalAgent[], filters: ToolFilters | undefined): FilteredAgent[] {
  return agents.map((agent) => filterAgent(agent, filters === undefined ? undefined : Object.hasOwn(filters, agent.agentId) ? filters[agent.agentId] : undefined))
}
