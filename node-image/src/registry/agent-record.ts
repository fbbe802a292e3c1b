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

export const AgentTool = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:/-]+$' }),
  description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
  inputSchema: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
}, { additionalProperties: false })

export const MAX_RESOURCES = 256
export const MAX_PROMPTS = 256

export const AgentResource = Type.Object({
  uri: Type.String({ minLength: 1, maxLength: 2048 }),
  name: Type.String({ minLength: 1, maxLength: 256 }),
  description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
  mimeType: Type.Optional(Type.String({ maxLength: 256 }))
}, { additionalProperties: false })

export const AgentPrompt = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:/-]+$' }),
  description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
  arguments: Type.Optional(Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 128 }),
    description: Type.Optional(Type.String({ maxLength: MAX_DESCRIPTION })),
    required: Type.Optional(Type.Boolean())
  }, { additionalProperties: false }), { maxItems: 64 }))
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
  updatedAt: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
}, { additionalProperties: false })

export type AgentTool = Type.Static<typeof AgentTool>
export type AgentRecord = Type.Static<typeof AgentRecord>
export type AgentResource = Type.Static<typeof AgentResource>
export type AgentPrompt = Type.Static<typeof AgentPrompt>

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

function checkInputSchemas (record: AgentRecord, path: string): void {
  record.tools.forEach((tool, index) => {
    if (tool.inputSchema === undefined) return
    const bytes = Buffer.byteLength(JSON.stringify(tool.inputSchema))
    if (bytes > MAX_INPUT_SCHEMA_BYTES) {
      throw new RegistryValidationError('too-large', `${path}${pointer('tools', index, 'inputSchema')}`, `inputSchema is ${bytes} bytes, limit ${MAX_INPUT_SCHEMA_BYTES}`)
    }
  })
}

/** Validates one record (e.g. before publishing it as a local agent). */
export function parseAgentRecord (value: unknown): AgentRecord {
  if (!recordValidator.Check(value)) throw schemaError(recordValidator.Errors(value))
  checkInputSchemas(value, '')
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
      checkInputSchemas(record, path)
    }
  }
  value.context.cloud.forEach((text, index) => { checkDot(text, dotPath('context', 'cloud', String(index))) })
  return value
}
