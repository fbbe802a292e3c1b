// Builds the shipped operator: operator/src/cli/main.ts and everything it imports, bundled by
// esbuild into one ES module, operator/dist/dawn-operator.mjs. Bundling drops what the
// operator never runs (type stripping, thousands of module records, unused exports) and
// needs no node_modules at run time. Next to it, a stamp records the hash of every input,
// of the lockfile, of this script and the esbuild version, so a stale bundle is detected.
//
//   sh scripts/node.sh operator/scripts/bundle.ts           build (always)
//   sh scripts/node.sh operator/scripts/bundle.ts --ensure  build only if missing or stale (bin/dawn-operator does this)
//   sh scripts/node.sh operator/scripts/bundle.ts --check   exit 1 if missing or stale, build nothing
//
// Self-contained (esbuild and node: only): the Dockerfile's build stage runs it alone.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BUNDLE_PATH = 'operator/dist/dawn-operator.mjs'
const STAMP_PATH = 'operator/dist/dawn-operator.stamp.json'
const ENTRY = 'operator/src/cli/main.ts'
/** Inputs outside the module graph that change what the bundle holds. */
const EXTRA_INPUTS = ['package-lock.json', 'operator/scripts/bundle.ts']

interface Stamp {
  /** For people; the lockfile hash among the inputs is what pins it. */
  esbuild: string
  /** Repository-relative path (or path relative to the root) → sha256 of its bytes. */
  inputs: Record<string, string>
  output: string
}

export class BundleToolMissingError extends Error {
  override name = 'BundleToolMissingError'
}

const sha = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex')
const hashFile = (path: string): string | undefined => {
  try { return sha(readFileSync(join(ROOT, path))) } catch { return undefined }
}

/** Why the bundle cannot be trusted, or undefined when it is fresh. */
export function staleReason (): string | undefined {
  const stampFile = join(ROOT, STAMP_PATH)
  if (!existsSync(join(ROOT, BUNDLE_PATH))) return `${BUNDLE_PATH} is missing`
  let stamp: Stamp
  try {
    stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as Stamp
  } catch {
    return `${STAMP_PATH} is missing or unreadable`
  }
  if (hashFile(BUNDLE_PATH) !== stamp.output) return `${BUNDLE_PATH} was changed after it was built`
  for (const [path, hash] of Object.entries(stamp.inputs)) {
    if (hashFile(path) !== hash) return `${path} changed since the bundle was built`
  }
  return undefined
}

/** Builds the bundle and its stamp; both land by rename, so a concurrent reader sees whole files. */
export async function buildBundle (): Promise<{ bytes: number, inputs: number }> {
  let esbuild: typeof import('esbuild')
  try {
    esbuild = await import('esbuild')
  } catch {
    throw new BundleToolMissingError('esbuild is not installed: run `npm ci` (it is a devDependency of operator/)')
  }
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    write: false,
    outfile: BUNDLE_PATH,
    metafile: true,
    // Names stay readable in stack traces and `constructor.name` checks; minifying saved no RSS (measured).
    minify: false,
    legalComments: 'eof',
    logLevel: 'silent',
    // CommonJS dependencies call require() for Node built-ins; an ES module has none of its own.
    banner: { js: "import { createRequire as __dawnCreateRequire } from 'node:module';\nconst require = __dawnCreateRequire(import.meta.url);" }
  })
  if (result.errors.length > 0) throw new Error(`esbuild: ${result.errors.map(e => e.text).join('; ')}`)
  const file = result.outputFiles[0]
  if (file === undefined) throw new Error('esbuild wrote no output')
  const inputs: Record<string, string> = {}
  for (const path of [...Object.keys(result.metafile.inputs), ...EXTRA_INPUTS].sort()) {
    const h = hashFile(path)
    if (h === undefined) throw new Error(`cannot read bundle input ${path}`)
    inputs[path] = h
  }
  const stamp: Stamp = { esbuild: esbuild.version, inputs, output: sha(file.contents) }
  mkdirSync(join(ROOT, dirname(BUNDLE_PATH)), { recursive: true })
  const tmp = `.${process.pid}.tmp`
  writeFileSync(join(ROOT, BUNDLE_PATH + tmp), file.contents)
  writeFileSync(join(ROOT, STAMP_PATH + tmp), JSON.stringify(stamp, null, 1) + '\n')
  renameSync(join(ROOT, BUNDLE_PATH + tmp), join(ROOT, BUNDLE_PATH))
  renameSync(join(ROOT, STAMP_PATH + tmp), join(ROOT, STAMP_PATH))
  return { bytes: file.contents.byteLength, inputs: Object.keys(inputs).length }
}

/** Builds unless the bundle is fresh; returns why it was rebuilt (undefined: it was fresh). */
export async function ensureBundle (): Promise<string | undefined> {
  const why = staleReason()
  if (why !== undefined) await buildBundle()
  return why
}

async function main (argv: string[]): Promise<number> {
  const mode = argv[0] ?? '--build'
  const say = (m: string): void => { process.stderr.write(`operator bundle: ${m}\n`) }
  if (mode === '--check') {
    const why = staleReason()
    if (why !== undefined) { say(`stale: ${why}; rebuild with: sh scripts/node.sh operator/scripts/bundle.ts`); return 1 }
    return 0
  }
  if (mode === '--ensure') {
    const why = await ensureBundle()
    if (why !== undefined) say(`rebuilt ${BUNDLE_PATH} (${why})`)
    return 0
  }
  if (mode !== '--build') { say(`unknown option ${mode}; use --build, --ensure or --check`); return 2 }
  const r = await buildBundle()
  say(`wrote ${BUNDLE_PATH}: ${(r.bytes / 1024).toFixed(0)} KiB from ${r.inputs} inputs`)
  return 0
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(code => { process.exitCode = code }, (e: unknown) => {
    process.stderr.write(`operator bundle: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 1
  })
}

/** For tests: where the files live. */
export const bundlePaths = { root: ROOT, bundle: join(ROOT, BUNDLE_PATH), stamp: join(ROOT, STAMP_PATH), relative: (p: string): string => relative(ROOT, p) }
