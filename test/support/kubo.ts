// Real Kubo (IPFS) daemons for mesh tests and benchmarks, prepared and started the way a
// pod does it: the operator's rendered `kubo-init` container (its shell script and env) runs
// with `sh -c`, then the rendered `kubo` container's command. Only the mount paths point at
// temp dirs, and the listen addresses move to loopback with kernel-picked ports (see
// `onThisHost`), so many daemons run on one host. The binary comes from scripts/fetch-kubo.sh.
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'
import type { V1Container } from '@kubernetes/client-node'
import { dawnNodeValidator } from '../../operator/src/api/validate.ts'
import type { DawnNode } from '../../operator/src/api/dawn-node.ts'
import { kuboContainer, kuboInitContainer } from '../../operator/src/render/kubo.ts'
import { KUBO_REPO_DIR, SWARM_KEY_FILE, TMP_DIR } from '../../operator/src/render/paths.ts'

export const KUBO_VERSION = 'v0.38.1'

/** The ipfs binary: $DAWN_KUBO_BIN, else the one scripts/fetch-kubo.sh builds. */
export function kuboBinary (): string {
  const fromEnv = process.env.DAWN_KUBO_BIN
  const bin = fromEnv !== undefined && fromEnv !== ''
    ? fromEnv
    : join(process.env.DAWN_CACHE ?? join(homedir(), '.cache', 'dawn'), `kubo-${KUBO_VERSION}`, 'bin', 'ipfs')
  try {
    accessSync(bin, constants.X_OK)
  } catch {
    throw new Error(`Kubo (ipfs ${KUBO_VERSION}) not found at ${bin}${fromEnv !== undefined && fromEnv !== '' ? ' (from DAWN_KUBO_BIN)' : ''}; run: sh scripts/fetch-kubo.sh`)
  }
  return bin
}

export interface KuboInit {
  /** The repository (the pod's Kubo volume, IPFS_PATH); created when missing, re-initialised like a restarted pod when it exists. */
  dir: string
  /** swarm.key file text (the pod's PSK Secret); set = the network's private swarm, undefined = a Kubo outside it. */
  swarmKey?: string
  /** LIBP2P_FORCE_PNET=1 on a keyless daemon (the sidecar sets it whenever the swarm is private). */
  forcePnet?: boolean
  /** How long to wait for "Daemon is ready"; default 60 s. */
  readyTimeoutMs?: number
  /** RPC API port on 127.0.0.1, for a node configured before its sidecar exists; default: the kernel picks. */
  apiPort?: number
}

export interface KuboDaemon {
  /** http://127.0.0.1:<port> */
  apiUrl: string
  peerId: string
  /** Full multiaddrs, ending in /p2p/<peerId>. */
  swarmAddrs: string[]
  repo: string
  stop: () => Promise<void>
}

const TAIL_LINES = 40

/** A pool as the API server hands it to the operator (schema defaults applied, so the default Kubo image). */
function samplePool (): DawnNode {
  return dawnNodeValidator.parse({
    apiVersion: 'mesh.dawn.dev/v1alpha1',
    kind: 'DawnNode',
    metadata: { name: 'kubo-test', namespace: 'test', uid: 'uid-kubo-test', generation: 1 },
    spec: { networkRef: { name: 'test' } }
  })
}

/** The pod's volumes (Kubo repository, /tmp, the PSK Secret) as directories; `<dir>.pod` holds all but the repository. */
async function podVolumes (repo: string, swarmKey: string | undefined): Promise<Map<string, string>> {
  const pod = `${repo}.pod`
  const keyFile = join(pod, 'psk', 'swarm.key')
  await Promise.all([repo, join(pod, 'tmp'), join(pod, 'psk')].map(async d => await mkdir(d, { recursive: true })))
  await rm(keyFile, { force: true })
  if (swarmKey !== undefined) await writeFile(keyFile, swarmKey, { mode: 0o400 })
  return new Map([[KUBO_REPO_DIR, repo], [TMP_DIR, join(pod, 'tmp')], [SWARM_KEY_FILE, keyFile]])
}

/**
 * Runs the operator's rendered `kubo-init` container (KUBO_INIT_SCRIPT under `sh -c`, with
 * its env) on `dir`, as the kubelet would before the sidecar starts. With `privateSwarm`
 * the script copies `swarmKey` in; without it, it takes the public branch.
 */
export async function initKuboRepo (init: { dir: string, privateSwarm: boolean, swarmKey?: string }): Promise<void> {
  const container = kuboInitContainer(samplePool(), init.privateSwarm)
  await run(container, containerEnv(container, await podVolumes(init.dir, init.swarmKey), kuboBinary()))
}

/**
 * A daemon with `swarmKey` is a pod's sidecar in that private swarm: the shipped init
 * script prepares the repository. A keyless one is an outsider (the tests' stranger, not
 * a pod): a bare `ipfs init`, kept offline by `onThisHost`.
 */
export async function startKubo (init: KuboInit): Promise<KuboDaemon> {
  const bin = kuboBinary()
  const repo = init.dir
  const privateSwarm = init.swarmKey !== undefined
  const sidecar = kuboContainer(samplePool(), privateSwarm)
  if (sidecar.image?.endsWith(`:${KUBO_VERSION}`) !== true) throw new Error(`pods run ${String(sidecar.image)}, these tests Kubo ${KUBO_VERSION}: update KUBO_VERSION and scripts/fetch-kubo.sh together`)

  const paths = await podVolumes(repo, init.swarmKey)
  const env = containerEnv(sidecar, paths, bin)
  if (privateSwarm) {
    const initContainer = kuboInitContainer(samplePool(), privateSwarm)
    await run(initContainer, containerEnv(initContainer, paths, bin))
  } else if (!await exists(join(repo, 'config'))) {
    await run({ name: 'ipfs-init', command: [bin, 'init', '--empty-repo'] }, env)
  }
  const peerId = await onThisHost(join(repo, 'config'), privateSwarm, init.apiPort ?? 0)

  if (init.forcePnet === true) env.LIBP2P_FORCE_PNET = '1'
  const [command = '', ...args] = [...(sidecar.command ?? []), ...(sidecar.args ?? [])]
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  const tail: string[] = []
  let apiAddr: string | undefined
  let exited: { code: number | null, signal: NodeJS.Signals | null } | undefined
  const exit = new Promise<void>(resolve => {
    // 'close', not 'exit': the output tail is complete only once stdio has closed.
    child.once('close', (code, signal) => { exited = { code, signal }; resolve() })
  })
  const ready = new Promise<void>((resolve, reject) => {
    const onLine = (line: string): void => {
      tail.push(line)
      if (tail.length > TAIL_LINES) tail.shift()
      const m = /^RPC API server listening on (\S+)/.exec(line)
      if (m?.[1] !== undefined) apiAddr = m[1]
      if (line.startsWith('Daemon is ready')) resolve()
    }
    lines(child.stdout, onLine)
    lines(child.stderr, onLine)
    child.once('error', reject)
    void exit.then(() => { reject(new Error('exited')) })
  })

  const stop = async (): Promise<void> => {
    if (exited !== undefined) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => { child.kill('SIGKILL') }, 10_000)
    await exit
    clearTimeout(killer)
  }

  const timeoutMs = init.readyTimeoutMs ?? 60_000
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([ready, new Promise((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`not ready after ${timeoutMs} ms`)) }, timeoutMs)
    })])
    const apiUrl = httpUrl(apiAddr)
    const id = await rpc<{ ID: string, Addresses: string[] | null }>(apiUrl, 'id')
    if (id.ID !== peerId) throw new Error(`the API reports peer ${id.ID}, the config ${peerId}`)
    return { apiUrl, peerId, swarmAddrs: id.Addresses ?? [], repo, stop }
  } catch (err) {
    await stop()
    const how = exited === undefined ? '' : ` (exit code ${String(exited.code)}${exited.signal !== null ? `, ${exited.signal}` : ''})`
    throw new Error(`Kubo in ${repo} failed to start: ${(err as Error).message}${how}\n--- output tail ---\n${tail.join('\n')}`, { cause: err })
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A rendered container's env on this host: its mount paths mapped to the temp dirs, and
 * the ipfs binary first on PATH. A path the map does not know fails loudly, so a new
 * mount in the operator cannot silently point a test at the real filesystem.
 */
function containerEnv (container: V1Container, paths: Map<string, string>, bin: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: `${dirname(bin)}:${process.env.PATH ?? '/usr/bin:/bin'}` }
  for (const { name, value, valueFrom } of container.env ?? []) {
    if (valueFrom !== undefined || value === undefined) throw new Error(`${container.name} env ${name} is not a plain value; map it in test/support/kubo.ts`)
    const local = paths.get(value)
    if (local === undefined && value.startsWith('/')) throw new Error(`${container.name} env ${name}=${value} names a path test/support/kubo.ts does not map`)
    env[name] = local ?? value
  }
  return env
}

/**
 * What this host needs beyond the pod's config, applied after the init script and before
 * the daemon starts. Every daemon: the RPC API and the swarm on loopback with
 * kernel-picked ports (the pod's fixed ports would collide; pods listen on 0.0.0.0), and
 * no UPnP/NAT-PMP probe (tests send nothing off the host). A keyless outsider also gets
 * no bootstrap peers, AutoConf, delegated routing or AutoTLS (they would reach the public
 * network), as the script's private branch does for a sidecar.
 */
async function onThisHost (configFile: string, privateSwarm: boolean, apiPort: number): Promise<string> {
  const c = JSON.parse(await readFile(configFile, 'utf8')) as KuboConfig
  c.Addresses.API = `/ip4/127.0.0.1/tcp/${apiPort}`
  c.Addresses.Swarm = ['/ip4/127.0.0.1/tcp/0']
  c.Swarm = { ...c.Swarm, DisableNatPortMap: true }
  if (!privateSwarm) {
    c.Bootstrap = []
    c.AutoConf = { ...c.AutoConf, Enabled: false }
    c.Routing = { ...c.Routing, Type: 'dht', DelegatedRouters: [] }
    c.Ipns = { ...c.Ipns, DelegatedPublishers: [] }
    c.DNS = { ...c.DNS, Resolvers: {} }
    c.AutoTLS = { ...c.AutoTLS, Enabled: false }
    const transports = c.Swarm.Transports ?? {}
    c.Swarm = { ...c.Swarm, Transports: { ...transports, Network: { ...transports.Network, Websocket: false } } }
  }
  await writeFile(configFile, JSON.stringify(c, null, 2))
  return c.Identity.PeerID
}

interface KuboConfig {
  Identity: { PeerID: string }
  Addresses: { API: string | string[], Gateway: string | string[], Swarm: string[] }
  Bootstrap: string[]
  AutoConf?: Record<string, unknown>
  Routing?: Record<string, unknown>
  Ipns?: Record<string, unknown>
  Swarm?: { Transports?: { Network?: Record<string, unknown> } } & Record<string, unknown>
  DNS?: Record<string, unknown>
  AutoTLS?: Record<string, unknown>
}

/** Calls a Kubo RPC command (always POST) and parses the JSON answer. */
export async function rpc<T> (apiUrl: string, command: string, params: Record<string, string> = {}): Promise<T> {
  const res = await kuboFetch(apiUrl, command, params)
  const text = await res.text()
  if (!res.ok) throw new Error(`kubo ${command} -> ${res.status}: ${text}`)
  return JSON.parse(text) as T
}

/** The raw response of a Kubo RPC command, for binary answers (cat) and error checks. */
export async function kuboFetch (apiUrl: string, command: string, params: Record<string, string> = {}, body?: FormData): Promise<Response> {
  const qs = new URLSearchParams(params).toString()
  return await fetch(`${apiUrl}/api/v0/${command}${qs === '' ? '' : `?${qs}`}`, {
    method: 'POST',
    ...(body === undefined ? {} : { body }),
    signal: AbortSignal.timeout(30_000)
  })
}

function httpUrl (apiAddr: string | undefined): string {
  const m = /^\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(apiAddr ?? '')
  if (m === null) throw new Error(`no usable "RPC API server listening on" line (got ${String(apiAddr)})`)
  return `http://${m[1] ?? ''}:${m[2] ?? ''}`
}

function lines (stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buf = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    buf += chunk
    let i
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i))
      buf = buf.slice(i + 1)
    }
  })
  stream.on('end', () => { if (buf !== '') onLine(buf) })
}

/** Runs a container's command to completion, as the kubelet runs an init container. */
async function run (container: V1Container, env: NodeJS.ProcessEnv): Promise<void> {
  const [command = '', ...args] = [...(container.command ?? []), ...(container.args ?? [])]
  const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`the ${container.name} container exited with ${String(code)}: ${out}`)
}

async function exists (file: string): Promise<boolean> {
  return await readFile(file).then(() => true, () => false)
}
