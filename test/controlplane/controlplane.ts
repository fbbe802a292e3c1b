// A real Kubernetes control plane on loopback for the operator's integration tests:
// etcd + kube-apiserver + kube-controller-manager, no kubelet and no scheduler, so pods
// stay Pending while garbage collection, Deployment→ReplicaSet→Pod, StatefulSet→Pod,
// service-account tokens and namespace deletion behave as in a real cluster.
//
// Binaries come from test/controlplane/fetch-binaries.sh (built from Go modules at the
// versions pinned in versions.env, cached under $DAWN_CACHE), or from $DAWN_K8S_BIN_DIR.
//
// Layout of a state dir:
//   .dawn-controlplane   marker: only directories carrying it are ever wiped
//   state.json           pids, ports, server URL (read by `cli.ts down|status|env`)
//   kubeconfig           admin (client cert, group system:masters)
//   pki/                 CA, apiserver serving cert, service-account key pair, client certs
//   etcd-data/           etcd's data
//   *.log                one log per component
import { existsSync, readFileSync, accessSync, constants as fsConstants } from 'node:fs'
import { mkdir, readFile, writeFile, rm, readdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { alive, freePorts, httpsGet, isOurs, killPid, sleep, startProcess, tail, type Proc as GenericProc, type Tls } from '../support/processes.ts'
import { apiserverArgs, controllerManagerArgs, etcdArgs } from './component-args.ts'
import { generatePki, kubeconfig } from './pki.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
export const FETCH_COMMAND = 'sh test/controlplane/fetch-binaries.sh'
const MARKER = '.dawn-controlplane'
const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager'] as const
type Component = typeof COMPONENTS[number]
export { SERVICE_CIDR } from './pki.ts'

export interface Binaries { etcd: string, 'kube-apiserver': string, 'kube-controller-manager': string, source: string }

export interface ControlPlaneOptions {
  /** State directory; default `${DAWN_CACHE:-~/.cache/dawn}/controlplane`. Must be empty, absent, or an earlier state dir. */
  dir?: string
  /** Aborting stops the control plane (during start-up: start-up fails and everything started is stopped). */
  signal?: AbortSignal
  /** Progress messages; default: none. */
  log?: (message: string) => void
  /** Start-up deadline; default 180 s (two busy cores are slow). */
  timeoutMs?: number
  /**
   * Keep the processes running when this Node process exits (the CLI's `up`). By default they
   * are killed on exit, so a crashed test run leaves nothing behind.
   */
  persist?: boolean
  /** Override the binaries (default: `resolveBinaries()`). */
  binaries?: Binaries
}

export interface ControlPlane {
  dir: string
  kubeconfigPath: string
  /** https://127.0.0.1:<port> */
  server: string
  pids: Record<Component, number>
  /** Milliseconds from the call to a ready control plane. */
  startupMs: number
  /** Stops the processes (SIGTERM, then SIGKILL) and, unless `keepState`, removes the state dir. */
  stop: (opts?: { keepState?: boolean }) => Promise<void>
}

interface StateFile {
  version: 1
  /** false while starting (or if start-up was interrupted) */
  ready: boolean
  /** pid of the Node process that owns the control plane (absent for `persist`, e.g. `cli.ts up`) */
  owner?: number
  startedAt: string
  server: string
  kubeconfig: string
  ports: { etcdClient: number, etcdPeer: number, apiserver: number, controllerManager: number }
  pids: Partial<Record<Component, number>>
  binaries: Binaries
}

export class MissingBinariesError extends Error {
  constructor (missing: string[], source: string) {
    super(
      `Control-plane binaries are missing (${source}):\n  ${missing.join('\n  ')}\n` +
      `Build them once (from Go modules, cached by version; takes a while on 2 cores) with:\n  ${FETCH_COMMAND}\n` +
      'or point DAWN_K8S_BIN_DIR at a directory holding kube-apiserver, kube-controller-manager and etcd.'
    )
    this.name = 'MissingBinariesError'
  }
}

export function cacheDir (): string {
  return process.env.DAWN_CACHE ?? join(homedir(), '.cache', 'dawn')
}

export function defaultStateDir (): string {
  return join(cacheDir(), 'controlplane')
}

/** The versions pinned in versions.env (overridable like fetch-binaries.sh does). */
export function pinnedVersions (): { k8s: string, etcd: string, coredns: string } {
  const vars: Record<string, string> = {}
  for (const line of readFileSync(join(HERE, 'versions.env'), 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)=(\S+)\s*$/.exec(line)
    if (m !== null) vars[m[1]!] = m[2]!
  }
  const k8s = process.env.DAWN_K8S_VERSION ?? vars.K8S_VERSION
  const etcd = process.env.DAWN_ETCD_VERSION ?? vars.ETCD_VERSION
  const coredns = process.env.DAWN_COREDNS_VERSION ?? vars.COREDNS_VERSION
  if (k8s === undefined || etcd === undefined || coredns === undefined) throw new Error(`versions.env lacks K8S_VERSION, ETCD_VERSION or COREDNS_VERSION (${HERE})`)
  return { k8s, etcd, coredns }
}

/** The pinned kubectl build (fetch-binaries.sh builds it beside the control plane). */
export function kubectlPath (): string {
  const override = process.env.DAWN_K8S_BIN_DIR
  const path = override !== undefined && override !== '' ? join(override, 'kubectl') : join(cacheDir(), `k8s-${pinnedVersions().k8s}`, 'bin', 'kubectl')
  try { accessSync(path, fsConstants.X_OK) } catch { throw new MissingBinariesError([path], 'kubectl') }
  return path
}

/** Finds the three binaries; throws MissingBinariesError (with the command that builds them) if any is absent. */
export function resolveBinaries (): Binaries {
  const override = process.env.DAWN_K8S_BIN_DIR
  let bins: Binaries
  if (override !== undefined && override !== '') {
    bins = {
      etcd: join(override, 'etcd'),
      'kube-apiserver': join(override, 'kube-apiserver'),
      'kube-controller-manager': join(override, 'kube-controller-manager'),
      source: `DAWN_K8S_BIN_DIR=${override}`
    }
  } else {
    const v = pinnedVersions()
    const k8sBin = join(cacheDir(), `k8s-${v.k8s}`, 'bin')
    const etcdBin = join(cacheDir(), `etcd-${v.etcd}`, 'bin')
    bins = {
      etcd: join(etcdBin, 'etcd'),
      'kube-apiserver': join(k8sBin, 'kube-apiserver'),
      'kube-controller-manager': join(k8sBin, 'kube-controller-manager'),
      source: `Kubernetes ${v.k8s}, etcd ${v.etcd}`
    }
  }
  const missing = COMPONENTS.map(c => bins[c]).filter(p => {
    try { accessSync(p, fsConstants.X_OK); return false } catch { return true }
  })
  if (missing.length > 0) throw new MissingBinariesError(missing, bins.source)
  return bins
}

// ---------------------------------------------------------------------------------------
// state dir

async function prepareDir (dir: string): Promise<void> {
  if (existsSync(dir)) {
    const entries = await readdir(dir)
    if (entries.length > 0) {
      if (!entries.includes(MARKER)) {
        throw new Error(`refusing to use ${dir}: it is not empty and not a control-plane state dir (no ${MARKER} file)`)
      }
      const running = await readState(dir)
      if (running !== undefined && COMPONENTS.some(c => { const pid = running.pids[c]; return pid !== undefined && isOurs(pid, running.binaries[c], dir) })) {
        throw new Error(`a control plane is already running in ${dir} (server ${running.server}); stop it first (cli.ts down --dir ${dir})`)
      }
      await rm(dir, { recursive: true, force: true })
    }
  }
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, MARKER), 'state dir of test/controlplane (safe to delete when nothing runs)\n')
}

export async function readState (dir: string): Promise<StateFile | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as StateFile
  } catch { return undefined }
}

// ---------------------------------------------------------------------------------------
// processes

type Proc = GenericProc<Component>

/** Stops whatever a state dir's state.json lists (pid-reuse safe) and removes the dir unless keepState. */
export async function stopControlPlane (dir: string, opts: { keepState?: boolean } = {}): Promise<{ stopped: Component[] }> {
  dir = resolve(dir)
  const state = await readState(dir)
  const stopped: Component[] = []
  if (state !== undefined) {
    // Reverse start order: controller-manager, apiserver, etcd.
    for (const c of [...COMPONENTS].reverse()) {
      const pid = state.pids[c]
      if (pid !== undefined && isOurs(pid, state.binaries[c], dir)) { await killPid(pid); stopped.push(c) }
    }
  }
  if (opts.keepState !== true && existsSync(join(dir, MARKER))) await rm(dir, { recursive: true, force: true })
  return { stopped }
}

/**
 * Cleans up after test runs that died without teardown (SIGKILL, OOM): stops and removes every
 * `<parent>/<prefix>*` state dir whose owner process is gone. Returns the dirs removed.
 */
export async function reapOrphans (parent: string, prefix: string): Promise<string[]> {
  const reaped: string[] = []
  let names: string[]
  try { names = await readdir(parent) } catch { return reaped }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const dir = join(parent, name)
    if (!existsSync(join(dir, MARKER))) continue
    const state = await readState(dir)
    // No state.json yet: a start-up in progress (or one that died before spawning anything).
    if (state?.owner === undefined || alive(state.owner)) continue
    await stopControlPlane(dir)
    reaped.push(dir)
  }
  return reaped
}

// ---------------------------------------------------------------------------------------
// start

const isAddrInUse = (log: string): boolean => /address already in use/i.test(tail(log, 80))

/**
 * Starts etcd, kube-apiserver and kube-controller-manager in `dir` (fresh state each time) and
 * resolves once /readyz is ok and the controller-manager has created the `default` service
 * account in the `default` namespace.
 */
export async function startControlPlane (opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = opts.binaries ?? resolveBinaries()
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, binaries)
    } catch (e) {
      // A random free port can be taken between probing and binding; retry with new ports.
      if (e instanceof PortRaceError && attempt < 3) { opts.log?.(`port race (${e.message}); retrying`); continue }
      throw e
    }
  }
}

class PortRaceError extends Error {}

async function startOnce (opts: ControlPlaneOptions, bins: Binaries): Promise<ControlPlane> {
  const t0 = Date.now()
  const log = opts.log ?? ((): void => {})
  const dir = resolve(opts.dir ?? defaultStateDir())
  const timeoutMs = opts.timeoutMs ?? 180_000
  const deadline = t0 + timeoutMs
  opts.signal?.throwIfAborted()

  await prepareDir(dir)
  const pki = join(dir, 'pki')
  log(`generating certificates in ${pki}`)
  await generatePki(pki)

  const [etcdClient, etcdPeer, apiPort, kcmPort] = await freePorts(4) as [number, number, number, number]
  const server = `https://127.0.0.1:${apiPort}`
  const kubeconfigPath = join(dir, 'kubeconfig')
  await writeFile(kubeconfigPath, await kubeconfig(pki, server, 'dawn-admin', 'admin'), { mode: 0o600 })
  const kcmKubeconfig = join(dir, 'controller-manager.kubeconfig')
  await writeFile(kcmKubeconfig, await kubeconfig(pki, server, 'system:kube-controller-manager', 'controller-manager'), { mode: 0o600 })

  const procs: Proc[] = []
  let stopped = false
  const killAll = (): void => {
    for (const p of procs) if (p.exit === undefined && p.child.pid !== undefined) { try { process.kill(p.child.pid, 'SIGKILL') } catch { /* gone */ } }
  }
  const onExit = (): void => { killAll() }
  if (opts.persist !== true) process.once('exit', onExit)

  const stop = async (stopOpts: { keepState?: boolean } = {}): Promise<void> => {
    if (stopped) return
    stopped = true
    process.removeListener('exit', onExit)
    opts.signal?.removeEventListener('abort', onAbort)
    for (const p of [...procs].reverse()) if (p.child.pid !== undefined) await killPid(p.child.pid)
    if (stopOpts.keepState !== true) await rm(dir, { recursive: true, force: true })
  }
  // During start-up an abort is noticed by check(); once ready, it stops the control plane.
  const onAbort = (): void => { void stop() }
  const ports = { etcdClient, etcdPeer, apiserver: apiPort, controllerManager: kcmPort }
  // state.json is rewritten after every spawn, so `cli.ts down` finds even a half-started plane.
  const writeState = async (ready: boolean): Promise<void> => {
    const state: StateFile = {
      version: 1, ready, owner: opts.persist === true ? undefined : process.pid,
      startedAt: new Date(t0).toISOString(), server, kubeconfig: kubeconfigPath, ports,
      pids: Object.fromEntries(procs.map(p => [p.name, p.child.pid ?? -1])), binaries: bins
    }
    await writeFile(join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n')
  }
  const launch = async (name: Component, args: string[]): Promise<void> => {
    procs.push(startProcess(name, bins[name], args, dir))
    await writeState(false)
  }

  const check = (): void => {
    if (opts.signal?.aborted === true) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted')
    for (const p of procs) {
      if (p.exit !== undefined) {
        const logTail = tail(p.log)
        if (isAddrInUse(p.log)) throw new PortRaceError(`${p.name} could not bind`)
        throw new Error(`${p.name} exited (code ${p.exit}) during start-up; last lines of ${p.log}:\n${logTail}`)
      }
    }
    if (Date.now() > deadline) {
      throw new Error(`control plane not ready after ${timeoutMs} ms; logs in ${dir}:\n` +
        procs.map(p => `--- ${p.name}\n${tail(p.log, 10)}`).join('\n'))
    }
  }

  try {
    const etcdUrl = `http://127.0.0.1:${etcdClient}`
    const peerUrl = `http://127.0.0.1:${etcdPeer}`
    log(`starting etcd on ${etcdUrl}`)
    await launch('etcd', etcdArgs({ dataDir: join(dir, 'etcd-data'), clientUrl: etcdUrl, peerUrl }))

    // etcd readiness: its /health answers {"health":"true"} once it has a leader.
    for (;;) {
      check()
      try {
        const r = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) })
        if (r.ok && (await r.json() as { health?: string }).health === 'true') break
      } catch { /* not yet */ }
      await sleep(100)
    }

    log(`starting kube-apiserver on ${server}`)
    await launch('kube-apiserver', apiserverArgs({
      etcdUrl, pki, bindAddress: '127.0.0.1', port: apiPort, advertiseAddress: '127.0.0.1', certDir: join(dir, 'apiserver-certs')
    }))

    const tls: Tls = { ca: await readFile(join(pki, 'ca.crt')), cert: await readFile(join(pki, 'admin.crt')), key: await readFile(join(pki, 'admin.key')) }
    for (;;) {
      check()
      try {
        const r = await httpsGet(`${server}/readyz`, tls, 3000)
        if (r.status === 200 && r.body.trim() === 'ok') break
      } catch { /* not yet */ }
      await sleep(200)
    }
    log(`kube-apiserver ready after ${Date.now() - t0} ms; starting kube-controller-manager`)

    await launch('kube-controller-manager', controllerManagerArgs({ kubeconfig: kcmKubeconfig, pki, port: kcmPort, stateDir: dir }))

    // The controller-manager works once it has created default/default (service-account controller).
    for (;;) {
      check()
      try {
        const r = await httpsGet(`${server}/api/v1/namespaces/default/serviceaccounts/default`, tls, 3000)
        if (r.status === 200) break
      } catch { /* not yet */ }
      await sleep(200)
    }

    await writeState(true)
    const pids = Object.fromEntries(procs.map(p => [p.name, p.child.pid ?? -1])) as Record<Component, number>
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    const startupMs = Date.now() - t0
    log(`control plane ready in ${startupMs} ms (server ${server})`)
    return { dir, kubeconfigPath, server, pids, startupMs, stop }
  } catch (e) {
    await stop({ keepState: true })
    if (e instanceof PortRaceError || opts.signal?.aborted === true) await rm(dir, { recursive: true, force: true })
    // Otherwise keep the (stopped) state dir with its logs for diagnosis; the next start wipes it.
    else if (e instanceof Error) e.message += `\n(processes stopped; logs and state kept in ${dir})`
    throw e
  }
}

/** Health of a state dir's control plane, for `cli.ts status`. */
export async function controlPlaneStatus (dir: string): Promise<{ running: boolean, ready?: boolean, server?: string, kubeconfig?: string, components: Record<string, string>, readyz?: string }> {
  dir = resolve(dir)
  const state = await readState(dir)
  if (state === undefined) return { running: false, components: {} }
  const components: Record<string, string> = {}
  for (const c of COMPONENTS) {
    const pid = state.pids[c]
    components[c] = pid !== undefined && isOurs(pid, state.binaries[c], dir) ? `running (pid ${pid})` : 'not running'
  }
  let readyz: string | undefined
  try {
    const pki = join(dir, 'pki')
    const tls: Tls = { ca: await readFile(join(pki, 'ca.crt')), cert: await readFile(join(pki, 'admin.crt')), key: await readFile(join(pki, 'admin.key')) }
    const r = await httpsGet(`${state.server}/readyz`, tls, 3000)
    readyz = `${r.status} ${r.body.trim()}`
  } catch (e) { readyz = `unreachable (${(e as Error).message})` }
  const running = state.ready && Object.values(components).every(s => s.startsWith('running')) && readyz.startsWith('200')
  return { running, ready: state.ready, server: state.server, kubeconfig: state.kubeconfig, components, readyz }
}
