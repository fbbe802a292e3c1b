// Runs the pinned helm (test/controlplane/versions.env, built by scripts/fetch-helm.sh)
// for the generators and the chart tests. Never a helm from PATH: the output of
// `helm template` is checked in (manifests/install.yaml), so its version is pinned.
import { spawn } from 'node:child_process'
import { accessSync, constants, readFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..', '..')
export const CHARTS_DIR = join(REPO_ROOT, 'charts')
export const FETCH_HELM_COMMAND = 'sh scripts/fetch-helm.sh'

export class HelmNotFoundError extends Error {
  override name = 'HelmNotFoundError'
}

/** HELM_VERSION from test/controlplane/versions.env (the file that pins every version). */
export function pinnedHelmVersion (): string {
  const env = readFileSync(join(REPO_ROOT, 'test', 'controlplane', 'versions.env'), 'utf8')
  const m = /^HELM_VERSION=(\S+)$/m.exec(env)
  if (m?.[1] === undefined) throw new Error('test/controlplane/versions.env has no HELM_VERSION line')
  return process.env.DAWN_HELM_VERSION ?? m[1]
}

/** The helm binary: $DAWN_HELM_BIN, else the one fetch-helm.sh builds into the cache. */
export function helmBinary (): string {
  const version = pinnedHelmVersion()
  const bin = process.env.DAWN_HELM_BIN ?? join(process.env.DAWN_CACHE ?? join(homedir(), '.cache', 'dawn'), `helm-${version}`, 'bin', 'helm')
  try {
    accessSync(bin, constants.X_OK)
  } catch {
    throw new HelmNotFoundError(`helm ${version} not found at ${bin}; build it with: ${FETCH_HELM_COMMAND}`)
  }
  return bin
}

export interface HelmResult { code: number, stdout: string, stderr: string }

/**
 * Runs helm with an environment of its own: no HELM_* variables from the caller
 * (HELM_NAMESPACE would change what `helm template` renders) and empty config,
 * cache and data homes, so a user's repositories and plugins play no part.
 */
export async function runHelm (args: string[], options: { signal?: AbortSignal } = {}): Promise<HelmResult> {
  const bin = helmBinary()
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('HELM_') && k !== 'KUBECONFIG') env[k] = v
  const home = join(tmpdir(), 'dawn-helm-home')
  Object.assign(env, { HELM_CONFIG_HOME: join(home, 'config'), HELM_CACHE_HOME: join(home, 'cache'), HELM_DATA_HOME: join(home, 'data'), KUBECONFIG: join(home, 'no-kubeconfig') })
  return await new Promise((resolvePromise, reject) => {
    const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal === undefined ? {} : { signal: options.signal }) })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.once('error', reject)
    child.once('close', code => {
      resolvePromise({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') })
    })
  })
}

/** Runs helm and returns its stdout; a non-zero exit throws with helm's stderr. */
export async function helmOutput (args: string[], options: { signal?: AbortSignal } = {}): Promise<string> {
  const r = await runHelm(args, options)
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`)
  return r.stdout
}
