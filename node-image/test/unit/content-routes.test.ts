// /api/v1/content over a real socket: streamed upload and download, limits, errors, token.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { eventually } from '../../../test/support/eventually.ts'
import { SELF, startContentServer as startServer } from './content-double.ts'
import type { ContentServer } from './content-double.ts'

const KiB = 1024
const MiB = 1024 * KiB
const OCTET = { 'content-type': 'application/octet-stream' }

const servers: FastifyInstance[] = []
afterEach(async () => { for (const app of servers.splice(0)) await app.close() })

async function startContentServer (opts: { token?: string, maxUploadBytes?: number } = {}): Promise<ContentServer> {
  const server = await startServer(opts)
  servers.push(server.app)
  return server
}

/** A request body sent chunk by chunk, with no content-length. */
function streamed (bytes: Uint8Array, chunk = 16 * KiB): ReadableStream<Uint8Array> {
  let at = 0
  return new ReadableStream({
    pull (controller) {
      if (at >= bytes.byteLength) {
        controller.close()
        return
      }
      controller.enqueue(bytes.slice(at, at + chunk))
      at += chunk
    }
  })
}

async function upload (url: string, body: Uint8Array | ReadableStream<Uint8Array>, opts: { query?: string, headers?: Record<string, string> } = {}): Promise<Response> {
  return await fetch(`${url}/api/v1/content${opts.query ?? ''}`, { method: 'POST', headers: { ...OCTET, ...opts.headers }, body, duplex: 'half' })
}

async function json (res: Response): Promise<Record<string, unknown>> {
  return await res.json() as Record<string, unknown>
}

describe('POST /api/v1/content', () => {
  it('streams a 3 MiB upload (past bodyLimit) into the facade and back out byte-identical', async () => {
    const { content, url } = await startContentServer()
    const bytes = randomBytes(3 * MiB + 17)
    const res = await upload(url, streamed(bytes))
    expect(res.status).toBe(201)
    const added = await json(res)
    expect(added).toEqual({ cid: expect.stringMatching(/^[0-9a-f]{64}$/), size: bytes.byteLength, pinned: true, replication: 3 })
    // Handed over as it arrived, not as one buffered body.
    expect(content.adds[0]!.chunks).toBeGreaterThan(1)

    const got = await fetch(`${url}/api/v1/content/${String(added.cid)}`)
    expect(got.status).toBe(200)
    expect(got.headers.get('content-type')).toBe('application/octet-stream')
    expect(got.headers.get('content-length')).toBe(String(bytes.byteLength))
    expect(got.headers.get('x-content-cid')).toBe(added.cid)
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true)
  })

  it('takes a body with content-length too, and passes pin and replication on', async () => {
    const { content, url } = await startContentServer()
    const res = await upload(url, Buffer.from('hello'), { query: '?pin=false&replication=5' })
    expect(res.status).toBe(201)
    expect(await json(res)).toMatchObject({ size: 5, pinned: false, replication: 5 })
    expect(content.adds[0]!.opts).toMatchObject({ pin: false, replication: 5, signal: expect.any(AbortSignal) })
    expect(content.pins.size).toBe(0)
    const empty = await upload(url, new Uint8Array(0))
    expect(await json(empty)).toMatchObject({ size: 0, pinned: true })
  })

  it('refuses an upload over maxUploadBytes with 413 too-large, with and without content-length, keeping nothing', async () => {
    const { content, url } = await startContentServer({ maxUploadBytes: 64 * KiB })
    const declared = await upload(url, randomBytes(100 * KiB))
    expect(declared.status).toBe(413)
    expect(await json(declared)).toEqual({ statusCode: 413, error: 'UploadTooLargeError', message: expect.stringContaining(String(64 * KiB)), code: 'too-large' })
    // Refused on the header alone: the facade never saw it.
    expect(content.adds).toHaveLength(0)

    const chunked = await upload(url, streamed(randomBytes(100 * KiB)))
    expect(chunked.status).toBe(413)
    expect(await json(chunked)).toMatchObject({ statusCode: 413, code: 'too-large' })
    expect(chunked.headers.get('connection')).toBe('close')
    expect(content.adds.map((a) => a.settled)).toEqual(['failed'])
    expect(content.blobs.size).toBe(0)

    const exact = await upload(url, streamed(randomBytes(64 * KiB)))
    expect(exact.status).toBe(201)
    expect(content.blobs.size).toBe(1)
  })

  it('answers 415 naming application/octet-stream for any other body type, and leaves other routes their JSON parsing', async () => {
    const { content, url } = await startContentServer()
    for (const headers of [{ 'content-type': 'application/json' }, { 'content-type': 'text/plain' }, { 'content-type': 'image/png' }, {}]) {
      const res = await fetch(`${url}/api/v1/content`, { method: 'POST', headers, body: headers['content-type'] === undefined ? new Uint8Array(3) : '{}' })
      expect(res.status, JSON.stringify(headers)).toBe(415)
      expect((await json(res)).message).toMatch(/application\/octet-stream/)
    }
    expect(content.adds).toHaveLength(0)
    // The raw-stream parser is scoped to the upload route.
    const pin = await fetch(`${url}/api/v1/content/abc/pin`, { method: 'POST', headers: OCTET, body: '{}' })
    expect(pin.status).toBe(415)
  })

  it('rejects bad query values with 400', async () => {
    const { url } = await startContentServer()
    for (const query of ['?replication=0', '?replication=65', '?pin=maybe', '?other=1']) {
      expect((await upload(url, Buffer.from('x'), { query })).status, query).toBe(400)
    }
    expect((await fetch(`${url}/api/v1/content/abc?timeoutMs=0`)).status).toBe(400)
    // Up to 256 characters reach the facade (identity CIDs can be long); more is refused.
    expect((await fetch(`${url}/api/v1/content/${'a'.repeat(256)}/status`)).status).toBe(404)
    expect((await fetch(`${url}/api/v1/content/${'a'.repeat(257)}/status`)).status).toBe(414)
  })

  it('aborts the add when the client goes away mid-upload, keeping nothing', async () => {
    const { content, url } = await startContentServer()
    const client = new AbortController()
    let sent = 0
    const body = new ReadableStream<Uint8Array>({
      async pull (controller) {
        if (sent === 4) {
          await new Promise((resolve) => setTimeout(resolve, 60_000))
          return
        }
        sent++
        controller.enqueue(randomBytes(16 * KiB))
      }
    })
    const res = fetch(`${url}/api/v1/content`, { method: 'POST', headers: OCTET, body, duplex: 'half', signal: client.signal }).catch((err: unknown) => err)
    await eventually(async () => content.adds[0]?.bytes === 64 * KiB, { what: 'the first chunks to arrive', timeoutMs: 5000, intervalMs: 20 })
    client.abort()
    expect(await res).toMatchObject({ name: 'AbortError' })
    await eventually(async () => content.adds[0]?.settled === 'failed', { what: 'the add to fail', timeoutMs: 5000, intervalMs: 20 })
    expect(content.adds[0]!.opts?.signal?.aborted).toBe(true)
    expect(content.blobs.size).toBe(0)
  })
})

describe('GET /api/v1/content/:cid', () => {
  it('answers 400 bad-cid and 404 not-found with the error code on every cid route', async () => {
    const { content, url } = await startContentServer()
    const routes: Array<[string, string]> = [['GET', ''], ['GET', '/status'], ['POST', '/pin'], ['DELETE', '/pin']]
    for (const [method, suffix] of routes) {
      const bad = await fetch(`${url}/api/v1/content/NOT-A-CID${suffix}`, { method })
      expect(bad.status, `${method} ${suffix}`).toBe(400)
      expect(await json(bad)).toEqual({ statusCode: 400, error: 'BadCidError', message: '"NOT-A-CID" is not a CID', code: 'bad-cid' })
      const missing = await fetch(`${url}/api/v1/content/abc123${suffix}`, { method })
      expect(missing.status, `${method} ${suffix}`).toBe(404)
      expect(await json(missing)).toMatchObject({ statusCode: 404, error: 'ContentNotFoundError', code: 'not-found' })
    }
    expect(content.gets.map((g) => g.cid)).toEqual(['NOT-A-CID', 'abc123'])
  })

  it('passes timeoutMs on and aborts the reader when the client goes away', async () => {
    const { content, url } = await startContentServer()
    const cid = content.put(randomBytes(2 * MiB))
    content.chunkBytes = 16 * KiB
    content.chunkDelayMs = 20
    const client = new AbortController()
    const res = await fetch(`${url}/api/v1/content/${cid}?timeoutMs=1234`, { signal: client.signal })
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    await reader.read()
    client.abort()
    const { opts } = content.gets[0]!
    expect(opts?.timeoutMs).toBe(1234)
    await eventually(async () => opts?.signal?.aborted, { what: 'the reader signal to abort', timeoutMs: 5000, intervalMs: 20 })
  })

  it('answers in JSON when the content fails before its first byte, and breaks off the body after it', async () => {
    const { content, url } = await startContentServer()
    const cid = content.put(randomBytes(256 * KiB))
    content.failReadsAfterChunks = 0
    const early = await fetch(`${url}/api/v1/content/${cid}`)
    expect(early.status).toBe(503)
    expect(early.headers.get('content-type')).toMatch(/^application\/json/)
    expect(early.headers.get('x-content-cid')).toBeNull()
    expect(await json(early)).toEqual({ statusCode: 503, error: 'ContentError', message: 'a block of it is lost', code: 'unavailable' })

    const failing = content.get
    content.get = async (...args) => {
      const reader = await failing(...args)
      // eslint-disable-next-line require-yield -- fails at once
      return { size: reader.size, content: (async function * () { throw new Error('not a content failure') })() }
    }
    const internal = await fetch(`${url}/api/v1/content/${cid}`)
    expect(internal.status).toBe(500)
    expect(await json(internal)).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error' })
    content.get = failing

    content.failReadsAfterChunks = 2
    const late = await fetch(`${url}/api/v1/content/${cid}`)
    expect(late.status).toBe(200)
    await expect(late.arrayBuffer()).rejects.toThrow()
  })

  it('serves no HEAD that would read the whole content', async () => {
    const { content, url } = await startContentServer()
    const cid = content.put('x')
    expect((await fetch(`${url}/api/v1/content/${cid}`, { method: 'HEAD' })).status).toBe(404)
    expect(content.gets).toHaveLength(0)
  })
})

describe('status, pin, unpin and list', () => {
  it('answer with ContentStatus and ContentSummary', async () => {
    const { content, url } = await startContentServer()
    const cid = content.put('some bytes')
    const status = await fetch(`${url}/api/v1/content/${cid}/status`)
    expect(await json(status)).toEqual({ cid, pinned: false, replication: 0, local: true, holders: [SELF], have: [SELF], deficit: 0 })

    const pinned = await fetch(`${url}/api/v1/content/${cid}/pin`, { method: 'POST' })
    expect(pinned.status).toBe(200)
    expect(await json(pinned)).toMatchObject({ cid, pinned: true, replication: 3, deficit: 2 })
    const repinned = await fetch(`${url}/api/v1/content/${cid}/pin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replication: 5 }) })
    expect(await json(repinned)).toMatchObject({ pinned: true, replication: 5, deficit: 4 })
    for (const body of [{ replication: 0 }, { replication: 65 }, { replication: 2, extra: true }]) {
      const bad = await fetch(`${url}/api/v1/content/${cid}/pin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect(bad.status, JSON.stringify(body)).toBe(400)
    }

    const list = await fetch(`${url}/api/v1/content`)
    expect(await json(list)).toEqual({
      backend: 'embedded',
      bytesStored: 10,
      pins: [{ cid, pinned: true, replication: 5, local: true, holders: [SELF], have: [SELF], deficit: 4 }],
      deficit: 4
    })

    const unpinned = await fetch(`${url}/api/v1/content/${cid}/pin`, { method: 'DELETE' })
    expect(await json(unpinned)).toMatchObject({ cid, pinned: false })
    expect(await json(await fetch(`${url}/api/v1/content`))).toMatchObject({ pins: [], deficit: 0 })
  })
})

describe('bearer token', () => {
  it('is required on POST and DELETE, not on reads', async () => {
    const { content, url } = await startContentServer({ token: 's3cret' })
    const cid = content.put('open to read')
    const auth = { authorization: 'Bearer s3cret' }

    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Array<Record<string, string>>) {
      const add = await upload(url, Buffer.from('x'), { headers })
      expect(add.status).toBe(401)
      expect(add.headers.get('www-authenticate')).toBe('Bearer')
      expect(await json(add)).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'a valid bearer token is required' })
      expect((await fetch(`${url}/api/v1/content/${cid}/pin`, { method: 'POST', headers })).status).toBe(401)
      expect((await fetch(`${url}/api/v1/content/${cid}/pin`, { method: 'DELETE', headers })).status).toBe(401)
    }
    expect(content.adds).toHaveLength(0)
    expect(content.pins.size).toBe(0)

    expect((await upload(url, Buffer.from('x'), { headers: auth })).status).toBe(201)
    expect((await fetch(`${url}/api/v1/content/${cid}/pin`, { method: 'POST', headers: auth })).status).toBe(200)
    expect((await fetch(`${url}/api/v1/content/${cid}/pin`, { method: 'DELETE', headers: auth })).status).toBe(200)
    expect((await fetch(`${url}/api/v1/content/${cid}`)).status).toBe(200)
    expect((await fetch(`${url}/api/v1/content/${cid}/status`)).status).toBe(200)
    expect((await fetch(`${url}/api/v1/content`)).status).toBe(200)
  })
})
