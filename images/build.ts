// Builds the images of images/spec.ts as OCI archives, without Docker or a registry, for
// `ctr -n k8s.io images import`. Library entry point of the cluster harness and the CLI.
//
// Cache, under ${DAWN_CACHE:-~/.cache/dawn}/images/:
//   layers/<layer key>.tar|.json       one uncompressed layer (its blob) and its digest
//   <name>-<image key>.tar|.json       the OCI archive of one image and its manifest digest
// A layer key is the sha256 of the layer's definition in the spec, the mtime, the source
// of the code that writes layers (tar.ts, rootfs.ts, prepare.ts) and the content hash of
// every input: each file's bytes (Node and the libraries
// ldd lists, busybox, Kubo, the repository files), and for npm dependencies the manifests,
// lockfile, npm flags and npm version; for pause, pause.c, gcc's version and flags.
// The image key hashes the name, the runtime config, the layer keys and the source of
// oci-archive.ts and build.ts. So an unchanged
// checkout only hashes its inputs and reuses the archive; an edited source file rebuilds
// only the small app layer and the archive. Superseded archives of an image are deleted;
// layers no archive uses are deleted after an hour.
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cacheDir, readPins, REPO_ROOT, resolveInputs, type HostInputs } from './inputs.ts'
import { writeOciArchive, type LayerBlob } from './oci-archive.ts'
import { resolveLayer } from './rootfs.ts'
import { imageSpecs, type ImageSpec } from './spec.ts'
import { writeTar } from './tar.ts'
import { ensureNodeBundle, NODE_BUNDLE_PATH } from '../node-image/src/local-mesh/node-bundle.ts'

export interface BuiltImage {
  /** e.g. 'docker.io/dawn/node:0.1.0' */
  name: string
  /** Absolute path of the OCI archive. */
  archive: string
  /** The manifest digest, sha256:… */
  digest: string
}

export interface BuildOptions {
  /** Image names (default: all). Short Docker names are accepted: dawn/node:0.1.0. */
  names?: string[]
  signal?: AbortSignal
  log?: (message: string) => void
}

export interface BuildContext {
  /** Repository root the `repo` contents and images/pause.c are read from. */
  root: string
  /** The images cache directory. */
  dir: string
  inputs: HostInputs
  /** Every entry's mtime and the config's `created`: SOURCE_DATE_EPOCH, or 0. */
  mtime: number
  signal?: AbortSignal
  log: (message: string) => void
}

/** The builder's own code is an input too: a change to how bytes are written rebuilds. */
const codeHash = async (files: string[]): Promise<string> => {
  const h = createHash('sha256')
  for (const f of files) h.update(f).update(await readFile(new URL(f, import.meta.url)))
  return h.digest('hex')
}
const LAYER_CODE = ['./tar.ts', './rootfs.ts', './prepare.ts']
const IMAGE_CODE = ['./oci-archive.ts', './build.ts']
const LAYER_GRACE_MS = 60 * 60 * 1000

export class UnknownImageError extends Error {
  constructor (name: string, known: string[]) {
    super(`unknown image "${name}"; known images:\n  ${known.join('\n  ')}`)
    this.name = 'UnknownImageError'
  }
}

export const imagesDir = (): string => join(cacheDir(), 'images')
const sha = (s: string): string => createHash('sha256').update(s).digest('hex')
const slug = (name: string): string => name.replace(/[^A-Za-z0-9._-]+/g, '_')
/** What CRI does to a Docker Hub name: `dawn/node:0.1.0` → `docker.io/dawn/node:0.1.0`. */
export function normaliseName (name: string): string {
  const first = name.slice(0, name.indexOf('/'))
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  if (hasRegistry) return name
  return `docker.io/${name.includes('/') ? name : `library/${name}`}`
}

export function selectSpecs (specs: ImageSpec[], names: string[] | undefined): ImageSpec[] {
  if (names === undefined || names.length === 0) return specs
  return names.map(n => {
    const spec = specs.find(s => s.name === normaliseName(n))
    if (spec === undefined) throw new UnknownImageError(n, specs.map(s => s.name))
    return spec
  })
}

async function readJson<T> (file: string): Promise<T | undefined> {
  try { return JSON.parse(await readFile(file, 'utf8')) as T } catch { return undefined }
}
async function writeJson (file: string, value: unknown): Promise<void> {
  await writeFile(`${file}.tmp-${process.pid}`, JSON.stringify(value, null, 2) + '\n')
  await rename(`${file}.tmp-${process.pid}`, file)
}
const exists = async (file: string): Promise<boolean> => await stat(file).then(() => true, () => false)

interface ArchiveMeta { name: string, digest: string, layers: string[] }

/** Builds (or finds in the cache) one image's archive. */
export async function buildImage (spec: ImageSpec, ctx: BuildContext): Promise<BuiltImage> {
  await mkdir(join(ctx.dir, 'layers'), { recursive: true })
  const scratch = await mkdtemp(join(ctx.dir, 'tmp-'))
  try {
    const rctx = { root: ctx.root, inputs: ctx.inputs, npm: ctx.inputs.npm, gcc: ctx.inputs.gcc, scratch, signal: ctx.signal }
    const layers = []
    const salt = await codeHash(LAYER_CODE)
    for (const l of spec.layers) layers.push({ name: l.name, ...await resolveLayer(l, { mtime: ctx.mtime, salt }, rctx) })
    const key = sha(JSON.stringify({ code: await codeHash(IMAGE_CODE), name: spec.name, config: spec.config, mtime: ctx.mtime, layers: layers.map(l => l.key) }))
    const base = join(ctx.dir, `${slug(spec.name)}-${key.slice(0, 20)}`)
    const archive = `${base}.tar`
    const cached = await readJson<ArchiveMeta>(`${base}.json`)
    if (cached !== undefined && await exists(archive)) {
      ctx.log(`${spec.name}: up to date (${archive})`)
      return { name: spec.name, archive, digest: cached.digest }
    }

    const blobs: LayerBlob[] = []
    for (const l of layers) {
      ctx.signal?.throwIfAborted()
      const file = join(ctx.dir, 'layers', `${l.key}.tar`)
      let meta = await readJson<{ digest: string, size: number }>(join(ctx.dir, 'layers', `${l.key}.json`))
      if (meta === undefined || !await exists(file)) {
        const t0 = Date.now()
        const entries = await l.entries()
        meta = await writeTar(entries, file, { mtime: ctx.mtime, signal: ctx.signal })
        await writeJson(join(ctx.dir, 'layers', `${l.key}.json`), meta)
        ctx.log(`${spec.name}: layer ${l.name}: ${entries.length} entries, ${mib(meta.size)} in ${Date.now() - t0} ms`)
      }
      blobs.push({ name: l.name, file, ...meta })
    }
    const t0 = Date.now()
    const result = await writeOciArchive({ name: spec.name, config: spec.config, layers: blobs, mtime: ctx.mtime }, archive, ctx.signal)
    await writeJson(`${base}.json`, { name: spec.name, digest: result.manifestDigest, layers: layers.map(l => l.key) } satisfies ArchiveMeta)
    ctx.log(`${spec.name}: archive ${mib(result.size)} in ${Date.now() - t0} ms (${result.manifestDigest})`)
    await pruneArchives(ctx.dir, spec.name, base)
    return { name: spec.name, archive, digest: result.manifestDigest }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`

/** Earlier archives of the same image (each a few hundred MB). */
async function pruneArchives (dir: string, name: string, keep: string): Promise<void> {
  const prefix = `${slug(name)}-`
  for (const f of await readdir(dir)) {
    const full = join(dir, f)
    if (f.startsWith(prefix) && /^[0-9a-f]{20}\.(tar|json)$/.test(f.slice(prefix.length)) && !full.startsWith(`${keep}.`)) await rm(full, { force: true })
  }
}

/** Layers and scratch dirs no archive uses any more; recent ones may belong to a concurrent build. */
async function pruneLayers (dir: string): Promise<void> {
  const used = new Set<string>()
  for (const f of await readdir(dir)) {
    if (f.endsWith('.json')) for (const k of (await readJson<ArchiveMeta>(join(dir, f)))?.layers ?? []) used.add(k)
  }
  const old = async (p: string): Promise<boolean> => Date.now() - (await stat(p)).mtimeMs > LAYER_GRACE_MS
  for (const f of await readdir(join(dir, 'layers'))) {
    const p = join(dir, 'layers', f)
    if (!used.has(f.replace(/\.(tar|json)$/, '').replace(/\.tar\.tmp-\d+$/, '')) && await old(p)) await rm(p, { force: true })
  }
  for (const f of await readdir(dir)) {
    if (f.startsWith('tmp-') && await old(join(dir, f))) await rm(join(dir, f), { recursive: true, force: true })
  }
}

/**
 * Builds the named images (default: all), reusing cached archives whose inputs are unchanged.
 * Throws MissingInputError (naming the install command) before building anything if a
 * host input is missing, and UnknownImageError for a name the spec does not define.
 */
export async function buildImages (opts: BuildOptions = {}): Promise<BuiltImage[]> {
  const log = opts.log ?? ((): void => {})
  const pins = readPins()
  const specs = selectSpecs(imageSpecs(pins), opts.names)
  // The node image copies the node bundle, which is built, not committed: never a stale one.
  if (specs.some(s => s.layers.some(l => l.contents.some(c => c.kind === 'repo' && c.paths.includes(NODE_BUNDLE_PATH))))) await ensureNodeBundle(log)
  const epoch = process.env.SOURCE_DATE_EPOCH
  const ctx: BuildContext = {
    root: REPO_ROOT,
    dir: imagesDir(),
    inputs: resolveInputs(specs, pins),
    mtime: epoch === undefined || epoch === '' ? 0 : Number.parseInt(epoch, 10),
    log,
    ...(opts.signal === undefined ? {} : { signal: opts.signal })
  }
  if (!Number.isSafeInteger(ctx.mtime) || ctx.mtime < 0) throw new Error(`SOURCE_DATE_EPOCH must be a number of seconds, got "${epoch}"`)
  const built: BuiltImage[] = []
  for (const spec of specs) built.push(await buildImage(spec, ctx))
  await pruneLayers(ctx.dir)
  return built
}
