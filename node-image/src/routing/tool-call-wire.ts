/**
 * The bytes of a routed call inside its signed envelopes. Per stream on
 * `/dawn/<net>/toolcall/2.0.0`: one request, then, when it asked for events, any
 * number of event frames (the agent's progress and log notifications), then one
 * response. After the request each frame is `kind byte || envelope` (FRAME_*).
 *
 * Envelope body = mode byte || payload, where mode 1 = E2E frame (e2e-cipher.ts)
 * around the JSON below and mode 0 = the JSON in the clear (encryption `off`).
 */
import Type, { type Static } from 'typebox'
import { Compile } from 'typebox/compile'
import { AGENT_ID_PATTERN, NODE_ID_PATTERN } from '../registry/agent-record.ts'
import { AGENT_OPS, LOG_LEVELS, SESSION_OPS } from './types.ts'
import { CALL_ERROR_CODES } from './errors.ts'
import { describeIssues } from '../validation/schema-error.ts'

/** A union of string literals whose static type is the literals, not `string`. */
function oneOf<T extends readonly string[]> (values: T) {
  return Type.Unsafe<T[number]>(Type.Union(values.map(v => Type.Literal(v))))
}

export const MODE_PLAIN = 0
export const MODE_E2E = 1

/** Kind byte before each envelope the host sends back. */
export const FRAME_RESPONSE = 0
export const FRAME_EVENT = 1

/** Caps what one caller can make an agent see or send back. */
const MAX_CAPABILITIES_BYTES = 8 * 1024

const LogLevel = oneOf(LOG_LEVELS)

export const WireContext = Type.Object({
  capabilities: Type.Record(Type.String(), Type.Unknown(), { maxProperties: 32 }),
  logLevel: Type.Optional(LogLevel),
  progress: Type.Optional(Type.Boolean())
}, { additionalProperties: false })

export const WireRequest = Type.Object({
  /** Random per call; ties the response to its request even in the clear. */
  id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
  to: Type.String({ pattern: NODE_ID_PATTERN }),
  agentId: Type.String({ pattern: AGENT_ID_PATTERN }),
  op: oneOf([...AGENT_OPS, ...SESSION_OPS] as const),
  params: Type.Record(Type.String(), Type.Unknown()),
  /** Unix ms; the hosting node stops work past it. */
  deadline: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  /** The caller's MCP side; absent means no capabilities, no logs, no progress. */
  context: Type.Optional(WireContext),
  /** The caller reads event frames before the response (never on the flood route). */
  events: Type.Optional(Type.Boolean()),
  /** The caller's session with the agent, chosen by the caller; scoped to the calling peer. */
  session: Type.Optional(Type.String({ pattern: '^[0-9a-f]{32}$' }))
}, { additionalProperties: false })

const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })

export const WireEvent = Type.Union([
  Type.Object({
    id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    seq: Seq,
    method: Type.Literal('notifications/progress'),
    params: Type.Object({
      progress: Type.Number(),
      total: Type.Optional(Type.Number()),
      message: Type.Optional(Type.String({ maxLength: 4096 }))
    }, { additionalProperties: false })
  }, { additionalProperties: false }),
  Type.Object({
    id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    seq: Seq,
    method: Type.Literal('notifications/message'),
    params: Type.Object({
      level: LogLevel,
      logger: Type.Optional(Type.String({ maxLength: 256 })),
      data: Type.Unknown()
    }, { additionalProperties: false })
  }, { additionalProperties: false }),
  Type.Object({
    id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    seq: Seq,
    method: Type.Literal('notifications/resources/updated'),
    params: Type.Object({ uri: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false })
  }, { additionalProperties: false }),
  Type.Object({
    id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    seq: Seq,
    method: oneOf(['notifications/tools/list_changed', 'notifications/prompts/list_changed', 'notifications/resources/list_changed'] as const),
    params: Type.Optional(Type.Object({}, { additionalProperties: false }))
  }, { additionalProperties: false }),
  Type.Object({
    id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    seq: Seq,
    method: Type.Literal('dawn/question'),
    params: Type.Object({
      id: Type.String({ pattern: '^q[0-9]{1,15}$' }),
      method: oneOf(['elicitation/create', 'sampling/createMessage', 'roots/list'] as const),
      params: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
    }, { additionalProperties: false })
  }, { additionalProperties: false })
])

export const WireResponse = Type.Union([
  Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{32}$' }), ok: Type.Literal(true), result: Type.Record(Type.String(), Type.Unknown()) }, { additionalProperties: false }),
  Type.Object({
    id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
    ok: Type.Literal(false),
    code: oneOf(CALL_ERROR_CODES),
    message: Type.String({ maxLength: 4096 }),
    /** With agent-failed: the agent's own JSON-RPC error code (any 32-bit integer, as JSON-RPC allows). */
    rpcCode: Type.Optional(Type.Integer({ minimum: -2147483648, maximum: 2147483647 }))
  }, { additionalProperties: false })
])

export type WireRequest = Static<typeof WireRequest>
export type WireResponse = Static<typeof WireResponse>
export type WireEvent = Static<typeof WireEvent>

/** A frame that passed the signature but not these checks. */
export class MalformedCallError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'MalformedCallError'
  }
}

const checkRequest = Compile(WireRequest)
const checkResponse = Compile(WireResponse)
const checkEvent = Compile(WireEvent)
const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

export function encodeJson (value: WireRequest | WireResponse | WireEvent): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

function parseJson (bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes))
  } catch (err) {
    throw new MalformedCallError(`not JSON: ${(err as Error).message}`)
  }
}

export function parseRequest (bytes: Uint8Array): WireRequest {
  const value = parseJson(bytes)
  if (!checkRequest.Check(value)) throw new MalformedCallError(`bad request: ${describeIssues(checkRequest.Errors(value))[0] ?? 'invalid'}`)
  if (value.context !== undefined && JSON.stringify(value.context.capabilities).length > MAX_CAPABILITIES_BYTES) {
    throw new MalformedCallError(`bad request: client capabilities exceed ${MAX_CAPABILITIES_BYTES} bytes`)
  }
  return value
}

export function parseEvent (bytes: Uint8Array): WireEvent {
  const value = parseJson(bytes)
  if (!checkEvent.Check(value)) throw new MalformedCallError(`bad event: ${describeIssues(checkEvent.Errors(value))[0] ?? 'invalid'}`)
  return value
}

export function parseResponse (bytes: Uint8Array): WireResponse {
  const value = parseJson(bytes)
  if (!checkResponse.Check(value)) throw new MalformedCallError(`bad response: ${describeIssues(checkResponse.Errors(value))[0] ?? 'invalid'}`)
  return value
}

export function withMode (mode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.byteLength + 1)
  out[0] = mode
  out.set(payload, 1)
  return out
}

export function withKind (kind: number, envelope: Uint8Array): Uint8Array {
  return withMode(kind, envelope)
}

export function splitKind (frame: Uint8Array): { kind: number, envelope: Uint8Array } {
  const kind = frame[0]
  if (kind !== FRAME_RESPONSE && kind !== FRAME_EVENT) throw new MalformedCallError('unknown frame kind')
  return { kind, envelope: frame.subarray(1) }
}

export function splitMode (body: Uint8Array): { mode: number, payload: Uint8Array } {
  const mode = body[0]
  if (mode !== MODE_PLAIN && mode !== MODE_E2E) throw new MalformedCallError('unknown body mode')
  return { mode, payload: body.subarray(1) }
}

/** Additional data bound into every E2E frame of a network's calls. */
export function callAad (network: string): Uint8Array {
  return encoder.encode(`dawn/toolcall/v1\n${network}`)
}
