/**
 * The `content` built-in: lets a model store and read content by CID through
 * the node's content layer. Bytes travel inside tool results, so both ways are
 * capped well below what the HTTP API streams.
 */
import type { CallToolResult } from '@modelcontextprotocol/server'
import Type from 'typebox'
import { VERSION } from '../../version.ts'
import type { ContentFacade } from '../../storage/content-api.ts'
import { ContentError, UploadTooLargeError } from '../../storage/errors.ts'
import type { ContentErrorCode } from '../../storage/errors.ts'
import { defineTool, jsonResult, textResult } from '../define-server.ts'
import type { ServerSpec } from '../define-server.ts'

const MiB = 1024 * 1024
/** Most bytes one tool call adds or returns (decoded). */
export const MAX_TOOL_BYTES = 8 * MiB
export const DEFAULT_GET_BYTES = MiB

const Cid = Type.String({ minLength: 1, maxLength: 256, description: 'content id (CIDv0 "Qm…" or CIDv1 "b…")' })
const Replication = Type.Integer({ minimum: 1, maximum: 64, description: 'how many nodes should hold it' })
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** A content failure the model can read: `<code>: <message>`, with the code also structured. */
function errorResult (code: ContentErrorCode, message: string): CallToolResult {
  return { ...textResult(`${code}: ${message}`, true), structuredContent: { code, message } }
}

/** Turns a ContentError into an error result; anything else is the tool failing. */
async function reported (fn: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await fn()
  } catch (err) {
    if (err instanceof ContentError) return errorResult(err.code, err.message)
    throw err
  }
}

function decodeInput (args: { text?: string | undefined, base64?: string | undefined }): Uint8Array | CallToolResult {
  if ((args.text === undefined) === (args.base64 === undefined)) return textResult('give exactly one of "text" and "base64"', true)
  if (args.text !== undefined) return Buffer.from(args.text, 'utf8')
  const base64 = args.base64 ?? ''
  if (base64.length % 4 !== 0 || !BASE64.test(base64)) return textResult('"base64" is not valid base64 (standard alphabet, padded)', true)
  return Buffer.from(base64, 'base64')
}

// eslint-disable-next-line @typescript-eslint/require-await -- one chunk, already in hand
async function * once (bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/** Reads at most `maxBytes`; a reader that yields more than it promised is cut off, never returned. */
async function readAll (content: AsyncIterable<Uint8Array>, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of content) {
    total += chunk.byteLength
    if (total > maxBytes) return undefined
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, total)
}

export function contentServerSpec (content: ContentFacade): ServerSpec {
  const maxAdd = Math.min(MAX_TOOL_BYTES, content.maxUploadBytes)
  return {
    name: 'dawn-content',
    version: VERSION,
    instructions: 'Content-addressed storage of the Dawn mesh: add bytes to get a CID, read content by CID, pin it for replication across nodes.',
    tools: [
      defineTool({
        name: 'add',
        description: `Store content and return its CID. Give exactly one of "text" (UTF-8) or "base64", at most ${maxAdd} bytes. Pinned mesh-wide unless pin is false.`,
        input: Type.Object({
          // Bounds on characters that cannot admit more than MAX_TOOL_BYTES; the exact check is on bytes.
          text: Type.Optional(Type.String({ maxLength: MAX_TOOL_BYTES, description: 'the content as UTF-8 text' })),
          base64: Type.Optional(Type.String({ maxLength: Math.ceil(MAX_TOOL_BYTES / 3) * 4, description: 'the content as base64' })),
          pin: Type.Optional(Type.Boolean({ description: 'pin it mesh-wide (default true)' })),
          replication: Type.Optional(Replication)
        }, { additionalProperties: false }),
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
        handler: async (args, { signal }) => {
          const bytes = decodeInput(args)
          if (!(bytes instanceof Uint8Array)) return bytes
          if (bytes.byteLength > maxAdd) {
            const err = new UploadTooLargeError(maxAdd)
            return errorResult(err.code, err.message)
          }
          return await reported(async () => jsonResult({
            ...await content.add(once(bytes), {
              signal,
              ...(args.pin === undefined ? {} : { pin: args.pin }),
              ...(args.replication === undefined ? {} : { replication: args.replication })
            })
          }))
        }
      }),
      defineTool({
        name: 'get',
        description: `Read content by CID, as UTF-8 text (default) or base64. Fails rather than truncates when it is larger than maxBytes (default ${DEFAULT_GET_BYTES}, at most ${MAX_TOOL_BYTES}).`,
        input: Type.Object({
          cid: Cid,
          encoding: Type.Optional(Type.Union([Type.Literal('utf8'), Type.Literal('base64')], { description: 'how to return the bytes (default utf8)' })),
          maxBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TOOL_BYTES, description: `largest content to return (default ${DEFAULT_GET_BYTES})` }))
        }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: async ({ cid, encoding = 'utf8', maxBytes = DEFAULT_GET_BYTES }, ctx) => await reported(async () => {
          // Also aborted when we are done: a reader too large to return is dropped unread.
          const done = new AbortController()
          try {
            const reader = await content.get(cid, { signal: AbortSignal.any([ctx.signal, done.signal]) })
            const bytes = reader.size > maxBytes ? undefined : await readAll(reader.content, maxBytes)
            if (bytes === undefined) {
              return errorResult('too-large', `content ${cid} is ${reader.size} bytes, more than maxBytes ${maxBytes}; raise maxBytes (at most ${MAX_TOOL_BYTES}) or fetch it over HTTP`)
            }
            let text: string
            if (encoding === 'base64') {
              text = bytes.toString('base64')
            } else {
              try {
                text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
              } catch {
                return textResult(`content ${cid} is not valid UTF-8; ask for encoding "base64"`, true)
              }
            }
            return { ...textResult(text), _meta: { cid, size: bytes.byteLength, encoding } }
          } finally {
            done.abort()
          }
        })
      }),
      defineTool({
        name: 'pin',
        description: 'Pin content mesh-wide so it is kept and replicated (optionally changing how many nodes hold it); returns its status.',
        input: Type.Object({ cid: Cid, replication: Type.Optional(Replication) }, { additionalProperties: false }),
        annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
        handler: async ({ cid, replication }, { signal }) => await reported(async () =>
          jsonResult({ ...await content.pin(cid, { signal, ...(replication === undefined ? {} : { replication }) }) }))
      }),
      defineTool({
        name: 'unpin',
        description: 'Unpin content mesh-wide; nodes may then drop it. Returns its status.',
        input: Type.Object({ cid: Cid }, { additionalProperties: false }),
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
        handler: async ({ cid }) => await reported(async () => jsonResult({ ...await content.unpin(cid) }))
      }),
      defineTool({
        name: 'status',
        description: 'Whether content is pinned, held on this node, which nodes should and do hold it, and how many holders are missing.',
        input: Type.Object({ cid: Cid }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: async ({ cid }) => await reported(async () => jsonResult({ ...await content.status(cid) }))
      }),
      defineTool({
        name: 'list',
        description: 'The pinned content of the mesh with each pin\'s status, the bytes stored on this node and the storage backend.',
        input: Type.Object({}, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: async () => await reported(async () => jsonResult({ ...await content.list() }))
      })
    ]
  }
}
