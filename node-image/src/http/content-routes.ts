/**
 * `/api/v1/content`: add, fetch and pin content by CID (what `dawn-node content`
 * uses). Uploads and downloads are streamed; neither is held in memory whole.
 * The server's write guard (bearer-auth.ts) checks the token of add, pin and
 * unpin before anything else runs.
 */
import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Type from 'typebox'
import type { ContentFacade } from '../storage/content-api.ts'
import { CONTENT_HTTP_STATUS, ContentError, UploadTooLargeError } from '../storage/errors.ts'
import { attachmentDisposition } from './content-disposition.ts'

export const MAX_REPLICATION = 64
const OCTET_STREAM = 'application/octet-stream'

const Replication = Type.Integer({ minimum: 1, maximum: MAX_REPLICATION })
const CidParams = Type.Object({ cid: Type.String({ minLength: 1, maxLength: 256 }) })

export const AddQuery = Type.Object({
  pin: Type.Optional(Type.Boolean({ description: 'pin mesh-wide (default true)' })),
  replication: Type.Optional(Replication)
}, { additionalProperties: false })
export const GetQuery = Type.Object({
  timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
  filename: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, description: 'download as an attachment under this name' }))
}, { additionalProperties: false })
export const PinBody = Type.Object({ replication: Type.Optional(Replication) }, { additionalProperties: false })

export const AddReply = Type.Object({ cid: Type.String(), size: Type.Integer(), pinned: Type.Boolean(), replication: Type.Integer() })
export const StatusReply = Type.Object({
  cid: Type.String(),
  pinned: Type.Boolean(),
  replication: Type.Integer(),
  local: Type.Boolean(),
  holders: Type.Array(Type.String()),
  have: Type.Array(Type.String()),
  deficit: Type.Integer()
})
export const SummaryReply = Type.Object({
  backend: Type.String(),
  bytesStored: Type.Integer(),
  pins: Type.Array(StatusReply),
  deficit: Type.Integer()
})
/** Every failure; `code` is there for content failures (see storage/errors.ts). */
export const ContentErrorReply = Type.Object({
  statusCode: Type.Integer(),
  error: Type.String(),
  message: Type.String(),
  code: Type.Optional(Type.String())
})
const errors = { '4xx': ContentErrorReply, '5xx': ContentErrorReply }

export interface ContentRoutesComponents {
  content: ContentFacade
}

export function registerContentRoutes (app: FastifyInstance, components: ContentRoutesComponents): void {
  const { content } = components

  // Encapsulated, so the pass-through parser serves the upload route only and
  // everything else keeps Fastify's JSON parsing and bodyLimit.
  void app.register((scoped, _opts, done) => {
    // A parser that hands over the stream is not subject to bodyLimit; the
    // upload is capped while it streams instead.
    scoped.addContentTypeParser(OCTET_STREAM, (_req, payload, done) => { done(null, payload) })
    scoped.withTypeProvider<TypeBoxTypeProvider>().post('/api/v1/content', {
      schema: { querystring: AddQuery, response: { 201: AddReply, ...errors } },
      onRequest: async (req, reply) => {
        if (mediaType(req.headers['content-type']) !== OCTET_STREAM) {
          await refuseUpload(reply, { statusCode: 415, error: 'Unsupported Media Type', message: `the body must be the raw bytes, sent as content-type ${OCTET_STREAM}` })
          return
        }
        const declared = Number(req.headers['content-length'])
        if (declared > content.maxUploadBytes) await refuseUpload(reply, errorBody(new UploadTooLargeError(content.maxUploadBytes)))
      }
    }, async (req, reply) => {
      if (!(req.body instanceof Readable)) throw new Error('upload body is not a stream')
      const capped = cap(req.body, content.maxUploadBytes)
      const signal = disconnected(reply)
      try {
        const added = await content.add(capped.source, {
          signal,
          ...(req.query.pin === undefined ? {} : { pin: req.query.pin }),
          ...(req.query.replication === undefined ? {} : { replication: req.query.replication })
        })
        return await reply.status(201).send(added)
      } catch (err) {
        // The service may wrap what our source threw; going over the cap decides.
        const cause = capped.over() ? new UploadTooLargeError(content.maxUploadBytes) : err
        if (signal.aborted) return gone(reply)
        if (cause instanceof ContentError) return await refuseUpload(reply, errorBody(cause))
        reply.header('connection', 'close')
        throw cause
      }
    })
    done()
  })

  const typed = app.withTypeProvider<TypeBoxTypeProvider>()

  typed.get('/api/v1/content', { schema: { response: { 200: SummaryReply, ...errors } } }, async (_req, reply) =>
    await answer(reply, async () => await content.list()))

  typed.get('/api/v1/content/:cid', {
    // No automatic HEAD: Fastify would read the whole content to discard it.
    exposeHeadRoute: false,
    schema: { params: CidParams, querystring: GetQuery },
    // The body failed before its first byte. Fastify already copied the
    // octet-stream headers onto the raw response; they would mislabel the error.
    errorHandler: (err, _req, reply) => {
      for (const name of ['content-type', 'content-length', 'x-content-cid', 'content-disposition']) {
        reply.raw.removeHeader(name)
        reply.removeHeader(name)
      }
      if (!(err instanceof ContentError)) throw err
      void sendError(reply, err)
    }
  }, async (req, reply) => {
    const { cid } = req.params
    const signal = disconnected(reply)
    try {
      const reader = await content.get(cid, {
        signal,
        ...(req.query.timeoutMs === undefined ? {} : { timeoutMs: req.query.timeoutMs })
      })
      // Always octet-stream and nosniff: an uploaded page must never render on the node's origin.
      void reply
        .header('content-type', OCTET_STREAM)
        .header('content-length', reader.size)
        .header('x-content-cid', cid)
        .header('x-content-type-options', 'nosniff')
      if (req.query.filename !== undefined) void reply.header('content-disposition', attachmentDisposition(req.query.filename))
      return await reply.send(Readable.from(reader.content, { objectMode: false }))
    } catch (err) {
      if (signal.aborted) return gone(reply)
      if (!(err instanceof ContentError)) throw err
      return await sendError(reply, err)
    }
  })

  typed.get('/api/v1/content/:cid/status', { schema: { params: CidParams, response: { 200: StatusReply, ...errors } } }, async (req, reply) =>
    await answer(reply, async () => await content.status(req.params.cid)))

  typed.post('/api/v1/content/:cid/pin', {
    preValidation: noBodyAsEmpty,
    schema: { params: CidParams, body: PinBody, response: { 200: StatusReply, ...errors } }
  }, async (req, reply) => {
    const { replication } = req.body
    return await answer(reply, async () => await content.pin(req.params.cid, {
      signal: disconnected(reply),
      ...(replication === undefined ? {} : { replication })
    }))
  })

  typed.delete('/api/v1/content/:cid/pin', { schema: { params: CidParams, response: { 200: StatusReply, ...errors } } }, async (req, reply) =>
    await answer(reply, async () => await content.unpin(req.params.cid)))
}

interface ErrorBody { statusCode: number, error: string, message: string, code?: string }

function errorBody (err: ContentError): ErrorBody {
  return { statusCode: CONTENT_HTTP_STATUS[err.code], error: err.name, message: err.message, code: err.code }
}

async function sendError (reply: FastifyReply, err: ContentError): Promise<FastifyReply> {
  const body = errorBody(err)
  return await reply.status(body.statusCode).send(body)
}

/** Runs `fn` and sends its result, or the ContentError it threw. */
async function answer (reply: FastifyReply, fn: () => Promise<object>): Promise<FastifyReply> {
  try {
    return await reply.send(await fn())
  } catch (err) {
    if (!(err instanceof ContentError)) throw err
    return await sendError(reply, err)
  }
}

/**
 * Refuses an upload whose body is (partly) unread. Closing the connection
 * spares reading the rest of it just to keep the connection alive.
 */
async function refuseUpload (reply: FastifyReply, body: ErrorBody): Promise<FastifyReply> {
  return await reply.status(body.statusCode).header('connection', 'close').send(body)
}

/** The pin body is optional; none reads as `{}`. */
function noBodyAsEmpty (req: FastifyRequest, _reply: FastifyReply, done: () => void): void {
  req.body ??= {}
  done()
}

function mediaType (header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? ''
}

/** Nobody to answer: the client went away. */
function gone (reply: FastifyReply): FastifyReply {
  reply.hijack()
  reply.raw.destroy()
  return reply
}

/** Aborted when the client goes away before the response is complete. */
function disconnected (reply: FastifyReply): AbortSignal {
  const controller = new AbortController()
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'))
  })
  return controller.signal
}

/** The request body as chunks, failing with UploadTooLargeError once past `limit` bytes. */
function cap (body: Readable, limit: number): { source: AsyncIterable<Uint8Array>, over: () => boolean } {
  let total = 0
  // Not destroyed when the consumer stops early: destroying the request would
  // drop the socket before the error reply is written.
  const chunks = body.iterator({ destroyOnReturn: false }) as AsyncIterableIterator<Uint8Array>
  async function * source (): AsyncGenerator<Uint8Array> {
    for await (const chunk of chunks) {
      total += chunk.byteLength
      if (total > limit) throw new UploadTooLargeError(limit)
      yield chunk
    }
  }
  return { source: source(), over: () => total > limit }
}
