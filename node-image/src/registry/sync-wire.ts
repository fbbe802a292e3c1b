/**
 * Messages of the registry anti-entropy protocol (the body of `registry.sync`
 * envelopes). Three levels, each a request the puller sends and a reply the
 * peer serves from its range index:
 *
 * 1. `replicas`: the puller's root digest; the reply says "in sync", or pages
 *    through the peer's per-replica summaries.
 * 2. `blocks`: one replica's block summaries and dead runs, paged by block.
 * 3. `spans`: counter spans whose live values the puller lacks; the reply is a
 *    projection of the peer's state onto (a prefix of) those spans.
 *
 * Every reply is kept under the message size limit by the server (paging),
 * and checked here by schema; the puller then checks that it answers what was
 * asked (sync-session.ts).
 */
import Type, { type Static, type TSchema } from 'typebox'
import { REPLICA_PATTERN } from './agent-record.ts'
import { jsonWireParser } from '../validation/json-wire.ts'

const MAX_SAFE = Number.MAX_SAFE_INTEGER
/** Blocks are 64 counters; counters stay safe integers. */
const MAX_BLOCK = Math.floor(MAX_SAFE / 64) - 1

const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' })
const Mask = Type.String({ pattern: '^[0-9a-f]{16}$' })
const Replica = Type.String({ pattern: REPLICA_PATTERN, maxLength: 160 })
const Counter = Type.Integer({ minimum: 1, maximum: MAX_SAFE })
const Block = Type.Integer({ minimum: 0, maximum: MAX_BLOCK })
const RangeList = Type.Array(Type.Tuple([Counter, Counter]), { maxItems: 65_536 })

/** Bounds on list lengths; the byte limit of the envelope is the real bound, these stop absurd counts early. */
export const MAX_SPANS_PER_REQUEST = 1024
export const MAX_REPLICAS_PER_PAGE = 20_000
export const MAX_ITEMS_PER_PAGE = 50_000
export const MAX_VALUES_PER_REPLY = 10_000

export const ReplicasRequest = Type.Object({
  op: Type.Literal('replicas'),
  root: Hex64,
  after: Type.Optional(Replica)
}, { additionalProperties: false })

export const BlocksRequest = Type.Object({
  op: Type.Literal('blocks'),
  replica: Replica,
  from: Block
}, { additionalProperties: false })

export const SpanRequest = Type.Object({
  replica: Replica,
  lo: Counter,
  hi: Counter,
  /** counters the puller has seen in [lo, hi]: their values are not sent */
  have: RangeList
}, { additionalProperties: false })

export const SpansRequest = Type.Object({
  op: Type.Literal('spans'),
  spans: Type.Array(SpanRequest, { minItems: 1, maxItems: MAX_SPANS_PER_REQUEST })
}, { additionalProperties: false })

export const SyncRequest = Type.Union([ReplicasRequest, BlocksRequest, SpansRequest])

export const ReplicasReply = Type.Object({
  op: Type.Literal('replicas'),
  root: Hex64,
  inSync: Type.Boolean(),
  replicas: Type.Array(Type.Object({
    replica: Replica,
    max: Type.Integer({ minimum: 0, maximum: MAX_SAFE }),
    digest: Hex64
  }, { additionalProperties: false }), { maxItems: MAX_REPLICAS_PER_PAGE }),
  more: Type.Boolean()
}, { additionalProperties: false })

export const RunItemSchema = Type.Object({ b: Block, n: Type.Integer({ minimum: 1, maximum: MAX_BLOCK }) }, { additionalProperties: false })
export const BlockItemSchema = Type.Object({
  b: Block,
  ctx: Mask,
  live: Mask,
  vd: Type.String({ pattern: '^([0-9a-f]{32})?$' })
}, { additionalProperties: false })

export const BlocksReply = Type.Object({
  op: Type.Literal('blocks'),
  replica: Replica,
  items: Type.Array(Type.Union([RunItemSchema, BlockItemSchema]), { maxItems: MAX_ITEMS_PER_PAGE }),
  /** the block to ask from next; absent on the last page */
  next: Type.Optional(Block)
}, { additionalProperties: false })

export const SpanReply = Type.Object({
  replica: Replica,
  lo: Counter,
  /** last counter covered; below the requested hi when the reply was cut */
  hi: Counter,
  seen: RangeList,
  live: RangeList,
  values: Type.Array(Type.Object({
    c: Counter,
    key: Type.String({ minLength: 1, maxLength: 256 }),
    value: Type.Unknown()
  }, { additionalProperties: false }), { maxItems: MAX_VALUES_PER_REPLY }),
  /** live counters whose value alone exceeds the message limit: never sent */
  tooLarge: Type.Array(Counter, { maxItems: 1024 })
}, { additionalProperties: false })

export const SpansReply = Type.Object({
  op: Type.Literal('spans'),
  spans: Type.Array(SpanReply, { maxItems: MAX_SPANS_PER_REQUEST })
}, { additionalProperties: false })

export type ReplicasRequest = Static<typeof ReplicasRequest>
export type BlocksRequest = Static<typeof BlocksRequest>
export type SpanRequest = Static<typeof SpanRequest>
export type SpansRequest = Static<typeof SpansRequest>
export type SyncRequest = Static<typeof SyncRequest>
export type ReplicasReply = Static<typeof ReplicasReply>
export type BlocksReply = Static<typeof BlocksReply>
export type SpanReply = Static<typeof SpanReply>
export type SpansReply = Static<typeof SpansReply>
export type SyncReply = ReplicasReply | BlocksReply | SpansReply

export type SyncFailureReason =
  | 'unreachable'
  | 'timeout'
  | 'rejected'
  | 'malformed'
  | 'out-of-range'
  | 'invalid-state'
  | 'no-progress'
  | 'too-large'
  | 'internal'

/** A sync exchange failed; `reason` is the metric label. Messages never quote peer data at length. */
export class RegistrySyncError extends Error {
  readonly reason: SyncFailureReason
  constructor (reason: SyncFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RegistrySyncError'
    this.reason = reason
  }
}

const encoder = new TextEncoder()
export function encodeBody (value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

const parser = <T extends TSchema>(schema: T, what: string): (bytes: Uint8Array) => Static<T> =>
  jsonWireParser(schema, what, message => new RegistrySyncError('malformed', message), 3)

export const parseRequest = parser(SyncRequest, 'sync request')
export const parseReplicasReply = parser(ReplicasReply, 'replicas reply')
export const parseBlocksReply = parser(BlocksReply, 'blocks reply')
export const parseSpansReply = parser(SpansReply, 'spans reply')

/** Room the envelope needs around a body (certificate, signature, nonce, trace context). */
const ENVELOPE_ALLOWANCE = 4096

/** Largest JSON body that still seals (base64url, 4/3) into an envelope of `maxMessageBytes`. */
export function bodyBudget (maxMessageBytes: number): number {
  return Math.max(1024, Math.floor((maxMessageBytes - ENVELOPE_ALLOWANCE) * 3 / 4))
}
