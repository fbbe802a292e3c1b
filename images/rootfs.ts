// Turns a layer of the spec into the entries of its tar: which host file goes to which
// path in the image, with normalised modes. A layer is resolved in two steps: first its
// key (a hash of everything that decides its bytes; cheap, so a warm build only hashes),
// then its entries (may run npm or gcc; only when the key is not cached).
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readFile, readlink, realpath, stat, lstat } from 'node:fs/promises'
import { join, posix } from 'node:path'
import type { Account, Content, Layer } from './spec.ts'
import { normalise, type Entry } from './tar.ts'
import { compilePause, installNpmDeps, npmDepsKey, pauseKey, run, type PrepareContext } from './prepare.ts'
import type { HostInputs } from './inputs.ts'
import { BUNDLE_PATH, bundlePaths, ensureBundle } from '../operator/scripts/bundle.ts'

export interface RootfsContext extends PrepareContext {
  inputs: HostInputs
  /** A scratch directory for npm and gcc output; the caller removes it. */
  scratch: string
}

export interface ResolvedLayer {
  /** sha256 over the layer's name, its contents' definitions and the hashes of their inputs. */
  key: string
  entries: () => Promise<Entry[]>
}

interface Resolved { key: string, entries: () => Promise<Entry[]> }

// ---------------------------------------------------------------------------------------
// host files

/** Content hashes, memoised per file version for long-lived callers (the cluster harness). */
const hashes = new Map<string, string>()
export async function fileHash (path: string): Promise<string> {
  const s = await stat(path)
  const id = `${path}\0${s.ino}\0${s.size}\0${s.mtimeMs}`
  const known = hashes.get(id)
  if (known !== undefined) return known
  // Streamed: Node and Kubo are 60-130 MB each.
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  const h = hash.digest('hex')
  hashes.set(id, h)
  return h
}

/** Executable bits decide 0755 or 0644; host owners, umask and other bits do not reach the image. */
const fileMode = (hostMode: number): number => (hostMode & 0o111) !== 0 ? 0o755 : 0o644

async function hostFile (source: string, path: string, mode?: number): Promise<Entry> {
  const s = await stat(source) // follows symlinks: the image gets the real file's content
  return { type: 'file', path, source, size: s.size, mode: mode ?? fileMode(s.mode) }
}

/** Every entry under a host directory, mapped below `to`. Symlinks stay symlinks (npm's workspace and .bin links). */
async function walk (from: string, to: string, skip: Set<string>): Promise<Entry[]> {
  const out: Entry[] = []
  const dirents = await readdir(from, { withFileTypes: true })
  for (const d of dirents) {
    if (skip.has(d.name)) continue
    const source = join(from, d.name)
    const path = posix.join(to, d.name)
    if (d.isDirectory()) {
      out.push({ type: 'dir', path, mode: 0o755 }, ...await walk(source, path, skip))
    } else if (d.isSymbolicLink()) {
      out.push({ type: 'symlink', path, target: await readlink(source) })
    } else if (d.isFile()) {
      const s = await lstat(source)
      out.push({ type: 'file', path, source, size: s.size, mode: fileMode(s.mode) })
    } else {
      throw new Error(`${source}: only files, directories and symlinks can go into an image`)
    }
  }
  return out
}

/** A key over entries themselves: paths, modes, link targets and file contents. */
async function entriesKey (entries: Entry[]): Promise<string> {
  const h = createHash('sha256')
  for (const e of entries) {
    h.update(JSON.stringify(e.type === 'file' ? { path: e.path, mode: e.mode, sha256: 'data' in e ? sha(e.data) : await fileHash(e.source) } : e))
  }
  return h.digest('hex')
}
const sha = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

// ---------------------------------------------------------------------------------------
// contents

const sized = (data: Buffer): { size: number, data: Buffer } => ({ size: data.length, data })
const text = (path: string, body: string, mode = 0o644): Entry => ({ type: 'file', path, mode, ...sized(Buffer.from(body)) })

function accounts (list: Account[]): Entry[] {
  const shell = (a: Account): string => a.uid === 0 ? '/bin/sh' : '/sbin/nologin'
  return [
    text('/etc/passwd', list.map(a => `${a.name}:x:${a.uid}:${a.uid}:${a.name}:${a.home}:${shell(a)}\n`).join('')),
    text('/etc/group', list.map(a => `${a.name}:x:${a.uid}:\n`).join('')),
    // glibc and Go both read it; "files" first so localhost resolves without cluster DNS.
    text('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n')
  ]
}

/**
 * The libraries the dynamic loader will open for `binary`, as `ldd` lists them (the loader
 * itself included), at the paths it lists: the loader's path is fixed in the binary, and the
 * others sit in glibc's built-in search directories, so the image needs no ld.so.cache.
 */
export async function sharedLibraries (binary: string, signal?: AbortSignal): Promise<Array<{ path: string, source: string }>> {
  const out = await run('ldd', [binary], { signal })
  const libs: Array<{ path: string, source: string }> = []
  for (const line of out.split('\n')) {
    const path = /^\s*(?:\S+\s+=>\s+)?(\/\S+)\s+\(0x[0-9a-f]+\)\s*$/.exec(line)?.[1]
    if (path !== undefined) libs.push({ path, source: await realpath(path) })
    else if (/=>\s+not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`)
  }
  if (libs.length === 0) throw new Error(`ldd ${binary} listed no libraries:\n${out}`)
  return libs
}

async function resolveContent (c: Content, ctx: RootfsContext): Promise<Resolved> {
  const fixed = async (entries: Entry[]): Promise<Resolved> => ({ key: await entriesKey(entries), entries: () => Promise.resolve(entries) })
  switch (c.kind) {
    case 'accounts': return await fixed(accounts(c.accounts))
    case 'dir': return await fixed([{ type: 'dir', path: c.path, mode: c.mode }])
    case 'text': return await fixed([text(c.path, c.text, c.mode)])
    case 'kubo': return await fixed([await hostFile(ctx.inputs.kubo, c.path, 0o755)])
    case 'busybox': return await fixed([
      await hostFile(ctx.inputs.busybox, '/bin/busybox', 0o755),
      ...c.applets.map((a): Entry => ({ type: 'symlink', path: `/bin/${a}`, target: 'busybox' }))
    ])
    case 'node': {
      const libs = await sharedLibraries(ctx.inputs.node, ctx.signal)
      return await fixed([
        await hostFile(ctx.inputs.node, '/usr/local/bin/node', 0o755),
        ...await Promise.all(libs.map(async l => await hostFile(l.source, l.path)))
      ])
    }
    case 'repo': {
      const entries: Entry[] = []
      for (const p of c.paths) {
        const source = join(ctx.root, p)
        const path = posix.join(c.dir, p)
        const isDir = (await stat(source)).isDirectory()
        if (isDir !== p.endsWith('/')) throw new Error(`spec: ${p} must ${isDir ? 'end' : 'not end'} with "/" (it is ${isDir ? 'a directory' : 'a file'})`)
        // As .dockerignore does for `docker build`.
        if (isDir) entries.push(...await walk(source, path.replace(/\/$/, ''), new Set(['node_modules', '.git', 'coverage'])))
        else entries.push(await hostFile(source, path))
      }
      // Read now: the key and the layer then hold the same bytes even if a file is edited mid-build.
      return await fixed(await Promise.all(entries.map(async (e): Promise<Entry> =>
        e.type === 'file' && 'source' in e ? { type: 'file', path: e.path, mode: e.mode, ...sized(await readFile(e.source)) } : e)))
    }
    case 'operator-bundle': {
      // Never a stale bundle in an image: rebuilt here if its inputs changed.
      await ensureBundle()
      return await fixed([{ type: 'file', path: posix.join(c.dir, BUNDLE_PATH), mode: 0o644, ...sized(await readFile(bundlePaths.bundle)) }])
    }
    case 'npm-deps': return {
      key: await npmDepsKey(c.workspaces, ctx),
      entries: async () => {
        const modules = await installNpmDeps(c.workspaces, join(ctx.scratch, 'npm'), ctx)
        const to = posix.join(c.dir, 'node_modules')
        return [{ type: 'dir', path: to, mode: 0o755 }, ...await walk(modules, to, new Set())]
      }
    }
    case 'pause': return {
      key: await pauseKey(ctx),
      entries: async () => [await hostFile(await compilePause(ctx.scratch, ctx), c.path, 0o755)]
    }
  }
}

// ---------------------------------------------------------------------------------------
// layers

/** `salt` stands for the code that writes the bytes (build.ts passes a hash of its source). */
export async function resolveLayer (layer: Layer, opts: { mtime: number, salt: string }, ctx: RootfsContext): Promise<ResolvedLayer> {
  const parts: Resolved[] = []
  for (const c of layer.contents) parts.push(await resolveContent(c, ctx))
  const key = sha(JSON.stringify({ ...opts, layer, parts: parts.map(p => p.key) }))
  return {
    key,
    entries: async () => {
      const all: Entry[] = []
      for (const p of parts) all.push(...await p.entries())
      return normalise(all)
    }
  }
}
