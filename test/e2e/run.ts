// `npm run e2e` runs the e2e specs on the project's own single-node cluster (root, no
// Docker). `npm run e2e -- --kind [--name N]` runs the same specs on a kind cluster: it
// creates the cluster (or reuses one of that name), builds the images with Docker from the
// Dockerfiles, loads them into kind, and points the specs at it. Without Docker or kind it
// fails at once and says what is missing.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { KIND_KUBECONFIG_ENV } from './target.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HERE = dirname(fileURLToPath(import.meta.url))
const KIND_VERSION = 'v0.33.0'
const UPSTREAM_KUBO = 'ipfs/kubo:v0.38.1'
const LATE_KUBO = 'dawn/kubo:v0.38.1-late'

export class MissingToolError extends Error {
  constructor (message: string) { super(message); this.name = 'MissingToolError' }
}

const say = (m: string): void => { process.stderr.write(`e2e: ${m}\n`) }

function sh (cmd: string, args: string[], opts: { input?: string, quiet?: boolean } = {}): { ok: boolean, out: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', input: opts.input, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
  if (r.error !== undefined) return { ok: false, out: r.error.message }
  if (opts.quiet !== true && r.status !== 0) process.stderr.write(r.stderr)
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` }
}

function must (cmd: string, args: string[], input?: string): string {
  say(`${cmd} ${args.join(' ')}`)
  const r = sh(cmd, args, { input })
  if (!r.ok) throw new Error(`${cmd} ${args.join(' ')} failed`)
  return r.out
}

/** Docker with a running engine, and kind; otherwise a MissingToolError naming both fixes. */
export function checkKindTools (): void {
  const missing: string[] = []
  const docker = sh('docker', ['version', '--format', '{{.Server.Version}}'], { quiet: true })
  if (!docker.ok) missing.push(`Docker with a running engine (\`docker version\` failed: ${docker.out.trim().split('\n').pop() ?? ''})`)
  const kind = sh('kind', ['version'], { quiet: true })
  if (!kind.ok) missing.push(`kind (not found on PATH; install it with: go install sigs.k8s.io/kind@${KIND_VERSION})`)
  if (missing.length > 0) {
    throw new MissingToolError(`npm run e2e -- --kind needs:\n  - ${missing.join('\n  - ')}\n` +
      'Without Docker, run the same specs on the project\'s own cluster instead (as root): npm run e2e')
  }
}

/** The test-only late-Kubo image, from the upstream Kubo image: `ipfs daemon` starts 20 s late. */
const LATE_KUBO_DOCKERFILE = `FROM ${UPSTREAM_KUBO}
USER root
RUN mv /usr/local/bin/ipfs /usr/local/lib/ipfs-real \\
 && printf '#!/bin/sh\\n[ "$1" = daemon ] && sleep 20\\nexec /usr/local/lib/ipfs-real "$@"\\n' > /usr/local/bin/ipfs \\
 && chmod 0755 /usr/local/bin/ipfs
USER ipfs
`

function prepareKind (name: string): string {
  checkKindTools()
  const clusters = must('kind', ['get', 'clusters']).split('\n').map(s => s.trim())
  if (clusters.includes(name)) say(`reusing kind cluster ${name}`)
  else must('kind', ['create', 'cluster', '--name', name, '--wait', '180s'])
  must('docker', ['build', '-t', 'dawn/node:0.1.0', '-f', 'node-image/Dockerfile', '.'])
  must('docker', ['build', '-t', 'dawn/operator:0.1.0', '-f', 'Dockerfile', '.'])
  must('docker', ['pull', UPSTREAM_KUBO])
  must('docker', ['build', '-t', LATE_KUBO, '-'], LATE_KUBO_DOCKERFILE)
  must('kind', ['load', 'docker-image', '--name', name, 'dawn/node:0.1.0', 'dawn/operator:0.1.0', UPSTREAM_KUBO, LATE_KUBO])
  const dir = join(tmpdir(), 'dawn-e2e-kind')
  mkdirSync(dir, { recursive: true })
  const kubeconfig = join(dir, `${name}.kubeconfig`)
  writeFileSync(kubeconfig, must('kind', ['get', 'kubeconfig', '--name', name]), { mode: 0o600 })
  return kubeconfig
}

function main (): number {
  const { values } = parseArgs({ options: { kind: { type: 'boolean', default: false }, name: { type: 'string', default: 'dawn-e2e' } } })
  const env = { ...process.env }
  let files: string[] = []
  if (values.kind) {
    env[KIND_KUBECONFIG_ENV] = prepareKind(values.name)
    // zz-down tears down the project's own cluster; a kind cluster stays for the next run.
    files = readdirSync(HERE).filter(f => f.endsWith('.test.ts') && f !== 'zz-down.test.ts').map(f => `test/e2e/${f}`)
  }
  const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--project', 'e2e', ...files], { cwd: ROOT, env, stdio: 'inherit' })
  return r.status ?? 1
}

try {
  process.exitCode = main()
} catch (e) {
  say(e instanceof Error ? e.message : String(e))
  process.exitCode = 1
}
