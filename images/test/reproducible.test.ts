// The archive is a function of its inputs only: two builds from copies of the same files
// (other mtimes, owners' modes, inodes, cache dirs) are byte-identical, and any changed
// file changes the digest. Also checks the archive is a valid OCI layout naming the image.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, cp, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { buildImage, type BuildContext } from '../build.ts'
import type { ImageSpec } from '../spec.ts'

const run = promisify(execFile)
const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })
const temp = async (): Promise<string> => { const d = await mkdtemp(join(tmpdir(), 'dawn-images-')); dirs.push(d); return d }

interface Descriptor { digest: string, size: number }

// Long enough to need a PAX header (no ustar prefix/name split fits).
const LONG = `${'d'.repeat(120)}/${'f'.repeat(120)}.txt`

const spec: ImageSpec = {
  name: 'dawn.local/test:1',
  summary: 'test',
  config: { user: '65532:65532', env: { A: 'b c' }, workingDir: '/app', ports: [8080], entrypoint: ['/app/run.sh'], cmd: ['x'] },
  layers: [
    { name: 'base', contents: [{ kind: 'accounts', accounts: [{ name: 'root', uid: 0, home: '/root' }] }, { kind: 'dir', path: '/tmp', mode: 0o1777 }] },
    { name: 'app', contents: [{ kind: 'repo', dir: '/app', paths: ['run.sh', 'src/'] }, { kind: 'text', path: '/etc/motd', mode: 0o644, text: 'hi\n' }] }
  ]
}

async function sourceTree (): Promise<string> {
  const root = await temp()
  await mkdir(join(root, 'src', 'lib'), { recursive: true })
  await mkdir(join(root, 'src', LONG, '..'), { recursive: true })
  await writeFile(join(root, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 })
  await writeFile(join(root, 'src', 'a.ts'), 'export const a = 1\n')
  await writeFile(join(root, 'src', 'lib', 'b.ts'), 'export const b = 2\n')
  await writeFile(join(root, 'src', LONG), 'long\n')
  return root
}

async function build (root: string, cache?: string): Promise<{ digest: string, archive: string, bytes: Buffer }> {
  const ctx: BuildContext = { root, dir: cache ?? await temp(), inputs: { node: '', kubo: '', busybox: '', gcc: '', npm: '' }, mtime: 0, log: () => {} }
  const built = await buildImage(spec, ctx)
  expect(built.name).toBe(spec.name)
  return { digest: built.digest, archive: built.archive, bytes: await readFile(built.archive) }
}

describe('image archives', () => {
  it('are byte-identical for the same inputs, whatever their mtimes, modes and location', async () => {
    const a = await sourceTree()
    const b = await temp()
    await cp(a, b, { recursive: true })
    // Host details that must not reach the image: times, group/other bits, non-exec bits.
    await utimes(join(b, 'src', 'a.ts'), new Date(2001, 1, 1), new Date(2001, 1, 1))
    await chmod(join(b, 'src', 'a.ts'), 0o600)
    await chmod(join(b, 'src', 'lib'), 0o700)
    await chmod(join(b, 'run.sh'), 0o700)
    const first = await build(a)
    const second = await build(b)
    expect(second.digest).toBe(first.digest)
    expect(createHash('sha256').update(second.bytes).digest('hex')).toBe(createHash('sha256').update(first.bytes).digest('hex'))
  })

  // One cache dir throughout: the cache key must see the change, or the old archive is reused.
  it('change when a file changes, even by one byte', async () => {
    const root = await sourceTree()
    const cache = await temp()
    const before = await build(root, cache)
    expect((await build(root, cache)).archive).toBe(before.archive) // unchanged: reused
    await writeFile(join(root, 'src', 'lib', 'b.ts'), 'export const b = 3\n')
    const after = await build(root, cache)
    expect(after.digest).not.toBe(before.digest)
    expect(after.archive).not.toBe(before.archive)
    await writeFile(join(root, 'src', 'lib', 'b.ts'), 'export const b = 2\n')
    expect((await build(root, cache)).digest).toBe(before.digest)
  })

  it('change when an executable bit changes', async () => {
    const root = await sourceTree()
    const cache = await temp()
    const before = await build(root, cache)
    await chmod(join(root, 'run.sh'), 0o644)
    expect((await build(root, cache)).digest).not.toBe(before.digest)
  })

  it('are OCI layouts that name the image for containerd, with readable layers', async () => {
    const { archive, digest } = await build(await sourceTree())
    const out = await temp()
    await run('tar', ['-xf', archive, '-C', out])
    const json = async <T = unknown>(p: string): Promise<T> => JSON.parse(await readFile(join(out, p), 'utf8')) as T
    const blob = (d: string): string => join('blobs', 'sha256', d.replace('sha256:', ''))
    expect(await json('oci-layout')).toEqual({ imageLayoutVersion: '1.0.0' })
    const index = await json<{ manifests: unknown[] }>('index.json')
    expect(index.manifests).toHaveLength(1)
    expect(index.manifests[0]).toMatchObject({
      digest,
      annotations: { 'io.containerd.image.name': 'dawn.local/test:1', 'org.opencontainers.image.ref.name': '1' },
      platform: { architecture: 'amd64', os: 'linux' }
    })
    // Every blob's name is its digest.
    for (const f of (await run('tar', ['-tf', archive])).stdout.split('\n').filter(l => /^blobs\/sha256\/./.test(l))) {
      expect(`blobs/sha256/${createHash('sha256').update(await readFile(join(out, f))).digest('hex')}`).toBe(f)
    }
    const manifest = await json<{ config: Descriptor, layers: Descriptor[] }>(blob(digest))
    const config = await json(blob(manifest.config.digest))
    expect(config).toMatchObject({
      architecture: 'amd64',
      os: 'linux',
      config: {
        User: '65532:65532',
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=b c'],
        Entrypoint: ['/app/run.sh'],
        Cmd: ['x'],
        WorkingDir: '/app',
        ExposedPorts: { '8080/tcp': {} }
      },
      rootfs: { type: 'layers', diff_ids: manifest.layers.map(l => l.digest) }
    })
    // GNU tar reads the app layer: owners, modes, times and the PAX long path as written.
    const app = manifest.layers[1]!.digest
    const listing = (await run('tar', ['--numeric-owner', '--full-time', '-tvf', join(out, blob(app))])).stdout
    expect(listing).toContain(`-rwxr-xr-x 0/0              18 1970-01-01 00:00:00 app/run.sh`)
    expect(listing).toContain(`app/src/${LONG}`)
    const base = (await run('tar', ['--numeric-owner', '-tvf', join(out, blob(manifest.layers[0]!.digest))])).stdout
    expect(base).toMatch(/^drwxrwxrwt 0\/0 .* tmp\/$/m)
    const files = await temp()
    await run('tar', ['-xf', join(out, blob(app)), '-C', files])
    expect(await readFile(join(files, 'app', 'src', LONG), 'utf8')).toBe('long\n')
  })
})
