/**
 * Wire/disk schema for agent records and for the registry's OR-Set state.
 * Everything received from the mesh or read from disk passes through
 * parseRegistryState before it touches the CRDT.
 */
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { TLocalizedValidationError } from 'typebox/error'
import { InvalidDotError, parseDot } from './dots.ts'
import type { OrSetState } from './or-set.ts'

export const AGENT_ID_PATTERN = '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'
/** libp2p peer id in base58btc (Ed25519 ids are 52 chars, RSA/CIDv0-style ~46). */
export const NODE_ID_PATTERN = '^[1-9A-HJ-NP-Za-km-z]{40,80}$'
export const AGENT_KINDS = ['builtin', 'remote', 'stdio', 'static'] as const
export type AgentKind = typeof AGENT_KINDS[number]

export const MAX_TOOLS = 256
export const MAX_DESCRIPTION = 2000
export const MAX_REGISTRY_ENTRIES = 10_000
/** Several live dots per key only arise from concurrent incarnations of one node. */
export const MAX_DOTS_PER_ENTRY = 32
export const MAX_CONTEXT_REPLICAS = 10_000
export const MAX_CLOUD_DOTS = 20_000
/** inputSchema is free-form JSON Schema; cap its serialized size instead of its shape. */
export const MAX_INPUT_SCHEMA_BYTES = 64 * 1024

const BASE58 = '[1-9A-HJ-NP-Za-km-z]{40,80}'
const AGENT_ID = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
/** `<peerId>.<incarnation>`; the incarnation is hex (8 chars today, room to grow). */
const REPLICA = `${BASE58}\\.[0-9a-f]{8,32}`
/** A whole replica id, for wire formats that name replicas outside dots (anti-entropy). */
export const REPLICA_PATTERN = `^${REPLICA}$`
/** Counter digits are bounded here; parseDot enforces the safe-integer range. */
const DOT = `${REPLICA}@[1-9][0-9]{0,15}`

/** outputSchema is free-form JSON Schema too, with the same cap. */
export const MAX_OUTPUT_SCHEMA_BYTES = MAX_INPUT_SCHEMA_BYTES
export const MAX_TITLE = 256
export const MAX_ICONS = 8
/** Icons may be data: URIs; the whole array is capped when serialized. */
export const MAX_ICONS_BYTES = 16 * 1024
export const MAX_ANNOTATIONS_BYTES = 4 * 1024
export const MAX_META_BYTES = 8 * 1024
export const MAX_RESOURCE_TEMPLATES = 256

/**
 * The MCP shapes of the decorations an agent lists, typed where a client's SDK checks them (a
 * wrong type from one agent would break a client's whole list), open to keys MCP may add.
 */
export const AgentIcon = Type.Object({
  src: Type.String({ minLength: 1, maxLength: MAX_ICONS_BYTES }),
  mimeType: Type.Optional(Type.String({ maxLength: 256 })),
  sizes: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 })),
  theme: Type.Optional(Type.Union([Type.Literal('light'), Type.Literal('dark')]))
})
export const AgentIcons = Type.Array(AgentIcon, { maxItems: MAX_ICONS })
export const AgentMeta = Type.Record(Type.String(), Type.Unknown())
export const ToolAnnotations = Type.Object({
  title: Type.Optional(Type.String({ maxLength: MAX_TITLE })),
  readOnlyHint: Type.Optional(Type.Boolean()),
  destructiveHint: Type.Optional(Type.Boolean()),
  idempotentHint: Type.Optional(Type.Boolean()),
  openWorldHint: Type.Optional(Type.Boolean())
})
export const ResourceAnnotations = Type.Object({
  audience: Type.Optional(Type.Array(Type.Union([Type.Literal('user'), Type.Literal('assistant')]), { maxItems: 2 })),
  priority: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  // ISO 8601 with an offset, as clients' SDKs insist; anything else would fail a client's whole list.
  lastModified: Type.Optional(Type.String({ maxLength: 64, pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})$' }))
})
const Title = Type.String({ maxLength: MAX_TITLE })

/** A tool's or prompt's name as agents give it; also what filters rename to. */
export const TOOL_NAME_PATTERN = '^[A-Za-z0-9_.:/-]+$'
export const MAX_TOOL_NAME = 128
export const ToolName = Type.String({ minLength: 1, maxLength: MAX_TOOL_NAME, pattern: TOOL_NAME_PATTERN })

export const AgentTool = Type.Object({
  name: ToolName,
  title: Type.Optional(Title),
  description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
  inputSchema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  outputSchema: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  annotations: Type.Optional(ToolAnnotations),
  icons: Type.Optional(AgentIcons),
  _meta: Type.Optional(AgentMeta)
}, { additionalProperties: false })

export const MAX_RESOURCES = 256
export const MAX_PROMPTS = 256

export const AgentResource = Type.Object({
  uri: Type.String({ minLength: 1, maxLength: 2048 }),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  title: Type.Optional(Title),
  description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
  mimeType: Type.Optional(Type.String({ maxLength: 256 })),
  size: Type.Optional(Type.Number({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
  annotations: Type.Optional(ResourceAnnotations),
  icons: Type.Optional(AgentIcons),
  _meta: Type.Optional(AgentMeta)
}, { additionalProperties: false })

export const AgentResourceTemplate = Type.Object({
  uriTemplate: Type.String({ minLength: 1, maxLength: 2048 }),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  title: Type.Optional(Title),
  description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
  mimeType: Type.Optional(Type.String({ maxLength: 256 })),
  annotations: Type.Optional(ResourceAnnotations),
  icons: Type.Optional(AgentIcons),
  _meta: Type.Optional(AgentMeta)
}, { additionalProperties: false })

export const AgentPrompt = Type.Object({
  name: ToolName,
  title: Type.Optional(Title),
  description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
  arguments: Type.Optional(Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 128 }),
    title: Type.Optional(Title),
    description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
    required: Type.Optional(Type.Boolean())
  }, { additionalProperties: false }), { maxItems: 64 })),
  icons: Type.Optional(AgentIcons),
  _meta: Type.Optional(AgentMeta)
}, { additionalProperties: false })

export const AgentRecord = Type.Object({
  nodeId: Type.String({ pattern: NODE_ID_PATTERN }),
  agentId: Type.String({ pattern: AGENT_ID_PATTERN }),
  name: Type.String({ minLength: 1, maxLength: 128 }),
  kind: Type.String({ pattern: `^(${AGENT_KINDS.join('|')})$` }),
  description: Type.String({ maxLength: MAX_DESCRIPTION }),
  tools: Type.Array(AgentTool, { maxItems: MAX_TOOLS }),
  resources: Type.Optional(Type.Array(AgentResource, { maxItems: MAX_RESOURCES })),
  prompts: Type.Optional(Type.Array(AgentPrompt, { maxItems: MAX_PROMPTS })),
  resourceTemplates: Type.Optional(Type.Array(AgentResourceTemplate, { maxItems: MAX_RESOURCE_TEMPLATES })),
  updatedAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
}, { additionalProperties: false })

export type AgentTool = Type.Static<typeof AgentTool>
export type AgentRecord = Type.Static<typeof AgentRecord>
export type AgentResource = Type.Static<typeof AgentResource>
export type AgentPrompt = Type.Static<typeof AgentPrompt>
export type AgentResourceTemplate = Type.Static<typeof AgentResourceTemplate>

export const RegistryState = Type.Object({
  entries: Type.Record(
    Type.String({ pattern: `^${BASE58}:${AGENT_ID}$` }),
    Type.Record(Type.String({ pattern: `^${DOT}$` }), AgentRecord, {
      minProperties: 1,
      maxProperties: MAX_DOTS_PER_ENTRY,
      additionalProperties: false
    }),
    { maxProperties: MAX_REGISTRY_ENTRIES, additionalProperties: false }
  ),
  context: Type.Object({
    vv: Type.Record(Type.String({ pattern: `^${REPLICA}$` }), Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), {
      maxProperties: MAX_CONTEXT_REPLICAS,
      additionalProperties: false
    }),
    cloud: Type.Array(Type.String({ pattern: `^${DOT}$` }), { maxItems: MAX_CLOUD_DOTS })
  }, { additionalProperties: false })
}, { additionalProperties: false })

export type RegistryValidationCode =
  | 'schema'
  | 'bad-dot'
  | 'duplicate-dot'
  | 'duplicate-agent'
  | 'key-mismatch'
  | 'foreign-dot'
  | 'foreign-key'
  | 'too-large'

export class RegistryValidationError extends Error {
  readonly code: RegistryValidationCode
  /** JSON pointer of the offending part of the input */
  readonly path: string

  constructor (code: RegistryValidationCode, path: string, message: string) {
    super(`${code} at ${path === '' ? '/' : path}: ${message}`)
    this.name = 'RegistryValidationError'
    this.code = code
    this.path = path
  }
}

const stateValidator = Compile(RegistryState)
const recordValidator = Compile(AgentRecord)

/** JSON-pointer escaping, so a path built from untrusted keys stays readable and unambiguous. */
export function pointer (...segments: Array<string | number>): string {
  return segments.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
}

function schemaError (errors: TLocalizedValidationError[]): RegistryValidationError {
  // TypeBox reports an unexpected property twice; the additionalProperties form names it.
  const error = errors.find((e) => e.keyword === 'additionalProperties') ?? errors.find((e) => e.keyword !== 'boolean') ?? errors[0]
  if (error === undefined) return new RegistryValidationError('schema', '', 'invalid')
  if (error.keyword === 'additionalProperties') {
    const name = error.params.additionalProperties[0] ?? ''
    return new RegistryValidationError('schema', `${error.instancePath}${pointer(name)}`, 'unexpected property')
  }
  return new RegistryValidationError('schema', error.instancePath, error.message)
}

/** Free-form fields are capped by their serialized size, not their shape. */
const SIZE_CAPS = { inputSchema: MAX_INPUT_SCHEMA_BYTES, outputSchema: MAX_OUTPUT_SCHEMA_BYTES, annotations: MAX_ANNOTATIONS_BYTES, icons: MAX_ICONS_BYTES, _meta: MAX_META_BYTES } as const
export type SizeCappedField = keyof typeof SIZE_CAPS

/** Why a free-form field is too large, or undefined when it fits (or is absent). */
export function oversize (field: SizeCappedField, value: unknown): string | undefined {
  if (value === undefined) return undefined
  const bytes = Buffer.byteLength(JSON.stringify(value))
  return bytes > SIZE_CAPS[field] ? `${field} is ${bytes} bytes, limit ${SIZE_CAPS[field]}` : undefined
}

function checkSizes (record: AgentRecord, path: string): void {
  const lists: Array<[string, Array<Partial<Record<SizeCappedField, unknown>>> | undefined]> =
    [['tools', record.tools], ['resources', record.resources], ['prompts', record.prompts], ['resourceTemplates', record.resourceTemplates]]
  for (const [list, items] of lists) {
    items?.forEach((item, index) => {
      for (const field of Object.keys(SIZE_CAPS) as SizeCappedField[]) {
        const reason = oversize(field, item[field])
        if (reason !== undefined) throw new RegistryValidationError('too-large', `${path}${pointer(list, index, field)}`, reason)
      }
    })
  }
}

/** Validates one record (e.g. before publishing it as a local agent). */
export function parseAgentRecord (value: unknown): AgentRecord {
  if (!recordValidator.Check(value)) throw schemaError(recordValidator.Errors(value))
  checkSizes(value, '')
  return value
}

/**
 * Validates a registry state or delta: schema, dot syntax, each dot used once,
 * and each key equal to `${record.nodeId}:${record.agentId}`. Ownership of dots
 * depends on who sent the state and is checked by the registry.
 */
export function parseRegistryState (value: unknown): OrSetState<AgentRecord> {
  if (!stateValidator.Check(value)) throw schemaError(stateValidator.Errors(value))
  const seen = new Set<string>()
  const dotPath = (...segments: string[]): string => pointer(...segments)
  const checkDot = (text: string, path: string): void => {
    try {
      parseDot(text)
    } catch (err) {
      if (err instanceof InvalidDotError) throw new RegistryValidationError('bad-dot', path, err.message)
      throw err
    }
  }
  for (const [key, dots] of Object.entries(value.entries)) {
    for (const [text, record] of Object.entries(dots)) {
      const path = dotPath('entries', key, text)
      checkDot(text, path)
      if (seen.has(text)) throw new RegistryValidationError('duplicate-dot', path, 'dot is used by more than one entry')
      seen.add(text)
      if (key !== `${record.nodeId}:${record.agentId}`) {
        throw new RegistryValidationError('key-mismatch', path, `record ${record.nodeId}:${record.agentId} stored under another key`)
      }
      checkSizes(record, path)
    }
  }
  value.context.cloud.forEach((text, index) => { checkDot(text, dotPath('context', 'cloud', String(index))) })
  return value
}
