// Renders the Dockerfiles Docker users build from images/spec.ts, so Docker's image and
// ours share user, env, workdir, ports, entrypoint, cmd, npm flags and app files. Docker
// keeps its familiar shape: a node:<major>-bookworm-slim deps stage runs `npm ci`, the final
// stage copies node_modules and the sources. A unit test fails when a committed Dockerfile
// differs from this output.
import { APP_DIR, NPM_CI_ARGS, WORKSPACES, type ImageSpec, type Pins } from './spec.ts'
import { BUNDLE_PATH } from '../operator/scripts/bundle.ts'

export const GEN_DOCKERFILES_COMMAND = 'npm run gen:dockerfiles'

const quote = (v: string): string => /^[\w./:=,+-]+$/.test(v) ? v : JSON.stringify(v)
const execForm = (args: string[]): string => `[${args.map(a => JSON.stringify(a)).join(', ')}]`

/** The Dockerfile of `spec`, or undefined for images built only without Docker (Kubo, pause). */
export function renderDockerfile (spec: ImageSpec, pins: Pins): string | undefined {
  if (spec.dockerfile === undefined) return undefined
  const from = `node:${pins.node.replace(/\..*$/, '')}-bookworm-slim`
  if (spec.layers.some(l => l.contents.some(c => c.kind === 'operator-bundle'))) return renderBundleDockerfile(spec, from)
  const deps = spec.layers.flatMap(l => l.contents).filter(c => c.kind === 'npm-deps')
  const dep = deps[0]
  const repo = spec.layers.flatMap(l => l.contents).filter(c => c.kind === 'repo')
  const unsupported = spec.layers.flatMap(l => l.contents).filter(c => !['accounts', 'dir', 'busybox', 'node', 'npm-deps', 'repo'].includes(c.kind))
  // The base image provides accounts, /tmp, a shell and Node; anything else would be lost.
  if (unsupported.length > 0 || dep === undefined || deps.length !== 1 || dep.dir !== APP_DIR || repo.some(r => r.dir !== APP_DIR)) {
    throw new Error(`${spec.name}: the Dockerfile renderer supports node-based images with one npm-deps content and repo files in ${APP_DIR}`)
  }
  const c = spec.config
  const lines = [
    `# GENERATED from images/spec.ts by \`${GEN_DOCKERFILES_COMMAND}\`: edit the spec, not this file.`,
    `# Without Docker the same spec builds an OCI archive: npm run images -- build ${spec.name}`,
    '#',
    ...spec.dockerfile.notes.map(n => `# ${n}`.trimEnd()),
    `FROM ${from} AS deps`,
    `WORKDIR ${APP_DIR}`,
    'COPY package.json package-lock.json ./',
    ...WORKSPACES.map(w => `COPY ${w}/package.json ${w}/`),
    `RUN npm ci ${dep.workspaces.map(w => `--workspace=${w}`).join(' ')} ${NPM_CI_ARGS.join(' ')}`,
    '',
    `FROM ${from}`,
    ...Object.entries(c.env).map(([k, v]) => `ENV ${k}=${quote(v)}`),
    ...(c.workingDir === undefined ? [] : [`WORKDIR ${c.workingDir}`]),
    `COPY --from=deps ${APP_DIR}/node_modules node_modules`,
    ...repo.flatMap(r => r.paths.map(p => p.endsWith('/') ? `COPY ${p.slice(0, -1)} ${p.slice(0, -1)}` : `COPY ${p} ${dirOf(p)}`)),
    `USER ${c.user}`,
    ...(c.ports.length === 0 ? [] : [`EXPOSE ${c.ports.join(' ')}`]),
    `ENTRYPOINT ${execForm(c.entrypoint)}`,
    ...(c.cmd === undefined ? [] : [`CMD ${execForm(c.cmd)}`])
  ]
  return lines.join('\n') + '\n'
}

/**
 * An image that is one esbuild bundle (the operator): a build stage installs the workspaces with
 * their devDependencies (esbuild) and runs operator/scripts/bundle.ts; the final stage holds
 * Node and that one file.
 */
function renderBundleDockerfile (spec: ImageSpec, from: string): string {
  const contents = spec.layers.flatMap(l => l.contents)
  const bundle = contents.find(c => c.kind === 'operator-bundle')
  if (bundle === undefined || contents.some(c => !['accounts', 'dir', 'busybox', 'node', 'operator-bundle'].includes(c.kind)) || bundle.dir !== APP_DIR || spec.dockerfile === undefined) {
    throw new Error(`${spec.name}: the Dockerfile renderer supports a bundle image with only the bundle in ${APP_DIR}`)
  }
  const c = spec.config
  const devArgs = NPM_CI_ARGS.filter(a => a !== '--omit=dev')
  return [
    `# GENERATED from images/spec.ts by \`${GEN_DOCKERFILES_COMMAND}\`: edit the spec, not this file.`,
    `# Without Docker the same spec builds an OCI archive: npm run images -- build ${spec.name}`,
    '#',
    ...spec.dockerfile.notes.map(n => `# ${n}`.trimEnd()),
    `FROM ${from} AS build`,
    `WORKDIR ${APP_DIR}`,
    'COPY package.json package-lock.json ./',
    ...WORKSPACES.map(w => `COPY ${w}/package.json ${w}/`),
    `RUN npm ci --workspace=operator --workspace=node-image --include=dev ${devArgs.join(' ')}`,
    'COPY node-image/src node-image/src',
    'COPY operator/src operator/src',
    'COPY operator/scripts/bundle.ts operator/scripts/',
    'RUN node operator/scripts/bundle.ts',
    '',
    `FROM ${from}`,
    ...Object.entries(c.env).map(([k, v]) => `ENV ${k}=${quote(v)}`),
    ...(c.workingDir === undefined ? [] : [`WORKDIR ${c.workingDir}`]),
    `COPY --from=build ${APP_DIR}/${BUNDLE_PATH} ${dirOf(BUNDLE_PATH)}`,
    `USER ${c.user}`,
    ...(c.ports.length === 0 ? [] : [`EXPOSE ${c.ports.join(' ')}`]),
    `ENTRYPOINT ${execForm(c.entrypoint)}`,
    ...(c.cmd === undefined ? [] : [`CMD ${execForm(c.cmd)}`])
  ].join('\n') + '\n'
}

/** `node-image/package.json` → `node-image/` (COPY into a directory keeps the file name). */
const dirOf = (p: string): string => p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : './'

/** Every Dockerfile to write: repository path → content. */
export function renderDockerfiles (specs: ImageSpec[], pins: Pins): Map<string, string> {
  const out = new Map<string, string>()
  for (const s of specs) {
    const text = renderDockerfile(s, pins)
    if (text !== undefined && s.dockerfile !== undefined) out.set(s.dockerfile.path, text)
  }
  return out
}
