/**
 * Maps an agent's tools/list, resources/list and prompts/list items into
 * registry shapes. One mapper serves all three lists, driven by a small
 * description per kind; anything the registry would refuse is skipped.
 */
import { Compile } from 'typebox/compile'
import {
  AgentPrompt,
  AgentResource,
  AgentTool,
  MAX_DESCRIPTION,
  MAX_INPUT_SCHEMA_BYTES,
  MAX_PROMPTS,
  MAX_RESOURCES,
  MAX_TOOLS
} from '../registry/agent-record.ts'
import { describeIssues } from '../validation/schema-error.ts'

export interface AgentLists {
  tools: AgentTool[]
  resources: AgentResource[]
  prompts: AgentPrompt[]
}

export type ListKind = keyof AgentLists

/** Reports one skipped item: `what` is the singular kind, `name` its key. */
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
  key: 'name' | 'uri'
  /** Names must match NAME_PATTERN; URIs are only checked by the validator. */
  checkName: boolean
  max: number
  /** The registry item, or the reason to skip it. */
  build: (key: string, item: Item) => T | string
  validator: ItemValidator<T>
}

const NAME_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/
const toolValidator = Compile(AgentTool)
const resourceValidator = Compile(AgentResource)
const promptValidator = Compile(AgentPrompt)

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
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

function mapList<T> (spec: ListSpec<T>, items: unknown[], skip: Skip): T[] {
  const out: T[] = []
  const keys = new Set<string>()
  for (const item of items) {
    const key = isRecord(item) && typeof item[spec.key] === 'string' ? item[spec.key] as string : undefined
    if (key === undefined || !isRecord(item)) { skip(spec.what, '?', `no ${spec.key}`); continue }
    if (spec.checkName && !NAME_PATTERN.test(key)) { skip(spec.what, key, 'name must match ^[A-Za-z0-9_.:/-]+$ and be at most 128 characters'); continue }
    if (keys.has(key)) { skip(spec.what, key, 'listed twice'); continue }
    if (out.length >= spec.max) { skip(spec.what, key, `more than ${spec.max} ${spec.what}s`); continue }
    const built = spec.build(key, item)
    if (typeof built === 'string') { skip(spec.what, key, built); continue }
    // A URI can be long; names are at most 128 characters already.
    if (!spec.validator.Check(built)) { skip(spec.what, clip(key, 256), describeIssues(spec.validator.Errors(built)).join('; ')); continue }
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
    build: (name, item) => {
      const tool: AgentTool = { name, ...description(item.description) }
      if (item.inputSchema !== undefined) {
        if (!isRecord(item.inputSchema)) return 'inputSchema is not an object'
        const bytes = Buffer.byteLength(JSON.stringify(item.inputSchema))
        if (bytes > MAX_INPUT_SCHEMA_BYTES) return `inputSchema is ${bytes} bytes, limit ${MAX_INPUT_SCHEMA_BYTES}`
        tool.inputSchema = item.inputSchema
      }
      return tool
    },
    validator: toolValidator
  },
  resources: {
    what: 'resource',
    key: 'uri',
    checkName: false,
    max: MAX_RESOURCES,
    build: (uri, item) => {
      const resource: AgentResource = { uri, name: typeof item.name === 'string' ? item.name : '', ...description(item.description) }
      if (typeof item.mimeType === 'string') resource.mimeType = item.mimeType
      return resource
    },
    validator: resourceValidator
  },
  prompts: {
    what: 'prompt',
    key: 'name',
    checkName: true,
    max: MAX_PROMPTS,
    build: (name, item) => {
      const prompt: AgentPrompt = { name, ...description(item.description) }
      if (item.arguments !== undefined) {
        if (!Array.isArray(item.arguments)) return 'arguments is not an array'
        prompt.arguments = item.arguments.map((a: unknown) => isRecord(a)
          ? {
              name: typeof a.name === 'string' ? a.name : '',
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
