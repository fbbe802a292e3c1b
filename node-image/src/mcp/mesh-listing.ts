/**
 * The mesh's lists for one registry snapshot and one view (naming mode and tool filters):
 * every logical agent's tools and prompts under the names the mode gives them, every
 * replica's resources and resource templates, with what the agent listed kept untouched
 * (title, schemas, annotations, icons, size, `_meta` beside Dawn's `dawn/*` keys), and their pages.
 */
import type { Prompt, Resource, ResourceTemplateType, Tool } from '@modelcontextprotocol/server'
import type { AgentPrompt, AgentRecord, AgentTool } from '../registry/agent-record.ts'
import { MeshNames, meshResourceTemplate, meshResourceUri } from '../routing/tool-names.ts'
import { createListPager, type ListPager } from './list-pages.ts'
import { logicalAgents } from './logical-catalog.ts'
import { namePrompts, nameTools, ownNames, type Listed, type Naming, type NamingMode } from './naming-modes.ts'
import { filterAgents, type FilteredAgent, type ToolFilters } from './tool-filters.ts'
import type { CatalogMode } from '../config/mcp-views.ts'
import { isRecord } from '../validation/is-record.ts'

/** How an endpoint names and filters what it lists; the same on every node of a network. */
export interface ListingView {
  naming: NamingMode
  /** Per agent id, applied before names are formed. */
  toolFilters: ToolFilters
  /** Whether `find_tools` and `call_tool` are listed beside every tool or alone; unset, no catalog tools (per-agent endpoints). */
  catalog?: CatalogMode
  /** One agent's endpoint: only its items, under its own names and resource URIs. */
  agentId?: string
}

export const DEFAULT_LISTING_VIEW: ListingView = Object.freeze({ naming: 'logical', toolFilters: Object.freeze({}) })

/** Everything listed for one registry snapshot. */
export interface Listing {
  view: ListingView
  /** Replica tags, from every record. */
  names: MeshNames
  records: Map<string, AgentRecord>
  /** Filtered logical agents by id. */
  agents: Map<string, FilteredAgent>
  toolNames: Naming<AgentTool>
  promptNames: Naming<AgentPrompt>
  tools: Tool[]
  prompts: Prompt[]
  resources: Resource[]
  resourceTemplates: ResourceTemplateType[]
  /** One string per list, equal exactly when the list is. */
  keys: ListKeys
  /** Pages of each list, cursors bound to this snapshot's contents. */
  pager: ListPager<MeshLists>
}

export interface MeshLists {
  tools: Tool[]
  prompts: Prompt[]
  resources: Resource[]
  resourceTemplates: ResourceTemplateType[]
}

/** `resources` covers the templates too: both change under one resources list_changed. */
export interface ListKeys { tools: string, prompts: string, resources: string }

/** Per snapshot, one listing per view object (views are kept, not rebuilt per request, so this stays small). */
const listings = new WeakMap<AgentRecord[], WeakMap<ListingView, Listing>>()

export function recordKey (nodeId: string, agentId: string): string {
  return `${nodeId}:${agentId}`
}

/** What clients' SDKs check of a tool schema: an object schema, properties of objects, required of strings. */
function isObjectSchema (schema: Record<string, unknown>): boolean {
  if (schema.type !== undefined && schema.type !== 'object') return false
  const { properties, required } = schema
  if (properties !== undefined && !(isRecord(properties) && Object.values(properties).every(isRecord))) return false
  return required === undefined || (Array.isArray(required) && required.every((r) => typeof r === 'string'))
}

/** MCP requires an object schema; a malformed one from one agent must not break the whole list. */
function toolInputSchema (schema: Record<string, unknown> | undefined): Tool['inputSchema'] {
  return schema !== undefined && isObjectSchema(schema) ? { ...schema, type: 'object' } : { type: 'object' }
}

/** A client holds results to the outputSchema, so a malformed one is left out rather than replaced. */
function toolOutputSchema (schema: Record<string, unknown> | undefined): { outputSchema?: Tool['outputSchema'] } {
  return schema !== undefined && schema.type === 'object' && isObjectSchema(schema) ? { outputSchema: { ...schema, type: 'object' } } : {}
}

/** The agent's own description, untouched: which agent and node serve an item is in its name and `_meta`. */
function described (description: string | undefined): { description?: string } {
  return description === undefined ? {} : { description }
}

/** The agent's own decorations, untouched; absent ones stay absent. */
function decorations (item: { title?: string, icons?: unknown, annotations?: unknown }): Record<string, unknown> {
  return {
    ...(item.title === undefined ? {} : { title: item.title }),
    ...(item.icons === undefined ? {} : { icons: item.icons }),
    ...(item.annotations === undefined ? {} : { annotations: item.annotations })
  }
}

/** The agent's `_meta` keys, then Dawn's (`dawn/*`, which win). */
function metaOf (item: { _meta?: Record<string, unknown> }, dawn: Record<string, unknown>): Record<string, unknown> {
  return { ...item._meta, ...dawn }
}

/** Dawn's `_meta` keys of a listed tool or prompt: which agent, its own name, and the node only for a replica's name. */
function itemMeta (listed: Listed<unknown>, key: 'dawn/tool' | 'dawn/prompt'): Record<string, unknown> {
  const node = listed.form === 'replica' ? { 'dawn/nodeId': listed.replicas[0] } : {}
  return { ...node, 'dawn/agentId': listed.agentId, [key]: listed.tool }
}

/**
 * Every replica's resources and templates: under `dawn://<nodeId>/<agentId>/…` on the mesh
 * endpoint; under the agent's own URIs on its own endpoint, each once (the first replica
 * by node id that lists it is shown; a read goes to any replica that lists it).
 */
function resourcesOf (records: readonly AgentRecord[], ownUris: boolean): { resources: Resource[], resourceTemplates: ResourceTemplateType[] } {
  const resources: Resource[] = []
  const resourceTemplates: ResourceTemplateType[] = []
  const seen = new Set<string>()
  const once = (key: string): boolean => {
    if (!ownUris) return true
    if (seen.has(key)) return false
    seen.add(key)
    return true
  }
  for (const record of records) {
    const { nodeId, agentId } = record
    const node = ownUris ? {} : { 'dawn/nodeId': nodeId }
    for (const resource of record.resources ?? []) {
      if (!once(`r:${resource.uri}`)) continue
      resources.push({
        uri: ownUris ? resource.uri : meshResourceUri(nodeId, agentId, resource.uri),
        name: resource.name,
        ...decorations(resource),
        ...described(resource.description),
        ...(resource.mimeType === undefined ? {} : { mimeType: resource.mimeType }),
        ...(resource.size === undefined ? {} : { size: resource.size }),
        _meta: metaOf(resource, { ...node, 'dawn/agentId': agentId, 'dawn/uri': resource.uri })
      })
    }
    for (const template of record.resourceTemplates ?? []) {
      if (!once(`t:${template.uriTemplate}`)) continue
      resourceTemplates.push({
        uriTemplate: ownUris ? template.uriTemplate : meshResourceTemplate(nodeId, agentId, template.uriTemplate),
        name: template.name,
        ...decorations(template),
        ...described(template.description),
        ...(template.mimeType === undefined ? {} : { mimeType: template.mimeType }),
        _meta: metaOf(template, { ...node, 'dawn/agentId': agentId, 'dawn/uriTemplate': template.uriTemplate })
      })
    }
  }
  return { resources, resourceTemplates }
}

/** The listing of a snapshot in a view, computed once per entries array, view and page size and shared by every session and request. */
export function listingOf (entries: AgentRecord[], pageSize: number, view: ListingView = DEFAULT_LISTING_VIEW): Listing {
  const byView = listings.get(entries) ?? new WeakMap<ListingView, Listing>()
  listings.set(entries, byView)
  const cached = byView.get(view)
  if (cached !== undefined && cached.pager.pageSize === pageSize) return cached
  const records = new Map<string, AgentRecord>()
  for (const record of entries) {
    const key = recordKey(record.nodeId, record.agentId)
    const other = records.get(key)
    if (other === undefined || other.updatedAt < record.updatedAt) records.set(key, record)
  }
  const sorted = [...records.values()].sort((a, b) => a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0)
  const names = new MeshNames(sorted)
  const own = view.agentId
  const scoped = own === undefined ? sorted : sorted.filter((r) => r.agentId === own)
  const filtered = filterAgents(logicalAgents(scoped), view.toolFilters)
  const toolNames = own === undefined ? nameTools(filtered, { mode: view.naming, names }) : ownNames(filtered[0], (a) => a.tools)
  const promptNames = own === undefined ? namePrompts(filtered, { mode: view.naming, names }) : ownNames(filtered[0], (a) => a.prompts)
  const tools: Tool[] = toolNames.listed.map((listed) => ({
    name: listed.name,
    ...decorations(listed.item),
    ...described(listed.item.description),
    inputSchema: toolInputSchema(listed.item.inputSchema),
    ...toolOutputSchema(listed.item.outputSchema),
    _meta: metaOf(listed.item, itemMeta(listed, 'dawn/tool'))
  }))
  const prompts: Prompt[] = promptNames.listed.map((listed) => ({
    name: listed.name,
    ...decorations(listed.item),
    ...described(listed.item.description),
    ...(listed.item.arguments === undefined ? {} : { arguments: listed.item.arguments }),
    _meta: metaOf(listed.item, itemMeta(listed, 'dawn/prompt'))
  }))
  const { resources, resourceTemplates } = resourcesOf(scoped, own !== undefined)
  const lists = { tools, prompts, resources, resourceTemplates }
  const listing: Listing = {
    view,
    names,
    records,
    agents: new Map(filtered.map((a) => [a.agentId, a])),
    toolNames,
    promptNames,
    ...lists,
    keys: { tools: JSON.stringify(tools), prompts: JSON.stringify(prompts), resources: JSON.stringify([resources, resourceTemplates]) },
    pager: createListPager(lists, pageSize)
  }
  byView.set(view, listing)
  return listing
}
