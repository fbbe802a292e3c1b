// `npm run e2e` runs the e2e specs on the project's own single-node cluster (root, no
// Docker). `npm run e2e -- --kind [--name N]` runs the same specs, the chaos scenarios
// among them, on a kind cluster in one whole run: it creates a multi-node cluster (or
// reuses one of that name), builds the images with Docker from the Dockerfiles, loads them
// into kind, installs the chart with its sample network, waits for the network's Ready
// condition, and points the specs at the cluster. Without Docker, kind or helm it fails at
// once and says what is missing. CI cannot run this path: its machines have no Docker.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { helmBinary } from '../../operator/src/install/helm.ts'
import { KIND_CHART_ENV, KIND_KUBECONFIG_ENV, kubectlBinary } from './target.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const HERE = dirname(fileURLToPath(import.meta.url))
const KIND_VERSION = 'v0.33.0'
const UPSTREAM_KUBO = 'ipfs/kubo:v0.38.1'
const LATE_KUBO = 'dawn/kubo:v0.38.1-late'

export class MissingToolError extends Error {
  constructor (message: string) { super(message); this.name = 'MissingToolError' }
}

const say = (m: string): void => { process.stderr.write(`e2e: ${m}\n`) }

/** The nodes of a kind cluster this runner creates: the chaos scenarios spread pods over the workers. */
const KIND_CONFIG = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
  - role: control-plane
  - role: worker
  - role: worker
`
/** The chart's sample network, as a user would install it (charts/dawn values `sample.*`). */
const SAMPLE = { namespace: 'dawn-system', name: 'demo', replicas: 3 }

function sh (cmd: string, args: string[], opts: { input?: string, quiet?: boolean, env?: NodeJS.ProcessEnv } = {}): { ok: boolean, out: string, stdout: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', input: opts.input, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
  if (r.error !== undefined) return { ok: false, out: r.error.message, stdout: '' }
  if (opts.quiet !== true && r.status !== 0) process.stderr.write(r.stderr)
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`, stdout: r.stdout }
}

function must (cmd: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): string {
  say(`${cmd} ${args.join(' ')}`)
  const r = sh(cmd, args, { input, ...(env === undefined ? {} : { env }) })
  if (!r.ok) throw new Error(`${cmd} ${args.join(' ')} failed`)
  return r.out
}

/** Like must, but only stdout (helm logs to stderr). */
function mustStdout (cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  say(`${cmd} ${args.join(' ')}`)
  const r = sh(cmd, args, env === undefined ? {} : { env })
  if (!r.ok) throw new Error(`${cmd} ${args.join(' ')} failed`)
  return r.stdout
}

/** The pinned helm (scripts/fetch-helm.sh), else one on PATH; undefined if neither runs. */
function findHelm (): string | undefined {
  try { return helmBinary() } catch { /* not built */ }
  return sh('helm', ['version', '--short'], { quiet: true }).ok ? 'helm' : undefined
}

/** Docker with a running engine, kind and helm; otherwise a MissingToolError naming every fix. */
export function checkKindTools (): { helm: string } {
  const missing: string[] = []
  const docker = sh('docker', ['version', '--format', '{{.Server.Version}}'], { quiet: true })
  if (!docker.ok) missing.push(`Docker with a running engine (\`docker version\` failed: ${docker.out.trim().split('\n').pop() ?? ''})`)
  const kind = sh('kind', ['version'], { quiet: true })
  if (!kind.ok) missing.push(`kind (not found on PATH; install it with: go install sigs.k8s.io/kind@${KIND_VERSION})`)
  const helm = findHelm()
  if (helm === undefined) missing.push('helm (build the pinned one with: sh scripts/fetch-helm.sh, or put helm on PATH)')
  if (missing.length > 0 || helm === undefined) {
    throw new MissingToolError(`npm run e2e -- --kind needs:\n  - ${missing.join('\n  - ')}\n` +
      'Without Docker, run the same specs on the project\'s own cluster instead (as root): npm run e2e')
  }
  return { helm }
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
  const { helm } = checkKindTools()
  const clusters = must('kind', ['get', 'clusters']).split('\n').map(s => s.trim())
  if (clusters.includes(name)) say(`reusing kind cluster ${name}`)
  else must('kind', ['create', 'cluster', '--name', name, '--config', '-', '--wait', '180s'], KIND_CONFIG)
  must('docker', ['build', '-t', 'dawn/node:0.1.0', '-f', 'node-image/Dockerfile', '.'])
  must('docker', ['build', '-t', 'dawn/operator:0.1.0', '-f', 'Dockerfile', '.'])
  must('docker', ['pull', UPSTREAM_KUBO])
  must('docker', ['build', '-t', LATE_KUBO, '-'], LATE_KUBO_DOCKERFILE)
  must('kind', ['load', 'docker-image', '--name', name, 'dawn/node:0.1.0', 'dawn/operator:0.1.0', UPSTREAM_KUBO, LATE_KUBO])
  const dir = join(tmpdir(), 'dawn-e2e-kind')
  mkdirSync(dir, { recursive: true })
  const kubeconfig = join(dir, `${name}.kubeconfig`)
  writeFileSync(kubeconfig, must('kind', ['get', 'kubeconfig', '--name', name]), { mode: 0o600 })
  installChart(helm, kubeconfig)
  return kubeconfig
}

/**
 * The chart as a user installs it, then its sample network applied and the network's
 * conditions waited on. The chart creates the sample only on a first install (a hook), so
 * it is rendered from the chart and applied here: a reused cluster gets it back too.
 * --take-ownership and --force-conflicts: the e2e helm spec hands the CRDs to a release of
 * its own, and an earlier run may have applied manifests/install.yaml with kubectl.
 */
function installChart (helm: string, kubeconfig: string): void {
  const env = { ...process.env, KUBECONFIG: kubeconfig }
  const release = ['dawn', 'charts/dawn', '-n', SAMPLE.namespace]
  must(helm, ['upgrade', '--install', ...release, '--create-namespace', '--take-ownership', '--force-conflicts', '--wait', '--timeout', '5m'], undefined, env)
  const sample = mustStdout(helm, ['template', ...release, '--set', 'sample.enabled=true', '--set', `sample.name=${SAMPLE.name}`,
    '--set', `sample.replicas=${SAMPLE.replicas}`, '--show-only', 'templates/sample.yaml'], env)
  const kubectl = kubectlBinary({ kind: 'kind', kubeconfig })
  must(kubectl, ['apply', '--server-side', '-f', '-'], sample, env)
  must(kubectl, ['-n', SAMPLE.namespace, 'wait', '--for=condition=Ready', `dawnnetwork/${SAMPLE.name}`, '--timeout=300s'], undefined, env)
  must(kubectl, ['-n', SAMPLE.namespace, 'wait', '--for=condition=Degraded=False', `dawnnetwork/${SAMPLE.name}`, '--timeout=120s'], undefined, env)
}

function main (): number {
  const { values } = parseArgs({ options: { kind: { type: 'boolean', default: false }, name: { type: 'string', default: 'dawn-e2e' } } })
  const env = { ...process.env }
  let files: string[] = []
  if (values.kind) {
    env[KIND_KUBECONFIG_ENV] = prepareKind(values.name)
    env[KIND_CHART_ENV] = '1'
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
