/**
 * Messages of room anti-entropy (the body of `room.sync` envelopes). Records
 * are immutable and each replica's seqs are dense, so held ranges describe a
 * room completely and three levels suffice:
 *
 * 1. `rooms`: the root digest of every room the peer shares with the asker
 *    (the network room; a DM room only with its other end).
 * 2. `replicas`: one room's replicas and their held ranges, paged.
 * 3. `spans`: the records of seq spans the asker lacks, paged under the
 *    message limit; `hi` in a reply says how far it got.
 *
 * Records inside replies stay `unknown` here: each is verified on its own
 * (room-message.ts), so one bad record never spoils the rest.
 */
import Type, { type Static, type TSchema } from 'typebox'
import { jsonWireParser } from '../validation/json-wire.ts'
import { INC_PATTERN, MAX_SEQ, NODE_ID, ROOM_ID } from './room-message.ts'

export const MAX_ROOMS_PER_REPLY = 1024
export const MAX_REPLICAS_PER_PAGE = 4096
export const MAX_SPANS_PER_REQUEST = 256
export const MAX_RANGES_PER_REPLICA = 4096
export const MAX_RECORDS_PER_REPLY = 10_000

const Room = Type.String({ pattern: ROOM_ID, maxLength: 200 })
const Replica = Type.String({ pattern: `${NODE_ID.slice(0, -1)}\\.${INC_PATTERN.slice(1)}`, maxLength: 120 })
const Seq = Type.Integer({ minimum: 1, maximum: MAX_SEQ })
const Hex64 = Type.String({ pattern: '^[0-9a-f]{64}$' })

export const RoomsRequest = Type.Object({ op: Type.Literal('rooms') }, { additionalProperties: false })
export const ReplicasRequest = Type.Object({
  op: Type.Literal('replicas'),
  room: Room,
  /** the asker's root: when it differs, the server pulls from the asker in turn */
  root: Hex64,
  after: Type.Optional(Replica)
}, { additionalProperties: false })
export const SpanRequest = Type.Object({ replica: Replica, lo: Seq, hi: Seq }, { additionalProperties: false })
export const SpansRequest = Type.Object({
  op: Type.Literal('spans'),
  room: Room,
  spans: Type.Array(SpanRequest, { minItems: 1, maxItems: MAX_SPANS_PER_REQUEST })
}, { additionalProperties: false })
export const RoomSyncRequest = Type.Union([RoomsRequest, ReplicasRequest, SpansRequest])

export const RoomsReply = Type.Object({
  op: Type.Literal('rooms'),
  rooms: Type.Array(Type.Object({ room: Room, root: Hex64 }, { additionalProperties: false }), { maxItems: MAX_ROOMS_PER_REPLY })
}, { additionalProperties: false })
export const ReplicasReply = Type.Object({
  op: Type.Literal('replicas'),
  room: Room,
  replicas: Type.Array(Type.Object({
    replica: Replica,
    ranges: Type.Array(Type.Tuple([Seq, Seq]), { maxItems: MAX_RANGES_PER_REPLICA })
  }, { additionalProperties: false }), { maxItems: MAX_REPLICAS_PER_PAGE }),
  more: Type.Boolean()
}, { additionalProperties: false })
export const SpansReply = Type.Object({
  op: Type.Literal('spans'),
  room: Room,
  spans: Type.Array(Type.Object({
    replica: Replica,
    lo: Seq,
    /** last seq this reply covers; below the asked hi when the reply was cut */
    hi: Seq,
    records: Type.Array(Type.Unknown(), { maxItems: MAX_RECORDS_PER_REPLY })
  }, { additionalProperties: false }), { maxItems: MAX_SPANS_PER_REQUEST })
}, { additionalProperties: false })

export type RoomsRequest = Static<typeof RoomsRequest>
export type ReplicasRequest = Static<typeof ReplicasRequest>
export type SpanRequest = Static<typeof SpanRequest>
export type SpansRequest = Static<typeof SpansRequest>
export type RoomSyncRequest = Static<typeof RoomSyncRequest>
export type RoomsReply = Static<typeof RoomsReply>
export type ReplicasReply = Static<typeof ReplicasReply>
export type SpansReply = Static<typeof SpansReply>

export type RoomSyncFailure = 'unreachable' | 'timeout' | 'rejected' | 'malformed' | 'out-of-range' | 'no-progress' | 'forbidden' | 'too-large' | 'internal'

/** A room sync exchange failed; `reason` is the metric label. */
export class RoomSyncError extends Error {
  readonly reason: RoomSyncFailure
  constructor (reason: RoomSyncFailure, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'RoomSyncError'
    this.reason = reason
  }
}

const parser = <T extends TSchema>(schema: T, what: string): (bytes: Uint8Array) => Static<T> =>
  jsonWireParser(schema, what, message => new RoomSyncError('malformed', message), 2)

export const parseRoomSyncRequest = parser(RoomSyncRequest, 'room sync request')
export const parseRoomsReply = parser(RoomsReply, 'rooms reply')
export const parseReplicasReply = parser(ReplicasReply, 'replicas reply')
export const parseSpansReply = parser(SpansReply, 'spans reply')
