// The one definition of every Dawn container image. Two consumers read it, so they
// cannot drift: images/build.ts assembles OCI archives from it without Docker, and
// images/dockerfile.ts renders the Dockerfiles Docker users build (`npm run gen:dockerfiles`).
// Pure data: no I/O here; host paths are resolved by images/inputs.ts and images/rootfs.ts.
import rootPackage from '../package.json' with { type: 'json' }
import nodePackage from '../node-image/package.json' with { type: 'json' }
import operatorPackage from '../operator/package.json' with { type: 'json' }
import { KUBO_REPO_DIR, TMP_DIR } from '../operator/src/render/paths.ts'
import { NONROOT_UID } from '../operator/src/render/security.ts'
import { NODE_BUNDLE_PATH } from '../node-image/src/local-mesh/node-bundle.ts'
import { NODE_V8_FLAGS } from '../node-image/src/local-mesh/node-process.ts'

/** Versions pinned by the fetch scripts (scripts/node.sh, scripts/fetch-kubo.sh); see inputs.ts. */
export interface Pins { node: string, kubo: string }

/** A line of /etc/passwd and its group in /etc/group. */
export interface Account { name: string, uid: number, home: string }

/** What a layer holds; images/rootfs.ts turns each into files. Paths are absolute in the image. */
export type Content =
  /** /etc/passwd, /etc/group and /etc/nsswitch.conf (files first: a cluster may have no DNS for localhost). */
  | { kind: 'accounts', accounts: Account[] }
  | { kind: 'dir', path: string, mode: number }
  /** The static busybox at /bin/busybox, and /bin/<applet> symlinks to it. */
  | { kind: 'busybox', applets: string[] }
  /** The pinned Node.js at /usr/local/bin/node, and exactly the shared libraries `ldd` lists for it. */
  | { kind: 'node' }
  /** Our Kubo build (scripts/fetch-kubo.sh). */
  | { kind: 'kubo', path: string }
  /** images/pause.c, compiled static. */
  | { kind: 'pause', path: string }
  /** Production dependencies (`npm ci` + NPM_CI_ARGS for these workspaces) at <dir>/node_modules. */
  | { kind: 'npm-deps', dir: string, workspaces: string[] }
  /** The operator's esbuild bundle (operator/scripts/bundle.ts), rebuilt first if stale; it needs no node_modules. */
  | { kind: 'operator-bundle', dir: string }
  /** Repository files; a path ending in `/` is a whole directory. Copied to <dir>/<path>. */
  | { kind: 'repo', dir: string, paths: string[] }
  | { kind: 'text', path: string, mode: number, text: string }

export interface Layer { name: string, contents: Content[] }

/** The OCI image config (and the Dockerfile's USER, ENV, WORKDIR, EXPOSE, ENTRYPOINT, CMD). */
export interface RuntimeConfig {
  user: string
  /** Besides BASE_ENV, which the base image sets (node:*-slim sets the same PATH). */
  env: Record<string, string>
  workingDir?: string
  ports: number[]
  entrypoint: string[]
  cmd?: string[]
}

export interface ImageSpec {
  /** Fully qualified, as containerd's CRI looks it up (`dawn/node:0.1.0` → `docker.io/dawn/node:0.1.0`). */
  name: string
  summary: string
  config: RuntimeConfig
  layers: Layer[]
  /** Rendered to this repository path for Docker users; images without one are built only here. */
  dockerfile?: { path: string, notes: string[] }
}

export const BASE_ENV: Record<string, string> = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }
/** Same flags for Docker and for the staging dir: install scripts are not needed (protobufjs's only checks versions). */
export const NPM_CI_ARGS = ['--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund']
export const APP_DIR = '/app'
/** Every workspace's package.json is needed for `npm ci` to accept the lockfile. */
export const WORKSPACES: string[] = rootPackage.workspaces
/** How long the test-only late Kubo waits before starting its daemon. */
export const LATE_KUBO_DELAY_SECONDS = 20
const NONROOT = `${NONROOT_UID}:${NONROOT_UID}`
const KUBO_UID = 1000 // upstream's `ipfs` user; our pods run as NONROOT_UID anyway

const root: Account = { name: 'root', uid: 0, home: '/root' }
const nonroot: Account = { name: 'nonroot', uid: NONROOT_UID, home: TMP_DIR }
/** The init containers' scripts (operator/src/render/identity-init.ts, kubo.ts) need these; umask is a shell builtin. */
// What the init scripts run, and what a person (or the e2e tier) uses in `kubectl exec`.
const APPLETS = ['sh', 'cat', 'chmod', 'cp', 'env', 'grep', 'id', 'ls', 'mkdir', 'mv', 'rm', 'sha256sum', 'sleep']

const base = (accounts: Account[]): Layer => ({
  name: 'base',
  contents: [
    { kind: 'accounts', accounts },
    { kind: 'dir', path: '/root', mode: 0o700 },
    // Sticky and world-writable; pods mount an emptyDir over it (read-only root filesystem).
    { kind: 'dir', path: TMP_DIR, mode: 0o1777 },
    { kind: 'busybox', applets: APPLETS }
  ]
})
const runtime: Layer = { name: 'node-runtime', contents: [{ kind: 'node' }] }
const dockerImage = (name: string): string => name.replace(/^docker\.io\//, '')

function nodeImage (): ImageSpec {
  const name = `docker.io/dawn/node:${nodePackage.version}`
  return {
    name,
    summary: 'the Dawn mesh node (dawn-node)',
    config: {
      user: NONROOT,
      // Two glibc arenas, not one per thread: less idle memory (bench `footprint`). The image has no jemalloc (yet).
      env: { NODE_ENV: 'production', MALLOC_ARENA_MAX: '2' },
      workingDir: APP_DIR,
      ports: [4001, 8080],
      entrypoint: ['node', ...NODE_V8_FLAGS, NODE_BUNDLE_PATH],
      cmd: ['run', '--config', '/etc/dawn/config/config.json']
    },
    layers: [
      base([root, nonroot]),
      runtime,
      { name: 'dependencies', contents: [{ kind: 'npm-deps', dir: APP_DIR, workspaces: ['node-image'] }] },
      // The node runs from its bundle (node-bundle.ts), which finds the UI files under node-image/src/ui/.
      { name: 'app', contents: [{ kind: 'repo', dir: APP_DIR, paths: ['node-image/package.json', 'node-image/src/ui/', NODE_BUNDLE_PATH] }] }
    ],
    dockerfile: {
      path: 'node-image/Dockerfile',
      notes: [
        'The Dawn node image (dawn-node). Build from the repository root:',
        `  docker build -f node-image/Dockerfile -t ${dockerImage(name)} .`,
        `The node runs as one bundle, ${NODE_BUNDLE_PATH}: build it first with \`sh scripts/node.sh scripts/bundle-node.ts\``,
        '(the OCI build, ./dawn mesh and the tests rebuild it themselves when a source changed).',
        'Non-root, matching the StatefulSet\'s runAsUser; the root filesystem is mounted read-only.'
      ]
    }
  }
}

/**
 * The operator's V8 flags; operator/bin/dawn-operator sets the same (a unit test compares them).
 * Heap limits go in NODE_OPTIONS so a huge cluster can override them; --lite-mode (no optimising
 * compiler: -15 MiB RSS at idle, -25 MiB in a 200-pool burst, measured) is not allowed there.
 */
export const OPERATOR_NODE_OPTIONS = '--max-semi-space-size=1 --max-old-space-size=192'
export const OPERATOR_NODE_ARGS = ['--lite-mode']

function operatorImage (): ImageSpec {
  const name = `docker.io/dawn/operator:${operatorPackage.version}`
  return {
    name,
    summary: 'the Dawn Kubernetes operator (dawn-operator)',
    config: {
      user: NONROOT,
      // V8 otherwise sizes its heap for the host; override NODE_OPTIONS if a cluster is huge.
      env: { NODE_ENV: 'production', NODE_OPTIONS: OPERATOR_NODE_OPTIONS },
      workingDir: APP_DIR,
      ports: [8080],
      entrypoint: ['node', ...OPERATOR_NODE_ARGS, 'operator/dist/dawn-operator.mjs']
    },
    layers: [
      base([root, nonroot]),
      runtime,
      { name: 'app', contents: [{ kind: 'operator-bundle', dir: APP_DIR }] }
    ],
    dockerfile: {
      path: 'Dockerfile',
      notes: [
        'The Dawn operator image (dawn-operator). Build from the repository root:',
        `  docker build -t ${dockerImage(name)} .`,
        'The build stage bundles the operator with esbuild (operator/scripts/bundle.ts) into one',
        'file that needs no node_modules; bin/dawn-operator, the tests and the bench run that file.',
        'NODE_OPTIONS: V8 otherwise sizes its heap for the host; override it if a cluster is huge.'
      ]
    }
  }
}

/** A stand-in for upstream's ipfs/kubo image, built from our Kubo (Docker users pull upstream's). */
function kuboImage (name: string, ipfs: Layer): ImageSpec {
  return {
    name,
    summary: 'Kubo (IPFS), our build',
    config: {
      user: `${KUBO_UID}:${KUBO_UID}`,
      env: { IPFS_PATH: KUBO_REPO_DIR },
      ports: [4001, 5001],
      entrypoint: ['/usr/local/bin/ipfs'],
      cmd: ['daemon', '--migrate=true']
    },
    layers: [base([root, nonroot, { name: 'ipfs', uid: KUBO_UID, home: KUBO_REPO_DIR }]), ipfs]
  }
}

const REAL_KUBO = '/usr/local/lib/kubo/ipfs'
/**
 * Busybox sh. Waits with `sleep & wait` so SIGTERM ends the wait at once: as PID 1 the shell
 * would otherwise ignore it until the sleep is over.
 */
const LATE_KUBO_WRAPPER = `#!/bin/sh
# Test-only (dawn/kubo:*-late): \`ipfs daemon\` starts ${LATE_KUBO_DELAY_SECONDS}s late, to prove a node waits for its Kubo.
if [ "\${1:-}" = daemon ]; then
  trap 'exit 143' TERM INT
  sleep ${LATE_KUBO_DELAY_SECONDS} &
  wait $!
  trap - TERM INT
fi
exec ${REAL_KUBO} "$@"
`

export function imageSpecs (pins: Pins): ImageSpec[] {
  return [
    nodeImage(),
    operatorImage(),
    kuboImage(`docker.io/ipfs/kubo:${pins.kubo}`, { name: 'kubo', contents: [{ kind: 'kubo', path: '/usr/local/bin/ipfs' }] }),
    {
      ...kuboImage(`docker.io/dawn/kubo:${pins.kubo}-late`, {
        name: 'kubo',
        contents: [
          { kind: 'kubo', path: REAL_KUBO },
          { kind: 'text', path: '/usr/local/bin/ipfs', mode: 0o755, text: LATE_KUBO_WRAPPER }
        ]
      }),
      summary: `TEST ONLY: Kubo whose daemon starts ${LATE_KUBO_DELAY_SECONDS}s late`
    },
    {
      name: 'dawn.local/pause:3.10',
      summary: 'the pod sandbox process (containerd sandbox_image)',
      // Like registry.k8s.io/pause: no account files, a numeric non-root user.
      config: { user: '65535:65535', env: {}, ports: [], entrypoint: ['/pause'] },
      layers: [{ name: 'pause', contents: [{ kind: 'pause', path: '/pause' }] }]
    }
  ]
}
