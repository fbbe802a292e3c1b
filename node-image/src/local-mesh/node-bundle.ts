// The node as one ESM file (esbuild), which is what `./dawn mesh`, the local mesh and the
// node image run: a bundle loads less source and fewer module records than 3,600 files run
// through type stripping (measured: ~60 MiB less RSS per idle node; bench `footprint`).
// It lives in node-image/dist/ (ignored by git) next to a stamp that holds the hash of
// every input file; a launcher calls ensureNodeBundle(), which rebuilds when any input
// changed, so a stale bundle never runs. esbuild is a development dependency, imported
// only here and only when a build is needed.
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { relative, resolve } from 'node:path'
import { createRequire } from 'node:module'
import { patchPlugin } from './bundle-patches.ts'

const NODE_IMAGE = fileURLToPath(new URL('../../', import.meta.url))
export const NODE_SOURCE_ENTRY = fileURLToPath(new URL('../cli/main.ts', import.meta.url))
/** The bundle, relative to the repository root; the node image copies it to the same path under /app. */
export const NODE_BUNDLE_PATH = 'node-image/dist/dawn-node.mjs'
export const NODE_BUNDLE = resolve(NODE_IMAGE, '..', NODE_BUNDLE_PATH)

/** What is bundled and where it goes; tests bundle a small tree of their own. */
export interface BundleLayout {
  /** Input paths in the stamp are relative to this directory. */
  root: string
  entry: string
  out: string
}

export const NODE_BUNDLE_LAYOUT: BundleLayout = { root: resolve(NODE_IMAGE, '..'), entry: NODE_SOURCE_ENTRY, out: NODE_BUNDLE }
const PATCHES_FILE = fileURLToPath(new URL('./bundle-patches.ts', import.meta.url))
const stampOf = (layout: BundleLayout): string => `${layout.out}.inputs.json`
/** Bumped when the options below change, so an old stamp never vouches for a new build. */
const BUILD_FORMAT = 3

/**
 * Some dependencies are CommonJS and call `require`; in an ESM bundle that name does not
 * exist, so the bundle defines it first.
 */
const CJS_BANNER = "import { createRequire as __dawnCreateRequire } from 'node:module'; const require = __dawnCreateRequire(import.meta.url);"

interface Stamp {
  format: number
  esbuild: string
  /** Repository-relative path → sha256 of the file's bytes. */
  inputs: Record<string, string>
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

async function readStamp (layout: BundleLayout): Promise<Stamp | undefined> {
  try {
    return JSON.parse(await readFile(stampOf(layout), 'utf8')) as Stamp
  } catch {
    return undefined
  }
}

/** Why the bundle must be rebuilt, or undefined when it matches every input it was built from. */
export async function bundleStaleReason (layout: BundleLayout = NODE_BUNDLE_LAYOUT): Promise<string | undefined> {
  const stamp = await readStamp(layout)
  if (stamp?.format !== BUILD_FORMAT) return 'no bundle built yet'
  const esbuild = (createRequire(import.meta.url)('esbuild/package.json') as { version: string }).version
  if (stamp.esbuild !== esbuild) return `esbuild is now ${esbuild} (the bundle was built by ${stamp.esbuild})`
  try {
    await readFile(layout.out)
  } catch {
    return `${relative(layout.root, layout.out)} is missing`
  }
  for (const [path, hash] of Object.entries(stamp.inputs)) {
    let bytes: Uint8Array
    try {
      bytes = await readFile(resolve(layout.root, path))
    } catch {
      return `${path} is gone`
    }
    if (sha256(bytes) !== hash) return `${path} changed`
  }
  return undefined
}

/** Builds the bundle and its stamp (written last, each by rename, so a crash leaves it stale). */
export async function buildNodeBundle (layout: BundleLayout = NODE_BUNDLE_LAYOUT): Promise<{ bytes: number, inputs: number, ms: number }> {
  const started = Date.now()
  const esbuild = await import('esbuild')
  const patches = patchPlugin()
  const result = await esbuild.build({
    entryPoints: [layout.entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    legalComments: 'none',
    // The OpenTelemetry SDK is a third of the bundle and loads only when OTEL_* asks for
    // tracing (tracing/otel.ts): it stays in node_modules, which the image and the
    // checkout both have, so an untraced node does not hold its source (1.7 MiB each).
    external: ['@opentelemetry/sdk-node'],
    banner: { js: CJS_BANNER },
    metafile: true,
    write: false,
    logLevel: 'error',
    absWorkingDir: layout.root,
    plugins: [patches.plugin]
  })
  if (layout === NODE_BUNDLE_LAYOUT) patches.check()
  const [file] = result.outputFiles
  if (file === undefined) throw new Error('esbuild wrote no bundle')
  const inputs: Record<string, string> = {}
  // The patch list shapes the output too.
  for (const path of [...Object.keys(result.metafile.inputs), relative(layout.root, PATCHES_FILE)].sort()) inputs[path] = sha256(await readFile(resolve(layout.root, path)))
  const stamp: Stamp = { format: BUILD_FORMAT, esbuild: esbuild.version, inputs }
  const stampFile = stampOf(layout)
  // Own temporary names: two launchers may build at once, and each rename is whole.
  const tmp = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  await mkdir(resolve(layout.out, '..'), { recursive: true })
  await writeFile(`${layout.out}${tmp}`, file.contents)
  await rename(`${layout.out}${tmp}`, layout.out)
  await writeFile(`${stampFile}${tmp}`, JSON.stringify(stamp, null, 1) + '\n')
  await rename(`${stampFile}${tmp}`, stampFile)
  return { bytes: file.contents.byteLength, inputs: Object.keys(inputs).length, ms: Date.now() - started }
}

/** The bundle's path, rebuilt first when any input changed since it was built. */
export async function ensureNodeBundle (log: (message: string) => void = () => {}, layout: BundleLayout = NODE_BUNDLE_LAYOUT): Promise<string> {
  const stale = await bundleStaleReason(layout)
  if (stale !== undefined) {
    log(`building the node bundle (${stale})`)
    const built = await buildNodeBundle(layout)
    log(`built ${relative(layout.root, layout.out)}: ${(built.bytes / 1048576).toFixed(1)} MiB from ${built.inputs} files in ${built.ms} ms`)
  }
  return layout.out
}
