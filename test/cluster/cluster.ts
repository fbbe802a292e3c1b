// A real single-node Kubernetes cluster on this machine, for the e2e tier and for people
// without Docker: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, containerd +
// runc + the CNI bridge, kubelet, kube-proxy (iptables), CoreDNS and a local-volume
// provisioner, every one inside the network namespace `dawn-cluster` and one shared mount
// namespace. The host reaches the apiserver through a loopback bridge (127.0.0.1:<port>).
//
// State (PKI, logs, etcd, containerd's content, volumes) is under ${DAWN_CACHE:-~/.cache/dawn}/cluster,
// runtime state under /run/dawn-cluster; `down` removes both and everything else (teardown.ts).
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { apiserverArgs, controllerManagerArgs, etcdArgs } from '../controlplane/component-args.ts'
import { generatePki, kubeconfig } from '../controlplane/pki.ts'
import { httpsGet, isOurs, killPid, run, sleep, startProcess, tail, type Proc, type Tls } from '../support/processes.ts'
import { createCgroupRoot } from './cgroups.ts'
import { resolveClusterBinaries, type ClusterComponent } from './cluster-binaries.ts'
import {
  containerdConfig, corefile, cniConfig, kubeletConfig, kubeProxyConfig, kubeSchedulerConfig, PAUSE_IMAGE, resolvConf
} from './component-configs.ts'
import { APISERVER_PORT, clusterPaths, NODE_IP, NODE_NAME, type ClusterPaths } from './layout.ts'
import { startLoopbackBridge } from './loopback-bridge.ts'
import { checkPrerequisites, createMountNamespace, createNetwork, inCluster, inClusterNet, netnsExists } from './namespaces.ts'
import { leftovers, teardown, type TeardownResult } from './teardown.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const MARKER = '.dawn-cluster'

/** An OCI archive to import into the cluster's containerd under `name`. */
export interface ImageArchive { name: string, archive: string }

export interface ClusterOptions {
  paths?: ClusterPaths
  /** The images to import (the pause image among them); default: build them all with images/. */
  images?: () => Promise<ImageArchive[]>
  signal?: AbortSignal
  log?: (m: string) => void
  timeoutMs?: number
}

type Managed = ClusterComponent | 'apiserver-bridge' | 'local-provisioner'

interface StateFile {
  version: 1
  ready: boolean
  startedAt: string
  /** https://127.0.0.1:<port>, through the loopback bridge. */
  server: string
  kubeconfig: string
  createdVarLibKubelet: boolean
  pids: Partial<Record<Managed, number>>
  commands: Partial<Record<Managed, string>>
  timings: Record<string, number>
}

export interface Cluster {
  paths: ClusterPaths
  kubeconfigPath: string
  server: string
  startupMs: number
  timings: Record<string, number>
  /** kubectl against this cluster (from the host, through the bridge). */
  kubectl: (args: string[], stdin?: string) => Promise<string>
}

const statePath = (p: ClusterPaths): string => join(p.state, 'state.json')

export async function readClusterState (p: ClusterPaths = clusterPaths()): Promise<StateFile | undefined> {
  try { return JSON.parse(await readFile(statePath(p), 'utf8')) as StateFile } catch { return undefined }
}

export function kubectlEnv (cacheParent: string, kubeconfigPath: string): NodeJS.ProcessEnv {
  // kubectl otherwise writes its discovery cache to ~/.kube/cache.
  return { ...process.env, KUBECONFIG: kubeconfigPath, KUBECACHEDIR: join(cacheParent, 'kube-cache') }
}

export async function startCluster (opts: ClusterOptions = {}): Promise<Cluster> {
  const t0 = Date.now()
  const p = opts.paths ?? clusterPaths()
  const log = opts.log ?? ((): void => {})
  const deadline = t0 + (opts.timeoutMs ?? 300_000)
  checkPrerequisites()
  const bins = resolveClusterBinaries()
  if (existsSync(join(p.state, MARKER)) || netnsExists()) {
    throw new Error(`a cluster exists already (state in ${p.state}); stop it first: npm run cluster -- down`)
  }
  const timings: Record<string, number> = {}
  const mark = (what: string): void => { timings[what] = Date.now() - t0; log(`${what} after ${timings[what]} ms`) }

  const imagesPromise = (opts.images ?? defaultImages)()
  // Awaited later; until then a failure must not count as unhandled.
  imagesPromise.catch(() => {})
  await mkdir(p.logs, { recursive: true })
  await writeFile(join(p.state, MARKER), 'state of test/cluster (npm run cluster -- down removes it)\n')

  const procs: Array<Proc<Managed>> = []
  const state: StateFile = {
    version: 1, ready: false, startedAt: new Date(t0).toISOString(), server: '', kubeconfig: join(p.state, 'kubeconfig'),
    createdVarLibKubelet: false, pids: {}, commands: {}, timings
  }
  const saveState = async (): Promise<void> => { await writeFile(statePath(p), JSON.stringify(state, null, 2) + '\n') }

  /** Starts `binary` (its path is what `down` checks against pid reuse), in the namespaces unless `onHost`. */
  const launch = async (name: Managed, binary: string, args: string[], onHost = false): Promise<void> => {
    const argv = onHost ? [binary, ...args] : [...inCluster(p), binary, ...args]
    const proc = startProcess(name, argv[0]!, argv.slice(1), p.logs, { cwd: p.state })
    procs.push(proc)
    state.pids[name] = proc.child.pid
    state.commands[name] = binary
    await saveState()
  }
  const inNs = async (c: ClusterComponent, args: string[]): Promise<void> => { await launch(c, bins[c], args) }
  const check = (): void => {
    opts.signal?.throwIfAborted()
    for (const proc of procs) {
      if (proc.exit !== undefined) throw new Error(`${proc.name} exited (code ${proc.exit}) during start-up; last lines of ${proc.log}:\n${tail(proc.log)}`)
    }
    if (Date.now() > deadline) throw new Error(`cluster not ready in time; logs in ${p.logs}`)
  }
  const until = async (what: string, probe: () => Promise<boolean>): Promise<void> => {
    for (;;) {
      check()
      try { if (await probe()) return } catch { /* not yet */ }
      if (Date.now() > deadline - 1) throw new Error(`timed out waiting for ${what}; logs in ${p.logs}`)
      await sleep(150)
    }
  }

  try {
    log('generating certificates')
    await generatePki(p.pki, {
      apiserverSans: [`IP:${NODE_IP}`],
      clients: {
        kubelet: `/O=system:nodes/CN=system:node:${NODE_NAME}`,
        'kube-proxy': '/CN=system:kube-proxy',
        'kube-scheduler': '/CN=system:kube-scheduler',
        'apiserver-kubelet-client': '/O=system:masters/CN=kube-apiserver-kubelet-client'
      }
    })
    log('creating the network and mount namespaces')
    createNetwork()
    state.createdVarLibKubelet = createMountNamespace(p).createdVarLibKubelet
    createCgroupRoot()
    await saveState()
    mark('namespaces')

    const inside = `https://${NODE_IP}:${APISERVER_PORT}`
    const kc = async (user: string, cert: string, server = inside): Promise<string> => {
      const file = join(p.state, `${cert}.kubeconfig`)
      await writeFile(file, await kubeconfig(p.pki, server, user, cert), { mode: 0o600 })
      return file
    }
    await mkdir(p.cniConfDir, { recursive: true })
    await writeFile(join(p.cniConfDir, '10-dawn.conflist'), cniConfig())
    await writeFile(join(p.state, 'containerd.toml'), containerdConfig(p))
    await writeFile(join(p.state, 'kubelet.json'), kubeletConfig(p))
    await writeFile(join(p.state, 'resolv.conf'), resolvConf())

    // containerd first: image import overlaps with the control plane's start.
    await inNs('containerd', ['--config', join(p.state, 'containerd.toml')])
    await inNs('etcd', etcdArgs({ dataDir: join(p.state, 'etcd-data'), clientUrl: 'http://127.0.0.1:2379', peerUrl: 'http://127.0.0.1:2380' }))
    await inNs('kube-apiserver', apiserverArgs({
      etcdUrl: 'http://127.0.0.1:2379', pki: p.pki, bindAddress: NODE_IP, port: APISERVER_PORT, advertiseAddress: NODE_IP,
      certDir: join(p.state, 'apiserver-certs'), kubeletClient: 'apiserver-kubelet-client'
    }))
    const bridge = await startLoopbackBridge('apiserver-bridge', [{ host: NODE_IP, port: APISERVER_PORT }], p.logs)
    state.pids['apiserver-bridge'] = bridge.pid
    state.commands['apiserver-bridge'] = join(HERE, 'loopback-bridge-main.ts')
    state.server = `https://127.0.0.1:${bridge.ports[0]!}`
    await writeFile(state.kubeconfig, await kubeconfig(p.pki, state.server, 'dawn-admin', 'admin'), { mode: 0o600 })
    await saveState()

    await until('containerd', async () => existsSync(p.containerdSocket))
    mark('containerd')
    const importing = importImages(p, await imagesPromise, log).then(() => { mark('images imported') })
    importing.catch(() => {})

    const tls: Tls = { ca: await readFile(join(p.pki, 'ca.crt')), cert: await readFile(join(p.pki, 'admin.crt')), key: await readFile(join(p.pki, 'admin.key')) }
    await until('kube-apiserver /readyz', async () => { const r = await httpsGet(`${state.server}/readyz`, tls, 3000); return r.status === 200 })
    mark('kube-apiserver ready')

    await inNs('kube-controller-manager', controllerManagerArgs({
      kubeconfig: await kc('system:kube-controller-manager', 'controller-manager'), pki: p.pki, port: 10257, stateDir: p.state
    }))
    await writeFile(join(p.state, 'scheduler.json'), kubeSchedulerConfig(await kc('system:kube-scheduler', 'kube-scheduler')))
    await inNs('kube-scheduler', [`--config=${join(p.state, 'scheduler.json')}`, '--bind-address=127.0.0.1', '--secure-port=10259', '--profiling=false'])
    await writeFile(join(p.state, 'kube-proxy.json'), kubeProxyConfig(await kc('system:kube-proxy', 'kube-proxy')))
    await inNs('kube-proxy', [`--config=${join(p.state, 'kube-proxy.json')}`])
    await writeFile(join(p.state, 'Corefile'), corefile(await kc('dawn-admin', 'admin')))
    await inNs('coredns', ['-conf', join(p.state, 'Corefile')])
    await launch('local-provisioner', process.execPath, ['--disable-warning=ExperimentalWarning', join(HERE, 'local-provisioner-main.ts'),
      '--kubeconfig', state.kubeconfig, '--node', NODE_NAME, '--dir', p.volumes], true)

    // The kubelet needs the pause image before it can run any pod.
    await importing
    await inNs('kubelet', [
      `--config=${join(p.state, 'kubelet.json')}`, `--kubeconfig=${await kc(`system:node:${NODE_NAME}`, 'kubelet')}`,
      `--hostname-override=${NODE_NAME}`, `--node-ip=${NODE_IP}`, '--v=1'
    ])

    const kubectl = kubectlRunner(bins.kubectl, kubectlEnv(p.state, state.kubeconfig))
    await until('node Ready', async () => (await kubectl(['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}'])).trim() === 'True')
    mark('node Ready')
    await kubectl(['apply', '-f', '-'], await storageClassYaml())
    await until('the default ServiceAccount', async () => (await kubectl(['get', 'serviceaccount', 'default', '-o', 'name'])).trim() !== '')
    await until('cluster DNS', async () => (await resolveInCluster('kubernetes.default.svc.cluster.local')).length > 0)
    mark('ready')

    state.ready = true
    await saveState()
    return { paths: p, kubeconfigPath: state.kubeconfig, server: state.server, startupMs: Date.now() - t0, timings, kubectl }
  } catch (e) {
    log(`start-up failed: ${(e as Error).message}; tearing down (logs kept in ${p.logs}.failed)`)
    await run('cp', ['-a', p.logs, `${p.logs}.failed`]).catch(() => {})
    await stopCluster(p).catch(() => {})
    throw e
  }
}

export async function defaultImages (): Promise<ImageArchive[]> {
  const { buildImages } = await import('../../images/build.ts') as { buildImages: (o?: { log?: (m: string) => void }) => Promise<ImageArchive[]> }
  return await buildImages()
}

/** Imports OCI archives into the cluster's containerd (an image of the same name is replaced). */
export async function importImages (p: ClusterPaths, images: ImageArchive[], log: (m: string) => void): Promise<void> {
  if (!images.some(i => i.name === PAUSE_IMAGE)) throw new Error(`the images lack the sandbox image ${PAUSE_IMAGE}`)
  for (const image of images) {
    log(`importing ${image.name}`)
    await run('ctr', ['--address', p.containerdSocket, '-n', 'k8s.io', 'images', 'import', '--no-unpack=false', image.archive])
  }
}

/** Runs kubectl (`binary`) with `env`; resolves with stdout, rejects with stderr. */
export function kubectlRunner (binary: string, env: NodeJS.ProcessEnv): (args: string[], stdin?: string) => Promise<string> {
  return async (args, stdin) => await new Promise((resolve, reject) => {
    const child = execFile(binary, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`kubectl ${args.join(' ')}: ${stderr !== '' ? stderr : err.message}`))
      else resolve(stdout)
    })
    if (stdin !== undefined) child.stdin?.end(stdin)
  })
}

async function storageClassYaml (): Promise<string> {
  const { storageClassManifest } = await import('./local-provisioner.ts')
  return JSON.stringify(storageClassManifest())
}

/** Asks CoreDNS from inside the namespace, as a pod would; the A records of `name` (none: empty). */
export async function resolveInCluster (name: string): Promise<string[]> {
  const script = `const r = new (require('node:dns').promises.Resolver)(); r.setServers(['${NODE_IP}']); r.resolve4(${JSON.stringify(name)}).then(a => { console.log(a.join(',')) }, () => { console.log('') })`
  const [cmd, ...args] = inClusterNet()
  const out = (await run(cmd!, [...args, process.execPath, '-e', script])).trim()
  return out === '' ? [] : out.split(',')
}

/** Stops the cluster at `p` and removes all its traces. Safe to call when nothing runs. */
export async function stopCluster (p: ClusterPaths = clusterPaths()): Promise<TeardownResult> {
  const state = await readClusterState(p)
  const stopComponents = async (): Promise<void> => {
    if (state === undefined) return
    // Reverse start order; only pids that are still the processes we started.
    for (const name of Object.keys(state.pids).reverse() as Managed[]) {
      const pid = state.pids[name]
      const cmd = state.commands[name]
      if (pid !== undefined && cmd !== undefined && isOurs(pid, cmd, '')) await killPid(pid, 5000)
    }
  }
  return await teardown(p, { createdVarLibKubelet: state?.createdVarLibKubelet ?? false, stopComponents })
}

export async function clusterStatus (p: ClusterPaths = clusterPaths()): Promise<{ running: boolean, state?: StateFile, components: Record<string, string>, leftovers: string[] }> {
  const state = await readClusterState(p)
  const components: Record<string, string> = {}
  if (state !== undefined) {
    for (const [name, pid] of Object.entries(state.pids)) {
      const cmd = state.commands[name as Managed] ?? ''
      components[name] = isOurs(pid, cmd, '') ? `running (pid ${pid})` : 'not running'
    }
  }
  const running = state?.ready === true && Object.values(components).every(s => s.startsWith('running'))
  return { running, state, components, leftovers: state === undefined ? leftovers(p) : [] }
}
