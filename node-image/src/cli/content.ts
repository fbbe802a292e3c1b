import { createWriteStream } from 'node:fs'
import { open, rename, rm, stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { parseArgs } from 'node:util'
import type { AddResult, ContentStatus, ContentSummary } from '../storage/content-api.ts'
import { readToken } from './call.ts'
import { CliError } from './cli-error.ts'

export const CONTENT_USAGE = `content add <file|-> [--no-pin] [--replication N] [--json]
  dawn-node content get <cid> [-o FILE] [--timeout MS]
  dawn-node content pin <cid> [--replication N]
  dawn-node content unpin <cid>
  dawn-node content status <cid>
  dawn-node content ls [--json]
  (each also takes --url URL and --token-file FILE)`

const OPTIONS = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  'no-pin': { type: 'boolean' },
  replication: { type: 'string' },
  json: { type: 'boolean' },
  output: { type: 'string', short: 'o' },
  timeout: { type: 'string' }
} as const
type Option = keyof typeof OPTIONS

/** Per subcommand: how many positionals, and the options besides --url and --token-file. */
const SUBCOMMANDS = new Map<string, { positionals: number, options: Option[] }>([
  ['add', { positionals: 1, options: ['no-pin', 'replication', 'json'] }],
  ['get', { positionals: 1, options: ['output', 'timeout'] }],
  ['pin', { positionals: 1, options: ['replication'] }],
  ['unpin', { positionals: 1, options: [] }],
  ['status', { positionals: 1, options: [] }],
  ['ls', { positionals: 0, options: ['json'] }]
])

interface Api { sub: string, url: string, token: string | undefined }

/**
 * `dawn-node content`: adds, fetches and pins content through a running node's
 * `/api/v1/content`. Bytes are streamed both ways.
 */
export async function contentCommand (args: string[]): Promise<number> {
  const [sub = '', ...rest] = args
  if (sub === 'help' || sub === '--help' || sub === '-h') {
    process.stdout.write(`usage: dawn-node ${CONTENT_USAGE}\n`)
    return 0
  }
  const spec = SUBCOMMANDS.get(sub)
  if (spec === undefined) throw new CliError(`usage: dawn-node ${CONTENT_USAGE}`)
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(rest)
  } catch (err) {
    throw new CliError(`content ${sub}: ${(err as Error).message}\n\nusage: dawn-node ${CONTENT_USAGE}`)
  }
  const { values, positionals } = parsed
  const extra = (Object.keys(values) as Option[]).filter((name) => name !== 'url' && name !== 'token-file' && !spec.options.includes(name))
  if (extra.length > 0) throw new CliError(`content ${sub}: --${extra[0] ?? ''} does not apply here\n\nusage: dawn-node ${CONTENT_USAGE}`)
  if (positionals.length !== spec.positionals) throw new CliError(`usage: dawn-node ${CONTENT_USAGE}`)
  const replication = integerOption(sub, 'replication', values.replication, 64)
  const timeoutMs = integerOption(sub, 'timeout', values.timeout, 600_000)
  const api: Api = { sub, url: values.url ?? process.env.DAWN_URL ?? 'http://127.0.0.1:8080', token: await readToken(values['token-file'], `content ${sub}`) }
  const target = positionals[0] ?? ''
  const cidPath = `/api/v1/content/${encodeURIComponent(target)}`

  switch (sub) {
    case 'add': {
      const added = await add(api, target, { pin: values['no-pin'] !== true, replication })
      process.stdout.write(values.json === true ? JSON.stringify(added, null, 2) + '\n' : added.cid + '\n')
      return 0
    }
    case 'get':
      await get(api, `${cidPath}${timeoutMs === undefined ? '' : `?timeoutMs=${timeoutMs}`}`, values.output)
      return 0
    case 'pin':
      printJson(await (await request(api, `${cidPath}/pin`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(replication === undefined ? {} : { replication })
      })).json())
      return 0
    case 'unpin':
      printJson(await (await request(api, `${cidPath}/pin`, { method: 'DELETE' })).json())
      return 0
    case 'status':
      printJson(await (await request(api, `${cidPath}/status`, {})).json())
      return 0
    default: {
      const summary = await (await request(api, '/api/v1/content', {})).json() as ContentSummary
      process.stdout.write(values.json === true ? JSON.stringify(summary, null, 2) + '\n' : table(summary))
      return 0
    }
  }
}

function parse (args: string[]): { values: { [K in Option]?: typeof OPTIONS[K]['type'] extends 'string' ? string : boolean }, positionals: string[] } {
  return parseArgs({ args, allowPositionals: true, options: OPTIONS })
}

function integerOption (sub: string, name: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > max) throw new CliError(`content ${sub}: --${name} must be an integer from 1 to ${max}`)
  return n
}

function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

async function add (api: Api, file: string, opts: { pin: boolean, replication: number | undefined }): Promise<AddResult> {
  let body: Readable
  let length: number | undefined
  if (file === '-') {
    body = process.stdin
  } else {
    const handle = await open(file).catch((err: unknown) => { throw new CliError(`content add: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1) })
    const info = await handle.stat()
    if (!info.isFile()) {
      await handle.close()
      throw new CliError(`content add: ${file} is not a regular file`, 1)
    }
    // Declared up front so the node can refuse an upload over its limit before any byte is sent.
    length = info.size
    body = handle.createReadStream()
  }
  const query = new URLSearchParams()
  if (!opts.pin) query.set('pin', 'false')
  if (opts.replication !== undefined) query.set('replication', String(opts.replication))
  try {
    const res = await request(api, `/api/v1/content${query.size === 0 ? '' : `?${query.toString()}`}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...(length === undefined ? {} : { 'content-length': String(length) }) },
      body: Readable.toWeb(body),
      duplex: 'half'
    })
    return await res.json() as AddResult
  } finally {
    if (body !== process.stdin) body.destroy()
  }
}

/** Streams the content to stdout, or to `output` through a temp file so a failed get leaves nothing behind. */
async function get (api: Api, path: string, output: string | undefined): Promise<void> {
  const res = await request(api, path, {})
  if (res.body === null) throw new CliError('content get: the node sent no body', 1)
  const source = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>)
  const broke = (err: unknown): CliError => new CliError(`content get: the download broke off: ${causeOf(err)}`, 1)
  if (output === undefined) {
    await pipeline(source, process.stdout, { end: false }).catch((err: unknown) => { throw broke(err) })
    return
  }
  const tmp = `${output}.tmp`
  try {
    await pipeline(source, createWriteStream(tmp, { flush: true })).catch((err: unknown) => { throw broke(err) })
    const expected = Number(res.headers.get('content-length'))
    const { size } = await stat(tmp)
    if (Number.isInteger(expected) && size !== expected) throw new CliError(`content get: got ${size} bytes, the node announced ${expected}`, 1)
    await rename(tmp, output)
  } catch (err) {
    await rm(tmp, { force: true })
    throw err
  }
}

/** A fetch that throws CliError (exit 1) when the node cannot be reached or answers non-2xx. */
async function request (api: Api, path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers)
  if (api.token !== undefined && api.token !== '') headers.set('authorization', `Bearer ${api.token}`)
  let res: Response
  try {
    res = await fetch(new URL(path, api.url), { ...init, headers })
  } catch (err) {
    throw new CliError(`content ${api.sub}: cannot reach ${api.url}: ${causeOf(err)}`, 1)
  }
  if (res.ok) return res
  const text = await res.text().catch(() => '')
  let body: { code?: unknown, message?: unknown } = {}
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    // not JSON: the text itself is the message
  }
  const code = typeof body.code === 'string' ? body.code : String(res.status)
  const message = typeof body.message === 'string' ? body.message : text === '' ? res.statusText : text
  throw new CliError(`content ${api.sub} failed (${code}): ${message}`, 1)
}

/** fetch hides the socket error in `cause`. */
function causeOf (err: unknown): string {
  const cause = (err as { cause?: unknown }).cause
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err)
}

function table (summary: ContentSummary): string {
  const head = `${summary.pins.length} pins, ${summary.bytesStored} bytes stored here (${summary.backend}), replication deficit ${summary.deficit}\n`
  if (summary.pins.length === 0) return head
  const rows = [['CID', 'REPLICATION', 'HAVE', 'DEFICIT', 'LOCAL'], ...summary.pins.map((p: ContentStatus) => [
    p.cid, String(p.replication), String(p.have.length), String(p.deficit), p.local ? 'yes' : 'no'
  ])]
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]?.length ?? 0))) ?? []
  return head + rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n'
}
