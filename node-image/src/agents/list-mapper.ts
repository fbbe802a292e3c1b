/**
 * Maps an agent's tools/list, resources/list, resources/templates/list and prompts/list items
 * into registry shapes. One mapper serves all four lists, driven by a small description per
 * kind. An item the registry would refuse is skipped; a decoration that does not fit (title,
 * icons, annotations, size, _meta) is dropped and the item kept. Both are reported.
 */
import { Compile } from 'typebox/compile'
import {
  AgentIcons,
  AgentMeta,
  AgentPrompt,
  AgentResource,
  AgentResourceTemplate,
  AgentTool,
  MAX_DESCRIPTION,
  MAX_PROMPTS,
  MAX_RESOURCE_TEMPLATES,
  MAX_RESOURCES,
  MAX_TITLE,
  MAX_TOOLS,
  ResourceAnnotations,
  ToolAnnotations,
  oversize,
  type SizeCappedField
} from '../registry/agent-record.ts'
import { describeIssues } from '../validation/schema-error.ts'
import { isRecord } from '../validation/is-record.ts'

export interface AgentLists {
  tools: AgentTool[]
  resources: AgentResource[]
  prompts: AgentPrompt[]
  resourceTemplates: AgentResourceTemplate[]
}

export type ListKind = keyof AgentLists

/** Reports one skipped item, or a field dropped from one: `what` is the singular kind, `name` its key. */
export type Skip = (what: string, name: string, reason: string) => void

type Item = Record<string, unknown>

interface ItemValidator<T> {
  Check: (value: unknown) => value is T
  Errors: (value: unknown) => Parameters<typeof describeIssues>[0]
}

/** What differs between the three lists. */
interface ListSpec<T> {
  /** Singular, for skip reports. */
  what: string
  key: 'name' | 'uri' | 'uriTemplate'
  /** Names must match NAME_PATTERN; URIs are only checked by the validator. */
  checkName: boolean
  max: number
  /** The registry item, or the reason to skip it; `drop` reports a decoration left out. */
  build: (key: string, item: Item, drop: (reason: string) => void) => T | string
  validator: ItemValidator<T>
}

const NAME_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/
const toolValidator = Compile(AgentTool)
const resourceValidator = Compile(AgentResource)
const promptValidator = Compile(AgentPrompt)
const templateValidator = Compile(AgentResourceTemplate)
const DECORATIONS = {
  icons: Compile(AgentIcons),
  _meta: Compile(AgentMeta),
  toolAnnotations: Compile(ToolAnnotations),
  resourceAnnotations: Compile(ResourceAnnotations)
}

export function clip (text: string, max: number): string {
  if (text.length <= max) return text
  const cut = text.slice(0, max)
  // Don't leave half a surrogate pair at the end.
  return /[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut
}

function description (value: unknown): { description?: string } {
  return typeof value === 'string' ? { description: clip(value, MAX_DESCRIPTION) } : {}
}

/** A free-form object field (a JSON Schema) that must fit its cap, or the reason to skip the item. */
function schemaField (field: 'inputSchema' | 'outputSchema', value: unknown): { [k: string]: Record<string, unknown> } | string {
  if (value === undefined) return {}
  if (!isRecord(value)) return `${field} is not an object`
  return oversize(field, value) ?? { [field]: value }
}

/**
 * The optional decorations an item keeps exactly as listed: each one that is malformed or too
 * large is dropped alone, so one bad icon costs the icon, not the tool.
 */
function decorations (item: Item, annotations: 'toolAnnotations' | 'resourceAnnotations' | undefined, drop: (reason: string) => void): Item {
  const out: Item = {}
  if (item.title !== undefined) {
    if (typeof item.title === 'string') out.title = clip(item.title, MAX_TITLE)
    else drop('title dropped: not a string')
  }
  const checked: Array<[SizeCappedField, keyof typeof DECORATIONS]> = [['icons', 'icons'], ['_meta', '_meta']]
  if (annotations !== undefined) checked.push(['annotations', annotations])
  for (const [field, check] of checked) {
    const value = item[field]
    if (value === undefined) continue
    const tooLarge = oversize(field, value)
    if (tooLarge !== undefined) { drop(`${field} dropped: ${tooLarge}`); continue }
    const validator = DECORATIONS[check]
    if (!validator.Check(value)) { drop(`${field} dropped: ${describeIssues(validator.Errors(value)).join('; ')}`); continue }
    out[field] = value
  }
  return out
}

function mapList<T> (spec: ListSpec<T>, items: unknown[], skip: Skip): T[] {
  const out: T[] = []
  const keys = new Set<string>()
  for (const item of items) {
    const key = isRecord(item) && typeof item[spec.key] === 'string' ? item[spec.key] as string : undefined
    if (key === undefined || !isRecord(item)) { skip(spec.what, '?', `no ${spec.key}`); continue }
    if (spec.checkName && !NAME_PATTERN.test(key)) { skip(spec.what, key, 'name must match ^[A-Za-z0-9_.:/-]+$ and be at most 128 characters'); continue }
    if (keys.has(key)) { skip(spec.what, key, 'listed twice'); continue }
    if (out.length >= spec.max) { skip(spec.what, key, `more than ${spec.max} ${spec.what}s`); continue }
    const dropped: string[] = []
    const built = spec.build(key, item, (reason) => { dropped.push(reason) })
    if (typeof built === 'string') { skip(spec.what, key, built); continue }
    // A URI can be long; names are at most 128 characters already.
    if (!spec.validator.Check(built)) { skip(spec.what, clip(key, 256), describeIssues(spec.validator.Errors(built)).join('; ')); continue }
    for (const reason of dropped) skip(spec.what, clip(key, 256), reason)
    keys.add(key)
    out.push(built)
  }
  return out
}

const LIST_SPECS: { [K in ListKind]: ListSpec<AgentLists[K][number]> } = {
  tools: {
    what: 'tool',
    key: 'name',
    checkName: true,
    max: MAX_TOOLS,
    build: (name, item, drop) => {
      const input = schemaField('inputSchema', item.inputSchema)
      if (typeof input === 'string') return input
      const output = schemaField('outputSchema', item.outputSchema)
      if (typeof output === 'string') return output
      return { name, ...description(item.description), ...input, ...output, ...decorations(item, 'toolAnnotations', drop) }
    },
    validator: toolValidator
  },
  resources: {
    what: 'resource',
    key: 'uri',
    checkName: false,
    max: MAX_RESOURCES,
    build: (uri, item, drop) => {
      const resource: AgentResource = { uri, name: typeof item.name === 'string' ? item.name : '', ...description(item.description), ...decorations(item, 'resourceAnnotations', drop) }
      if (typeof item.mimeType === 'string') resource.mimeType = item.mimeType
      if (item.size !== undefined) {
        if (typeof item.size === 'number' && Number.isSafeInteger(item.size) && item.size >= 0) resource.size = item.size
        else drop('size dropped: not a byte count')
      }
      return resource
    },
    validator: resourceValidator
  },
  resourceTemplates: {
    what: 'resource template',
    key: 'uriTemplate',
    checkName: false,
    max: MAX_RESOURCE_TEMPLATES,
    build: (uriTemplate, item, drop) => {
      const template: AgentResourceTemplate = { uriTemplate, name: typeof item.name === 'string' ? item.name : '', ...description(item.description), ...decorations(item, 'resourceAnnotations', drop) }
      if (typeof item.mimeType === 'string') template.mimeType = item.mimeType
      return template
    },
    validator: templateValidator
  },
  prompts: {
    what: 'prompt',
    key: 'name',
    checkName: true,
    max: MAX_PROMPTS,
    build: (name, item, drop) => {
      const prompt: AgentPrompt = { name, ...description(item.description), ...decorations(item, undefined, drop) }
      if (item.arguments !== undefined) {
        if (!Array.isArray(item.arguments)) return 'arguments is not an array'
        prompt.arguments = item.arguments.map((a: unknown) => isRecord(a)
          ? {
              name: typeof a.name === 'string' ? a.name : '',
              ...(typeof a.title === 'string' ? { title: clip(a.title, MAX_TITLE) } : {}),
              ...description(a.description),
              ...(typeof a.required === 'boolean' ? { required: a.required } : {})
            }
          : { name: '' })
      }
      return prompt
    },
    validator: promptValidator
  }
}

/** Maps one list's items (of any page) into registry items of that kind. */
export function mapAgentList<K extends ListKind> (kind: K, items: unknown[], skip: Skip): AgentLists[K] {
  return mapList(LIST_SPECS[kind], items, skip) as AgentLists[K]
}

export function toAgentTools (items: unknown[], skip: Skip): AgentTool[] { return mapAgentList('tools', items, skip) }
export function toAgentResources (items: unknown[], skip: Skip): AgentResource[] { return mapAgentList('resources', items, skip) }
export function toAgentPrompts (items: unknown[], skip: Skip): AgentPrompt[] { return mapAgentList('prompts', items, skip) }
export function toAgentResourceTemplates (items: unknown[], skip: Skip): AgentResourceTemplate[] { return mapAgentList('resourceTemplates', items, skip) }
