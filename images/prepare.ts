// The two inputs that need a build step before they can go into a layer: production npm
// dependencies and the pause binary. Each is built in a throwaway directory the caller
// removes once the layer is written; the layer cache (build.ts) keeps the result, keyed by
// what these functions' `*Key` counterparts hash, so a warm build runs neither.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NPM_CI_ARGS, WORKSPACES } from './spec.ts'

export interface PrepareContext {
  root: string
  npm: string
  gcc: string
  signal?: AbortSignal
}

export async function run (cmd: string, args: string[], opts: { cwd?: string, signal?: AbortSignal } = {}): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: opts.cwd, signal: opts.signal, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr.trim()}`))
      else resolve(stdout)
    })
  })
}

/** The files `npm ci` reads: the root manifest, the lockfile and every workspace's manifest. */
const npmInputs = (): string[] => ['package.json', 'package-lock.json', ...WORKSPACES.map(w => `${w}/package.json`)]
const npmArgs = (workspaces: string[]): string[] => ['ci', ...workspaces.map(w => `--workspace=${w}`), ...NPM_CI_ARGS]

/** npm's output is fixed by its inputs and npm's own version (which shapes node_modules/.package-lock.json). */
export async function npmDepsKey (workspaces: string[], ctx: PrepareContext): Promise<string> {
  const h = createHash('sha256')
  h.update(JSON.stringify({ npm: (await run(ctx.npm, ['--version'], { signal: ctx.signal })).trim(), args: npmArgs(workspaces) }))
  for (const f of npmInputs()) h.update(`\0${f}\0`).update(await readFile(join(ctx.root, f)))
  return h.digest('hex')
}

/**
 * Installs the production dependencies of `workspaces` into `dir`/node_modules, like the
 * Dockerfile's deps stage: a staging dir with only the manifests and the lockfile, so
 * nothing from the checkout's own node_modules (dev dependencies) can leak in.
 * --prefer-offline: the npm cache is normally warm, and the lockfile pins integrity hashes.
 */
export async function installNpmDeps (workspaces: string[], dir: string, ctx: PrepareContext): Promise<string> {
  for (const f of npmInputs()) {
    await mkdir(join(dir, f, '..'), { recursive: true })
    await copyFile(join(ctx.root, f), join(dir, f))
  }
  await run(ctx.npm, [...npmArgs(workspaces), '--prefer-offline', '--loglevel=error'], { cwd: dir, signal: ctx.signal })
  return join(dir, 'node_modules')
}

const PAUSE_SOURCE = 'images/pause.c'
/** -static: the pause image has no libc. -s: no symbols. Deterministic: gcc writes no timestamps. */
const GCC_ARGS = ['-static', '-Os', '-s', '-Wall', '-Werror', '-o']

export async function pauseKey (ctx: PrepareContext): Promise<string> {
  const version = (await run(ctx.gcc, ['--version'], { signal: ctx.signal })).split('\n')[0]
  return createHash('sha256').update(JSON.stringify({ version, args: GCC_ARGS }))
    .update(await readFile(join(ctx.root, PAUSE_SOURCE))).digest('hex')
}

export async function compilePause (dir: string, ctx: PrepareContext): Promise<string> {
  const out = join(dir, 'pause')
  await run(ctx.gcc, [...GCC_ARGS, out, join(ctx.root, PAUSE_SOURCE)], { cwd: dir, signal: ctx.signal })
  return out
}
