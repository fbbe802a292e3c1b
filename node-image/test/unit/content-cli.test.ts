// `dawn-node content` as a child process against the node's HTTP server on the in-memory facade.
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { startContentServer } from './content-double.ts'
import type { ContentServer } from './content-double.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => { for (const fn of cleanups.splice(0).reverse()) await fn() })

async function server (opts: { token?: string, maxUploadBytes?: number } = {}): Promise<ContentServer> {
  const s = await startContentServer(opts)
  cleanups.push(async () => { await s.app.close() })
  return s
}

async function tmpDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dawn-content-cli-'))
  cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** A local address nothing listens on. */
async function closedUrl (): Promise<string> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as { port: number }
  await new Promise((resolve) => probe.close(resolve))
  return `http://127.0.0.1:${port}`
}

interface Run { code: number | null, stdout: Buffer, stderr: string }

const { DAWN_TOKEN: _token, ...env } = process.env

async function dawn (args: string[], opts: { url?: string, stdin?: Buffer } = {}): Promise<Run> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'content', ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...env, DAWN_URL: opts.url ?? 'http://127.0.0.1:9' }
    })
    const out: Buffer[] = []
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.once('error', reject)
    child.once('close', (code) => { resolve({ code, stdout: Buffer.concat(out), stderr }) })
    child.stdin.end(opts.stdin)
  })
}

// Each run starts a Node process; on two busy cores that takes a while.
describe('dawn-node content', { timeout: 60_000 }, () => {
  it('adds a file and stdin, gets to stdout and to a file', async () => {
    const { content, url } = await server()
    const dir = await tmpDir()
    const bytes = randomBytes(2 * 1024 * 1024 + 3)
    await writeFile(join(dir, 'in.bin'), bytes)

    const added = await dawn(['add', join(dir, 'in.bin')], { url })
    expect(added.stderr).toBe('')
    expect(added.code).toBe(0)
    const cid = added.stdout.toString().trim()
    expect(content.blobs.get(cid)?.equals(bytes)).toBe(true)

    const piped = await dawn(['add', '-', '--no-pin', '--replication', '2', '--json', '--url', url], { stdin: Buffer.from('from stdin') })
    expect(piped.code).toBe(0)
    expect(JSON.parse(piped.stdout.toString())).toEqual({ cid: expect.stringMatching(/^[0-9a-f]{64}$/), size: 10, pinned: false, replication: 2 })

    const out = await dawn(['get', cid], { url })
    expect(out.code).toBe(0)
    expect(out.stdout.equals(bytes)).toBe(true)

    const file = join(dir, 'out.bin')
    expect((await dawn(['get', cid, '-o', file], { url })).code).toBe(0)
    expect((await readFile(file)).equals(bytes)).toBe(true)
    expect(await readdir(dir)).toEqual(['in.bin', 'out.bin'])
  })

  it('leaves no file behind when a get fails or breaks off', async () => {
    const { content, url } = await server()
    const dir = await tmpDir()
    const file = join(dir, 'out.bin')
    const missing = await dawn(['get', 'abc123', '-o', file], { url })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/content get failed \(not-found\): /)

    const cid = content.put(randomBytes(1024 * 1024))
    content.chunkBytes = 64 * 1024
    content.failReadsAfterChunks = 3
    const broken = await dawn(['get', cid, '-o', file], { url })
    expect(broken.code).toBe(1)
    expect(broken.stderr).toMatch(/content get: the download broke off/)
    expect(await readdir(dir)).toEqual([])
  })

  it('pins, unpins, shows status and lists', async () => {
    const { content, url } = await server()
    const cid = content.put('some bytes')
    const pinned = await dawn(['pin', cid, '--replication', '4'], { url })
    expect(pinned.code).toBe(0)
    expect(JSON.parse(pinned.stdout.toString())).toMatchObject({ cid, pinned: true, replication: 4, deficit: 3 })
    expect(JSON.parse((await dawn(['status', cid], { url })).stdout.toString())).toMatchObject({ cid, pinned: true })
    const ls = (await dawn(['ls'], { url })).stdout.toString()
    expect(ls).toMatch(/^1 pins, 10 bytes stored here \(embedded\), replication deficit 3\nCID +REPLICATION +HAVE +DEFICIT +LOCAL\n/)
    expect(ls).toMatch(new RegExp(`\\n${cid} +4 +1 +3 +yes\\n$`))
    expect(JSON.parse((await dawn(['ls', '--json'], { url })).stdout.toString())).toMatchObject({ pins: [{ cid }] })
    expect(JSON.parse((await dawn(['unpin', cid], { url })).stdout.toString())).toMatchObject({ cid, pinned: false })
    expect((await dawn(['status', 'Bad!'], { url })).stderr).toMatch(/content status failed \(bad-cid\): "Bad!" is not a CID/)
  })

  it('sends the token from --token-file, and says why the node refused', async () => {
    const { content, url } = await server({ token: 's3cret', maxUploadBytes: 1024 })
    const dir = await tmpDir()
    await writeFile(join(dir, 'token'), 's3cret\n')
    await writeFile(join(dir, 'big'), randomBytes(2048))
    const refused = await dawn(['add', join(dir, 'big')], { url })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/content add failed \(401\): a valid bearer token is required/)
    const tooBig = await dawn(['add', join(dir, 'big'), '--token-file', join(dir, 'token')], { url })
    expect(tooBig.code).toBe(1)
    expect(tooBig.stderr).toMatch(/content add failed \(too-large\): upload is larger than the limit of 1024 bytes/)
    // The file's length went ahead as content-length, so the node refused before reading.
    expect(content.adds).toHaveLength(0)
  })

  it('exits 2 on bad usage and 1 when the node cannot be reached', async () => {
    for (const args of [['frob'], ['get'], ['ls', '--no-pin'], ['add', 'x', '--replication', '0'], ['get', 'x', '--nope']]) {
      const run = await dawn(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr, args.join(' ')).toMatch(/^dawn-node: /)
    }
    const url = await closedUrl()
    const unreachable = await dawn(['ls'], { url })
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain(`content ls: cannot reach ${url}: `)
    expect(unreachable.stderr).toMatch(/ECONNREFUSED/)
    const noFile = await dawn(['add', '/nonexistent/file'], { url })
    expect(noFile.code).toBe(1)
    expect(noFile.stderr).toMatch(/cannot read \/nonexistent\/file: ENOENT/)
  })
})
