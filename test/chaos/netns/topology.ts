// A chaos topology: one network namespace per node, all joined to a bridge in a hub
// namespace by veth pairs, plus one veth from the host into that bridge so the test
// process reaches every node directly. Faults (faults.ts) live inside the node
// namespaces only, so host<->node traffic is never touched.
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { alive, run } from '../../support/processes.ts'

/** Every name this harness makes starts with this, so a later run can sweep leftovers. */
export const NAME_PREFIX = 'dawn-chaos-'
/** 10.77.<k>.0/24: clear of the cluster harness (10.244, 10.96, 10.250) and test/support/netns.ts (10.213). */
const SUBNET_BASE = '10.77'
const HOST_OCTET = 254
/** The chains faults.ts fills in every node namespace: blocks (INPUT and OUTPUT), then link faults. */
export const CHAOS_CHAIN = 'DAWN-CHAOS'
export const LINK_IN_CHAIN = 'DAWN-LINK-IN'
export const LINK_OUT_CHAIN = 'DAWN-LINK-OUT'
/** Every node listens on the same ports at its own address, like pods. */
export const P2P_PORT = 4001
export const HTTP_PORT = 8080
/** The node-side interface name inside each namespace (like a pod's eth0). */
export const NODE_IF = 'eth0'

export interface NodeNs {
  index: number
  /** The network namespace's name (`ip netns exec <netns>`). */
  netns: string
  /** The node's address on the bridge. */
  addr: string
  /** The bridge-side end of the node's veth, in the hub namespace. */
  hubIf: string
  /** Prefix for a command run inside the namespace. */
  exec: string[]
}

export interface Topology {
  id: string
  size: number
  /** `10.77.<k>`: node i is `<prefix>.<i+1>`, the host `<prefix>.254`. */
  prefix: string
  subnet: string
  hub: string
  hostAddr: string
  hostIf: string
  nodes: NodeNs[]
  addr: (i: number) => string
  /** Runs a command inside node i's namespace; rejects with its stderr. */
  exec: (i: number, cmd: string, args: string[]) => Promise<string>
  /** Kills what still runs in the namespaces and deletes them all; safe to call twice. */
  remove: () => void
}

export class TopologyError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'TopologyError'
  }
}

const OWNERS = join(tmpdir(), 'dawn-chaos-owners')

function sh (cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
}

/** Checks root and the tools, with the command that installs what is missing. */
export function requireNetnsTools (): void {
  if (process.getuid?.() !== 0) throw new TopologyError('chaos tests need root: they build network namespaces, bridges and iptables rules; run them as root')
  for (const [tool, pkg] of [['ip', 'iproute2'], ['iptables', 'iptables'], ['tc', 'iproute2'], ['ss', 'iproute2']] as const) {
    try { sh(tool, '-V') } catch { throw new TopologyError(`\`${tool}\` is missing: run sh scripts/install-debian-packages.sh (or apt-get install -y ${pkg})`) }
  }
}

interface Owner { id: string, pid: number, k: number }

function readOwners (): Owner[] {
  let files: string[]
  try { files = readdirSync(OWNERS) } catch { return [] }
  const owners: Owner[] = []
  for (const f of files) {
    try { owners.push(JSON.parse(readFileSync(join(OWNERS, f), 'utf8')) as Owner) } catch { /* half-written: its owner is still creating it */ }
  }
  return owners
}

/**
 * Deletes namespaces and subnet claims left by runs that died (their owner process is gone),
 * killing whatever still runs inside them. Live runs' topologies are left alone.
 */
export function sweepLeftovers (): string[] {
  const live = new Set(readOwners().filter(o => alive(o.pid)).map(o => o.id))
  for (const o of readOwners()) if (!live.has(o.id)) rmSync(join(OWNERS, `${o.k}.json`), { force: true })
  const swept: string[] = []
  for (const ns of listNamespaces()) {
    const id = new RegExp(`^${NAME_PREFIX}([0-9a-f]+)-`).exec(ns)?.[1]
    if (id === undefined || live.has(id)) continue
    deleteNamespace(ns)
    swept.push(ns)
  }
  // The host's end of a hub veth usually goes with the hub; drop any that outlived it.
  for (const line of sh('ip', '-o', 'link', 'show').split('\n')) {
    const m = /^\d+: (dc([0-9a-f]{6})h)[@:]/.exec(line)
    if (m?.[1] === undefined || live.has(m[2] ?? '')) continue
    try { sh('ip', 'link', 'del', m[1]) } catch { /* already gone */ }
    swept.push(m[1])
  }
  return swept
}

function listNamespaces (): string[] {
  return sh('ip', 'netns', 'list').split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n.startsWith(NAME_PREFIX))
}

function deleteNamespace (ns: string): void {
  let pids: number[] = []
  try { pids = sh('ip', 'netns', 'pids', ns).split('\n').filter(Boolean).map(Number) } catch { /* gone */ }
  for (const pid of pids) {
    try { process.kill(pid, 'SIGCONT') } catch { /* gone */ }
    try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
  }
  // A namespace is only freed when its last process has exited.
  const deadline = Date.now() + 5000
  while (pids.some(p => alive(p)) && Date.now() < deadline) execFileSync('sleep', ['0.05'])
  try { sh('ip', 'netns', 'del', ns) } catch { /* already gone */ }
}

/** Claims a free 10.77.<k>.0/24 with an exclusive file, so concurrent runs never share one. */
function claimSubnet (id: string): number {
  mkdirSync(OWNERS, { recursive: true })
  const used = sh('ip', '-4', '-o', 'addr', 'show')
  const start = randomBytes(1)[0] ?? 0
  for (let n = 0; n < 250; n++) {
    const k = 1 + ((start + n) % 250)
    if (used.includes(` ${SUBNET_BASE}.${k}.`)) continue
    try {
      writeFileSync(join(OWNERS, `${k}.json`), JSON.stringify({ id, pid: process.pid, k }), { flag: 'wx' })
      return k
    } catch { /* taken */ }
  }
  throw new TopologyError(`no free ${SUBNET_BASE}.<k>.0/24 subnet left for a chaos topology`)
}

// Clean-up that must run however the process ends: a failed test, Ctrl-C, SIGTERM.
const cleanups = new Set<() => void>()
let hooked = false
function onExit (fn: () => void): void {
  cleanups.add(fn)
  if (hooked) return
  hooked = true
  const runAll = (): void => { for (const c of [...cleanups]) c() }
  process.on('exit', runAll)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      runAll()
      // Nobody else handles it: die of it as we would have without this hook.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig)
    })
  }
}

/** Builds the hub, the bridge, one namespace per node and the host's veth into the bridge. */
export function createTopology (opts: { nodes: number }): Topology {
  requireNetnsTools()
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 200) throw new TopologyError(`nodes must be 1..200, got ${opts.nodes}`)
  sweepLeftovers()
  const id = randomBytes(3).toString('hex')
  const k = claimSubnet(id)
  const prefix = `${SUBNET_BASE}.${k}`
  const hub = `${NAME_PREFIX}${id}-hub`
  const hostIf = `dc${id}h`
  const nodes: NodeNs[] = Array.from({ length: opts.nodes }, (_, i) => {
    const netns = `${NAME_PREFIX}${id}-n${i}`
    return { index: i, netns, addr: `${prefix}.${i + 1}`, hubIf: `dc${id}n${i}`, exec: ['ip', 'netns', 'exec', netns] }
  })
  let removed = false
  const remove = (): void => {
    if (removed) return
    removed = true
    cleanups.delete(remove)
    for (const n of nodes) deleteNamespace(n.netns)
    deleteNamespace(hub)
    try { sh('ip', 'link', 'del', hostIf) } catch { /* went with the hub */ }
    rmSync(join(OWNERS, `${k}.json`), { force: true })
  }
  onExit(remove)
  try {
    sh('ip', 'netns', 'add', hub)
    sh('ip', '-n', hub, 'link', 'add', 'br0', 'type', 'bridge')
    sh('ip', '-n', hub, 'link', 'set', 'br0', 'up')
    sh('ip', '-n', hub, 'link', 'set', 'lo', 'up')
    for (const n of nodes) {
      sh('ip', 'netns', 'add', n.netns)
      // Created inside the hub, then one end moved: the host never holds a node's veth.
      sh('ip', '-n', hub, 'link', 'add', n.hubIf, 'type', 'veth', 'peer', 'name', NODE_IF, 'netns', n.netns)
      sh('ip', '-n', hub, 'link', 'set', n.hubIf, 'master', 'br0', 'up')
      sh('ip', '-n', n.netns, 'addr', 'add', `${n.addr}/24`, 'dev', NODE_IF)
      sh('ip', '-n', n.netns, 'link', 'set', NODE_IF, 'up')
      sh('ip', '-n', n.netns, 'link', 'set', 'lo', 'up')
      execFileSync('ip', ['netns', 'exec', n.netns, 'iptables-restore', '-w'], {
        input: ['*filter', `:${CHAOS_CHAIN} - [0:0]`, `:${LINK_IN_CHAIN} - [0:0]`, `:${LINK_OUT_CHAIN} - [0:0]`,
          `-A INPUT -j ${CHAOS_CHAIN}`, `-A INPUT -j ${LINK_IN_CHAIN}`, `-A OUTPUT -j ${CHAOS_CHAIN}`, `-A OUTPUT -j ${LINK_OUT_CHAIN}`, 'COMMIT', ''].join('\n'),
        stdio: ['pipe', 'ignore', 'pipe']
      })
    }
    sh('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'host0', 'netns', hub)
    sh('ip', '-n', hub, 'link', 'set', 'host0', 'master', 'br0', 'up')
    sh('ip', 'addr', 'add', `${prefix}.${HOST_OCTET}/24`, 'dev', hostIf)
    sh('ip', 'link', 'set', hostIf, 'up')
  } catch (err) {
    remove()
    const e = err as Error & { stderr?: string }
    throw new TopologyError(`building the chaos topology failed: ${e.message}${e.stderr !== undefined ? `\n${e.stderr}` : ''}`)
  }
  const nodeAt = (i: number): NodeNs => {
    const n = nodes[i]
    if (n === undefined) throw new TopologyError(`no node ${i} in a topology of ${nodes.length}`)
    return n
  }
  return {
    id,
    size: nodes.length,
    prefix,
    subnet: `${prefix}.0/24`,
    hub,
    hostAddr: `${prefix}.${HOST_OCTET}`,
    hostIf,
    nodes,
    addr: i => nodeAt(i).addr,
    exec: async (i, cmd, args) => await run('ip', ['netns', 'exec', nodeAt(i).netns, cmd, ...args]),
    remove
  }
}
