/**
 * The mesh's lists for one registry snapshot: every agent's tools, prompts, resources and
 * resource templates under mesh names, with what the agent listed kept untouched (title,
 * schemas, annotations, icons, size, `_meta` beside Dawn's `dawn/*` keys), and their pages.
 */
import type { Prompt, Resource, ResourceTemplateType, Tool } from '@modelcontextprotocol/server'
import type { AgentRecord } from '../registry/agent-record.ts'
import { MeshNames, meshResourceTemplate, meshResourceUri } from '../routing/tool-names.ts'
import { createListPager, type ListPager } from './list-pages.ts'
import { isRecord } from '../validation/is-record.ts'

/** Everything listed for one registry snapshot. */
export interface Listing {
  names: MeshNames
  records: Map<string, AgentRecord>
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

const listings = new WeakMap<AgentRecord[], Listing>()

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

/** The listing of a snapshot, computed once per entries array (and page size) and shared by every session and request. */
export function listingOf (entries: AgentRecord[], pageSize: number): Listing {
  const cached = listings.get(entries)
  if (cached !== undefined && cached.pager.pageSize === pageSize) return cached
  const records = new Map<string, AgentRecord>()
  for (const record of entries) {
    const key = recordKey(record.nodeId, record.agentId)
    const other = records.get(key)
    if (other === undefined || other.updatedAt < record.updatedAt) records.set(key, record)
  }
  const sorted = [...records.values()].sort((a, b) => a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0)
  const names = new MeshNames(sorted)
  const tools: Tool[] = []
  const prompts: Prompt[] = []
  const resources: Resource[] = []
  const resourceTemplates: ResourceTemplateType[] = []
  for (const record of sorted) {
    const { nodeId, agentId } = record
    for (const tool of record.tools) {
      tools.push({
        name: names.toolName(nodeId, agentId, tool.name),
        ...decorations(tool),
        ...described(tool.description),
        inputSchema: toolInputSchema(tool.inputSchema),
        ...toolOutputSchema(tool.outputSchema),
        _meta: metaOf(tool, { 'dawn/nodeId': nodeId, 'dawn/agentId': agentId, 'dawn/tool': tool.name })
      })
    }
    for (const prompt of record.prompts ?? []) {
      prompts.push({
        name: names.toolName(nodeId, agentId, prompt.name),
        ...decorations(prompt),
        ...described(prompt.description),
        ...(prompt.arguments === undefined ? {} : { arguments: prompt.arguments }),
        _meta: metaOf(prompt, { 'dawn/nodeId': nodeId, 'dawn/agentId': agentId, 'dawn/prompt': prompt.name })
      })
    }
    for (const resource of record.resources ?? []) {
      resources.push({
        uri: meshResourceUri(nodeId, agentId, resource.uri),
        name: resource.name,
        ...decorations(resource),
        ...described(resource.description),
        ...(resource.mimeType === undefined ? {} : { mimeType: resource.mimeType }),
        ...(resource.size === undefined ? {} : { size: resource.size }),
        _meta: metaOf(resource, { 'dawn/nodeId': nodeId, 'dawn/agentId': agentId, 'dawn/uri': resource.uri })
      })
    }
    for (const template of record.resourceTemplates ?? []) {
      resourceTemplates.push({
        uriTemplate: meshResourceTemplate(nodeId, agentId, template.uriTemplate),
        name: template.name,
        ...decorations(template),
        ...described(template.description),
        ...(template.mimeType === undefined ? {} : { mimeType: template.mimeType }),
        _meta: metaOf(template, { 'dawn/nodeId': nodeId, 'dawn/agentId': agentId, 'dawn/uriTemplate': template.uriTemplate })
      })
    }
  }
  const lists = { tools, prompts, resources, resourceTemplates }
  const listing: Listing = {
    names,
    records,
    ...lists,
    keys: { tools: JSON.stringify(tools), prompts: JSON.stringify(prompts), resources: JSON.stringify([resources, resourceTemplates]) },
    pager: createListPager(lists, pageSize)
  }
  listings.set(entries, listing)
  return listing
}
