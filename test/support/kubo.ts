// Real Kubo (IPFS) daemons for mesh tests and benchmarks, configured like the operator's
// sidecar (operator/src/render/kubo.ts, KUBO_INIT_SCRIPT) but on loopback with
// kernel-picked ports, so many can run on one host. The binary comes from
// scripts/fetch-kubo.sh.
import { spawn } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

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
  /** The repository (IPFS_PATH); created when missing, re-configured when it exists. */
  dir: string
  /** swarm.key file text; undefined = public swarm (no key). */
  swarmKey?: string
  /** LIBP2P_FORCE_PNET=1; defaults to true when swarmKey is set, as in the operator. */
  forcePnet?: boolean
  /** How long to wait for "Daemon is ready"; default 60 s. */
  readyTimeoutMs?: number
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

export async function startKubo (init: KuboInit): Promise<KuboDaemon> {
  const bin = kuboBinary()
  const repo = init.dir
  const env: NodeJS.ProcessEnv = { ...process.env, IPFS_PATH: repo }
  delete env.LIBP2P_FORCE_PNET
  if (init.forcePnet ?? init.swarmKey !== undefined) env.LIBP2P_FORCE_PNET = '1'

  await mkdir(repo, { recursive: true })
  const configFile = join(repo, 'config')
  if (!await exists(configFile)) await run(bin, ['init', '--empty-repo'], env)
  const peerId = await configure(configFile, repo, init.swarmKey)

  const child = spawn(bin, ['daemon'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
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

// Edits the JSON config directly: one `ipfs config` process per key costs ~100 ms each.
async function configure (configFile: string, repo: string, swarmKey: string | undefined): Promise<string> {
  const c = JSON.parse(await readFile(configFile, 'utf8')) as KuboConfig
  c.Addresses.API = '/ip4/127.0.0.1/tcp/0'
  c.Addresses.Gateway = []
  c.Addresses.Swarm = ['/ip4/127.0.0.1/tcp/0']
  c.Discovery.MDNS.Enabled = false
  // Always private-swarm style, keyed or not: a test must never reach the public network.
  c.Bootstrap = []
  c.AutoConf = { ...c.AutoConf, Enabled: false }
  c.Routing = { ...c.Routing, Type: 'dht', DelegatedRouters: [] }
  c.Ipns = { ...c.Ipns, DelegatedPublishers: [] }
  // Beyond the operator's script, each to keep an ERROR line out of Kubo's log with no
  // change in behaviour: the default DNS.Resolvers {".": "auto"} is dropped with AutoConf
  // off (OS resolver); under a swarm key Kubo disables AutoTLS itself, and cannot share
  // the TCP listener with WebSocket (we listen on plain TCP only).
  c.DNS = { ...c.DNS, Resolvers: {} }
  c.AutoTLS = { ...c.AutoTLS, Enabled: false }
  const transports = c.Swarm?.Transports ?? {}
  c.Swarm = {
    ...c.Swarm,
    Transports: { ...transports, Network: { ...transports.Network, Websocket: false } },
    // Nothing to map on loopback; spares a UPnP/NAT-PMP probe per start.
    DisableNatPortMap: true
  }
  await writeFile(configFile, JSON.stringify(c, null, 2))
  const keyFile = join(repo, 'swarm.key')
  await rm(keyFile, { force: true })
  if (swarmKey !== undefined) {
    await writeFile(keyFile, swarmKey)
    await chmod(keyFile, 0o400)
  }
  return c.Identity.PeerID
}

interface KuboConfig {
  Identity: { PeerID: string }
  Addresses: { API: string | string[], Gateway: string | string[], Swarm: string[] }
  Discovery: { MDNS: { Enabled: boolean } }
  Bootstrap: string[]
  AutoConf?: Record<string, unknown>
  Routing?: Record<string, unknown>
  Ipns?: Record<string, unknown>
  Swarm?: { Transports?: { Network?: Record<string, unknown> } } & Record<string, unknown>
  DNS?: Record<string, unknown>
  AutoTLS?: Record<string, unknown>
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

async function run (bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', resolve)
  })
  if (code !== 0) throw new Error(`ipfs ${args.join(' ')} exited with ${String(code)}: ${out}`)
}

async function exists (file: string): Promise<boolean> {
  return await readFile(file).then(() => true, () => false)
}
