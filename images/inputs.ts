// Where the host-side inputs of an image build are, and how to get each one that is missing.
// The pinned versions are read from the scripts that fetch them (scripts/node.sh,
// scripts/fetch-kubo.sh) with the same environment overrides, so the pins live in one place.
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Content, ImageSpec, Pins } from './spec.ts'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const FETCH_KUBO_COMMAND = 'sh scripts/fetch-kubo.sh'
export const DEBIAN_PACKAGES_COMMAND = 'sh scripts/install-debian-packages.sh'
/** ./dawn setup fetches the pinned Node only when the system one is older than 22; this always does. */
export const FETCH_NODE_COMMAND = './dawn setup (or, with a system Node >= 22: DAWN_USE_SYSTEM_NODE=never sh scripts/node.sh --version)'
export const GCC_COMMAND = 'apt-get install -y --no-install-recommends gcc libc6-dev'

export class MissingInputError extends Error {
  readonly missing: Array<{ what: string, install: string }>
  constructor (missing: Array<{ what: string, install: string }>) {
    super('cannot build images; missing inputs:\n' + missing.map(m => `  ${m.what}\n    install with: ${m.install}`).join('\n'))
    this.name = 'MissingInputError'
    this.missing = missing
  }
}

export function cacheDir (): string {
  const dir = process.env.DAWN_CACHE
  return dir === undefined || dir === '' ? join(homedir(), '.cache', 'dawn') : dir
}

/** The `VAR="${VAR:-default}"` line's default in a shell script, overridable by the same variable. */
function shellPin (script: string, variable: string, envVar: string): string {
  const fromEnv = process.env[envVar]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  const text = readFileSync(join(REPO_ROOT, script), 'utf8')
  const pin = new RegExp(`^${variable}="\\$\\{${envVar}:-([^}"]+)\\}"`, 'm').exec(text)?.[1]
  if (pin === undefined) throw new Error(`${script} has no ${variable}="\${${envVar}:-...}" line to read the pinned version from`)
  return pin
}

export function readPins (): Pins {
  return {
    node: shellPin('scripts/node.sh', 'DAWN_NODE_VERSION', 'DAWN_NODE_VERSION'),
    kubo: shellPin('scripts/fetch-kubo.sh', 'KUBO_VERSION', 'DAWN_KUBO_VERSION')
  }
}

export interface HostInputs {
  node: string
  kubo: string
  busybox: string
  /** Unused (empty) unless a requested image needs it. */
  gcc: string
  npm: string
}

const executable = (p: string): boolean => {
  try { accessSync(p, fsConstants.X_OK); return true } catch { return false }
}
const onPath = (cmd: string): string | undefined =>
  (process.env.PATH ?? '').split(':').filter(d => d !== '').map(d => join(d, cmd)).find(executable)

/**
 * Finds what `specs` need, checking everything before anything is built so a missing tool
 * fails at once (naming the command that installs it), not after minutes of work.
 * Paths mirror the fetch scripts: $DAWN_CACHE/node-<v>/bin/node (not the system Node: the
 * image carries the pinned one) and $DAWN_CACHE/kubo-<v>/bin/ipfs or $DAWN_KUBO_BIN.
 */
export function resolveInputs (specs: ImageSpec[], pins: Pins): HostInputs {
  const kinds = new Set<Content['kind']>(specs.flatMap(s => s.layers.flatMap(l => l.contents.map(c => c.kind))))
  const missing: Array<{ what: string, install: string }> = []
  const need = (kind: Content['kind'], path: string | undefined, what: string, install: string): string => {
    if (!kinds.has(kind)) return ''
    if (path === undefined || !executable(path)) { missing.push({ what: `${what} (${path ?? 'not on PATH'})`, install }); return '' }
    return path
  }
  const kuboOverride = process.env.DAWN_KUBO_BIN
  const inputs: HostInputs = {
    node: need('node', join(cacheDir(), `node-${pins.node}`, 'bin', 'node'), `Node.js ${pins.node}`, FETCH_NODE_COMMAND),
    kubo: need('kubo', kuboOverride !== undefined && kuboOverride !== '' ? kuboOverride : join(cacheDir(), `kubo-${pins.kubo}`, 'bin', 'ipfs'),
      `Kubo ${pins.kubo}`, FETCH_KUBO_COMMAND),
    busybox: need('busybox', '/bin/busybox', 'static busybox (Debian busybox-static)', DEBIAN_PACKAGES_COMMAND),
    gcc: need('pause', onPath('gcc'), 'gcc (to compile images/pause.c)', GCC_COMMAND),
    npm: need('npm-deps', onPath('npm'), 'npm', 'apt-get install -y npm (or any Node.js install that has npm)')
  }
  if (kinds.has('node') && onPath('ldd') === undefined) missing.push({ what: 'ldd (Debian libc-bin)', install: 'apt-get install -y libc-bin' })
  if (missing.length > 0) throw new MissingInputError(missing)
  return inputs
}
