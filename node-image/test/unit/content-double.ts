// An in-memory ContentFacade for the edges of the content layer (HTTP, agent, CLI),
// and the node's HTTP server serving it.
// The "CID" is the sha256 hex of the bytes; real CID parsing belongs to the service.
import { createHash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyInstance } from 'fastify'
import { createHttpServer } from '../../src/http/server.ts'
import type { NodeView } from '../../src/http/node-view.ts'
import type { AddOptions, AddResult, ContentFacade, ContentReader, ContentStatus, ContentSummary, GetOptions } from '../../src/storage/content-api.ts'
import { BadCidError, ContentError, ContentNotFoundError } from '../../src/storage/errors.ts'

export const SELF = 'node-self'

export class MemoryContent implements ContentFacade {
  readonly backend = 'embedded' as const
  readonly maxUploadBytes: number
  readonly defaultReplication = 3
  readonly blobs = new Map<string, Buffer>()
  readonly pins = new Map<string, number>()
  /** What each add and get was called with, e.g. to see its signal abort. */
  readonly adds: Array<{ opts: AddOptions | undefined, chunks: number, bytes: number, settled?: 'ok' | 'failed' }> = []
  readonly gets: Array<{ cid: string, opts: GetOptions | undefined }> = []
  /** Pause between the chunks a reader yields, to hold a download open. */
  chunkDelayMs = 0
  chunkBytes = 64 * 1024
  /** Readers fail after yielding this many chunks, as a lost block would. */
  failReadsAfterChunks: number | undefined

  // No upload limit here on purpose: the edges must enforce maxUploadBytes themselves.
  constructor (init: { maxUploadBytes?: number } = {}) {
    this.maxUploadBytes = init.maxUploadBytes ?? 64 * 1024 * 1024
  }

  add = async (source: AsyncIterable<Uint8Array>, opts?: AddOptions): Promise<AddResult> => {
    const call: MemoryContent['adds'][number] = { opts, chunks: 0, bytes: 0 }
    this.adds.push(call)
    try {
      const chunks: Uint8Array[] = []
      for await (const chunk of source) {
        opts?.signal?.throwIfAborted()
        call.chunks++
        call.bytes += chunk.byteLength
        chunks.push(chunk)
      }
      const bytes = Buffer.concat(chunks)
      const cid = createHash('sha256').update(bytes).digest('hex')
      this.blobs.set(cid, bytes)
      const pinned = opts?.pin ?? true
      const replication = opts?.replication ?? this.defaultReplication
      if (pinned) this.pins.set(cid, replication)
      call.settled = 'ok'
      return { cid, size: bytes.byteLength, pinned, replication }
    } catch (err) {
      call.settled = 'failed'
      throw err
    }
  }

  get = async (cid: string, opts?: GetOptions): Promise<ContentReader> => {
    this.gets.push({ cid, opts })
    const bytes = this.known(cid)
    const { chunkBytes, chunkDelayMs, failReadsAfterChunks } = this
    const signal = opts?.signal
    async function * content (): AsyncGenerator<Uint8Array> {
      for (let at = 0, n = 0; at < bytes.byteLength; at += chunkBytes, n++) {
        signal?.throwIfAborted()
        if (n === failReadsAfterChunks) throw new ContentError('unavailable', 'a block of it is lost')
        if (chunkDelayMs > 0) await sleep(chunkDelayMs)
        yield bytes.subarray(at, at + chunkBytes)
      }
    }
    return { size: bytes.byteLength, content: content() }
  }

  pin = async (cid: string, opts?: { replication?: number }): Promise<ContentStatus> => {
    this.known(cid)
    this.pins.set(cid, opts?.replication ?? this.pins.get(cid) ?? this.defaultReplication)
    return await this.status(cid)
  }

  unpin = async (cid: string): Promise<ContentStatus> => {
    this.known(cid)
    this.pins.delete(cid)
    return await this.status(cid)
  }

  status = async (cid: string): Promise<ContentStatus> => {
    this.known(cid)
    return this.statusOf(cid)
  }

  list = async (): Promise<ContentSummary> => {
    const pins = [...this.pins.keys()].sort().map((cid) => this.statusOf(cid))
    return {
      backend: this.backend,
      bytesStored: [...this.blobs.values()].reduce((n, b) => n + b.byteLength, 0),
      pins,
      deficit: pins.reduce((n, p) => n + p.deficit, 0)
    }
  }

  /** Adds bytes directly, for tests that only read. */
  put (bytes: Uint8Array | string): string {
    const buf = Buffer.from(bytes)
    const cid = createHash('sha256').update(buf).digest('hex')
    this.blobs.set(cid, buf)
    return cid
  }

  private statusOf (cid: string): ContentStatus {
    const replication = this.pins.get(cid)
    const pinned = replication !== undefined
    return {
      cid,
      pinned,
      replication: replication ?? 0,
      local: true,
      holders: [SELF],
      have: [SELF],
      deficit: pinned ? Math.max(0, replication - 1) : 0
    }
  }

  private known (cid: string): Buffer {
    if (!/^[a-z0-9]+$/.test(cid)) throw new BadCidError(`"${cid}" is not a CID`)
    const bytes = this.blobs.get(cid)
    if (bytes === undefined) throw new ContentNotFoundError(`${cid} is not held by any node asked`)
    return bytes
  }
}

export interface ContentServer { app: FastifyInstance, content: MemoryContent, url: string }

const unused = (): never => { throw new Error('not used by the content tests') }
const view: NodeView = { info: unused, peers: unused, registry: unused, readiness: unused, metrics: unused, dial: unused }

/** The node's real HTTP server (default 64 KiB bodyLimit) listening on 127.0.0.1, with the content routes on a MemoryContent. Close `app` when done. */
export async function startContentServer (opts: { token?: string, maxUploadBytes?: number } = {}): Promise<ContentServer> {
  const content = new MemoryContent(opts.maxUploadBytes === undefined ? {} : { maxUploadBytes: opts.maxUploadBytes })
  const app = await createHttpServer(
    { view, log: () => {}, caller: { call: unused }, catalog: { entries: () => [], onChange: () => () => {} }, selfId: SELF, content },
    { host: '127.0.0.1', port: 0, mcp: { enabled: false, allowedOrigins: [], maxRequestBytes: 1024 * 1024, maxSessions: 1, sessionIdleSeconds: 60, timeoutMs: 1000, ...(opts.token === undefined ? {} : { token: opts.token }) } }
  )
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, content, url }
}
