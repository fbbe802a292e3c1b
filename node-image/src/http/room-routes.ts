/**
 * `/api/v1/rooms`: the page's view of rooms and direct messages. Reads are
 * paged; posts are idempotent on the page's nonce and rate limited (429 with
 * retry-after). The server's write guard (bearer-auth.ts) checks the token of
 * every POST before it gets here.
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import { ROOM_LIMITS } from '../rooms/room-limits.ts'
import { NONCE_PATTERN, RoomMessageRejectedError } from '../rooms/room-message.ts'
import { RoomUnavailableError } from '../rooms/room-book.ts'
import { RoomMessageView } from '../rooms/room-view.ts'
import { MAX_SEARCH_RESULTS } from '../rooms/room-search.ts'
import { RoomNotFoundError, RoomRateLimitedError, type RoomsApi } from '../rooms/rooms-service.ts'

const RoomParams = Type.Object({ room: Type.String({ minLength: 1, maxLength: 200 }) })
export const MessagesQuery = Type.Object({
  before: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'an order key: messages before it' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ROOM_LIMITS.maxPage, description: 'default 50' }))
}, { additionalProperties: false })
// Looser than the record's file schema: the node cleans names and types before signing.
const PostFile = Type.Object({
  cid: Type.String({ minLength: 1, maxLength: 256 }),
  name: Type.String({ minLength: 1, maxLength: 1024 }),
  size: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  type: Type.String({ maxLength: 256 })
}, { additionalProperties: false })
export const PostBody = Type.Object({
  nonce: Type.String({ pattern: NONCE_PATTERN, description: 'the page\'s idempotency key: the same nonce again returns the first message' }),
  nick: Type.Optional(Type.String({ maxLength: ROOM_LIMITS.maxNick })),
  text: Type.Optional(Type.String({ maxLength: ROOM_LIMITS.maxTextBytes })),
  files: Type.Optional(Type.Array(PostFile, { maxItems: ROOM_LIMITS.maxFiles }))
}, { additionalProperties: false })
export const SearchQuery = Type.Object({
  q: Type.Optional(Type.String({ maxLength: 256, description: 'words that must all occur in the text, nick or a file name' })),
  author: Type.Optional(Type.String({ maxLength: 128 })),
  kind: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('file')])),
  since: Type.Optional(Type.Integer({ minimum: 0, description: 'unix ms' })),
  until: Type.Optional(Type.Integer({ minimum: 0, description: 'unix ms' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SEARCH_RESULTS, description: 'default 20' }))
}, { additionalProperties: false })
export const SeenBody = Type.Object({ upTo: Type.String({ minLength: 1, maxLength: 200, description: 'the order key of the newest message shown' }) }, { additionalProperties: false })
export const DmBody = Type.Object({ nodeId: Type.String({ minLength: 1, maxLength: 128, description: 'peer id of the other node' }) }, { additionalProperties: false })
export const TypingBody = Type.Object({ nick: Type.Optional(Type.String({ maxLength: ROOM_LIMITS.maxNick })) }, { additionalProperties: false })

export const RoomSummary = Type.Object({
  room: Type.String(),
  kind: Type.Union([Type.Literal('network'), Type.Literal('dm')]),
  peer: Type.Optional(Type.String()),
  messages: Type.Integer(),
  lastOrderKey: Type.Optional(Type.String()),
  unread: Type.Integer(),
  root: Type.String()
})
export const RoomsReply = Type.Object({ self: Type.String(), networkRoom: Type.String(), rooms: Type.Array(RoomSummary) })
export const MessagesReply = Type.Object({ room: Type.String(), messages: Type.Array(RoomMessageView) })
export const DigestReply = Type.Object({
  room: Type.String(),
  root: Type.String(),
  messages: Type.Integer(),
  replicas: Type.Array(Type.Object({ replica: Type.String(), ranges: Type.Array(Type.Tuple([Type.Integer(), Type.Integer()])) }))
})
export const PostReply = Type.Object({ id: Type.String(), orderKey: Type.String() })
const RoomErrorReply = Type.Object({ statusCode: Type.Integer(), error: Type.String(), message: Type.String(), reason: Type.Optional(Type.String()) })
const errors = { '4xx': RoomErrorReply }

export interface RoomRoutesComponents {
  rooms: RoomsApi
  selfId: string
  networkRoom: string
}

export function registerRoomRoutes (app: FastifyInstance, components: RoomRoutesComponents): void {
  const { rooms } = components
  const typed = app.withTypeProvider<TypeBoxTypeProvider>()

  typed.get('/api/v1/rooms', { config: { privateRead: true }, schema: { response: { 200: RoomsReply } } }, () => ({ self: components.selfId, networkRoom: components.networkRoom, rooms: rooms.list() }))

  typed.get('/api/v1/rooms/:room/messages', { config: { privateRead: true }, schema: { params: RoomParams, querystring: MessagesQuery, response: { 200: MessagesReply, ...errors } } }, async (req, reply) =>
    await answer(reply, 200, () => ({ room: req.params.room, messages: rooms.messages(req.params.room, { limit: req.query.limit ?? 50, ...(req.query.before === undefined ? {} : { before: req.query.before }) }) })))

  typed.get('/api/v1/rooms/:room/search', { config: { privateRead: true }, schema: { params: RoomParams, querystring: SearchQuery, response: { 200: MessagesReply, ...errors } } }, async (req, reply) => {
    const { q, author, kind, since, until, limit } = req.query
    return await answer(reply, 200, () => ({
      room: req.params.room,
      messages: rooms.search(req.params.room, {
        limit: limit ?? 20,
        ...(q === undefined ? {} : { q }),
        ...(author === undefined ? {} : { author }),
        ...(kind === undefined ? {} : { kind }),
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until })
      })
    }))
  })

  typed.get('/api/v1/rooms/:room/digest', { schema: { params: RoomParams, response: { 200: DigestReply, ...errors } } }, async (req, reply) =>
    await answer(reply, 200, () => rooms.digest(req.params.room)))

  typed.post('/api/v1/rooms/:room/messages', { schema: { params: RoomParams, body: PostBody, response: { 200: PostReply, 201: PostReply, ...errors } } }, async (req, reply) => {
    let posted: ReturnType<RoomsApi['post']>
    try {
      posted = rooms.post(req.params.room, req.body)
    } catch (err) {
      return await refuse(reply, err)
    }
    return await reply.status(posted.created ? 201 : 200).send({ id: posted.id, orderKey: posted.orderKey })
  })

  typed.post('/api/v1/rooms/:room/seen', { schema: { params: RoomParams, body: SeenBody, response: { 204: Type.Null(), ...errors } } }, async (req, reply) => {
    try {
      rooms.seen(req.params.room, req.body.upTo)
    } catch (err) {
      return await refuse(reply, err)
    }
    return await reply.status(204).send(null)
  })

  typed.post('/api/v1/dms', { schema: { body: DmBody, response: { 200: Type.Object({ room: Type.String() }), ...errors } } }, async (req, reply) =>
    await answer(reply, 200, () => rooms.openDm(req.body.nodeId)))

  typed.post('/api/v1/rooms/:room/typing', { schema: { params: RoomParams, body: TypingBody, response: { 200: Type.Object({ sent: Type.Boolean() }), ...errors } } }, async (req, reply) =>
    await answer(reply, 200, () => ({ sent: rooms.typing(req.params.room, req.body.nick ?? '') })))
}

async function answer (reply: FastifyReply, status: number, run: () => unknown): Promise<FastifyReply> {
  let value: unknown
  try {
    value = run()
  } catch (err) {
    return await refuse(reply, err)
  }
  return await reply.status(status).send(value)
}

async function refuse (reply: FastifyReply, err: unknown): Promise<FastifyReply> {
  if (err instanceof RoomRateLimitedError) {
    return await reply.status(429).header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)))).send({ statusCode: 429, error: 'Too Many Requests', message: err.message })
  }
  if (err instanceof RoomNotFoundError) return await reply.status(404).send({ statusCode: 404, error: 'Not Found', message: err.message })
  if (err instanceof RoomMessageRejectedError) return await reply.status(400).send({ statusCode: 400, error: 'Bad Request', message: err.message, reason: err.reason })
  if (err instanceof RoomUnavailableError) return await reply.status(409).send({ statusCode: 409, error: 'Conflict', message: err.message })
  throw err
}
