// Faults inside the node namespaces of a topology. Blocks are iptables DROP rules on
// every packet (not only new connections) in both directions, and the sockets already
// open across a cut are destroyed (`ss -K`) on both ends. Flaky links are delay
// (NFQUEUE + link-delay.c) and loss (statistic match) in the node's namespace. The host's address is never matched: the test process
// keeps reaching every node's HTTP API whatever the fault.
import type { ChildProcess } from 'node:child_process'
import { run } from '../../support/processes.ts'
import { cutPairs, groupsMatrix } from '../matrix.ts'
import type { LinkFault } from '../target.ts'
import { startLinkDelay } from './link-delay.ts'
import { CHAOS_CHAIN, LINK_IN_CHAIN, LINK_OUT_CHAIN, NODE_IF, P2P_PORT, type Topology } from './topology.ts'

export class FaultError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'FaultError'
  }
}

/** The pairs each topology currently blocks ("i-j", i<j). */
const blocked = new WeakMap<Topology, Set<string>>()
const key = (i: number, j: number): string => (i < j ? `${i}-${j}` : `${j}-${i}`)

/** Cuts every link i<->j of `pairs`, in addition to what is already cut. */
export async function blockLinks (topo: Topology, pairs: Array<[number, number]>): Promise<void> {
  const set = blocked.get(topo) ?? new Set<string>()
  const fresh: Array<[number, number]> = []
  for (const [i, j] of pairs) {
    topo.addr(i)
    topo.addr(j)
    if (i === j) throw new FaultError(`cannot cut node ${i} from itself`)
    if (!set.has(key(i, j))) fresh.push([i, j])
    set.add(key(i, j))
  }
  blocked.set(topo, set)
  await applyBlocks(topo, set, new Set(fresh.flat()))
  await killSockets(topo, fresh)
}

/** Nodes in different groups exchange no packets (see groupsMatrix); replaces every earlier block. */
export async function partition (topo: Topology, groups: number[][]): Promise<void> {
  const pairs = cutPairs(groupsMatrix(topo.size, groups))
  const before = blocked.get(topo) ?? new Set<string>()
  const set = new Set(pairs.map(([i, j]) => key(i, j)))
  blocked.set(topo, set)
  await applyBlocks(topo, set, new Set(topo.nodes.map(n => n.index)))
  await killSockets(topo, pairs.filter(([i, j]) => !before.has(key(i, j))))
}

/** Removes every block and every link fault. */
export async function healAll (topo: Topology): Promise<void> {
  blocked.set(topo, new Set())
  await applyBlocks(topo, new Set(), new Set(topo.nodes.map(n => n.index)))
  await clearFlaky(topo)
}

/**
 * Delay and loss on every link of `nodes` (default: all), both directions: packets a
 * flaky node sends to or gets from another node are delayed (one way: delayMs ± jitterMs)
 * and dropped (lossPercent), in its own namespace. This kernel has no netem, so delay is
 * NFQUEUE plus link-delay.c and loss is iptables' statistic match. Packets to and from
 * the host skip both. Replaces earlier link faults of these nodes.
 */
export async function flaky (topo: Topology, fault: LinkFault, nodes: number[] = topo.nodes.map(n => n.index)): Promise<void> {
  const delayers = delayersOf(topo)
  await Promise.all(nodes.map(async i => {
    const n = topo.nodes[i]
    if (n === undefined) throw new FaultError(`no node ${i}`)
    delayers.get(i)?.kill('SIGKILL')
    delayers.delete(i)
    const delayed = fault.delayMs > 0 || fault.jitterMs > 0
    if (delayed) delayers.set(i, await startLinkDelay(n.netns, fault.delayMs, fault.jitterMs))
    const loss = fault.lossPercent > 0 ? ['-m', 'statistic', '--mode', 'random', '--probability', String(fault.lossPercent / 100), '-j', 'DROP'] : undefined
    const rules = (chain: string, dir: '-i' | '-o', addr: '-s' | '-d'): string[] => [
      `-A ${chain} ${addr} ${topo.hostAddr}/32 -j RETURN`,
      ...(loss === undefined ? [] : [`-A ${chain} ${dir} ${NODE_IF} ${addr} ${topo.subnet} ${loss.join(' ')}`]),
      // --queue-bypass: should the delayer die, packets pass instead of vanishing.
      ...(delayed ? [`-A ${chain} ${dir} ${NODE_IF} ${addr} ${topo.subnet} -j NFQUEUE --queue-num 0 --queue-bypass`] : [])
    ]
    await restoreChains(n.netns, { [LINK_IN_CHAIN]: rules(LINK_IN_CHAIN, '-i', '-s'), [LINK_OUT_CHAIN]: rules(LINK_OUT_CHAIN, '-o', '-d') })
  }))
}

export async function clearFlaky (topo: Topology): Promise<void> {
  const delayers = delayersOf(topo)
  await Promise.all(topo.nodes.map(async n => { await restoreChains(n.netns, { [LINK_IN_CHAIN]: [], [LINK_OUT_CHAIN]: [] }) }))
  for (const d of delayers.values()) d.kill('SIGKILL')
  delayers.clear()
}

const delayerMaps = new WeakMap<Topology, Map<number, ChildProcess>>()
function delayersOf (topo: Topology): Map<number, ChildProcess> {
  const m = delayerMaps.get(topo) ?? new Map<number, ChildProcess>()
  delayerMaps.set(topo, m)
  return m
}

/** Replaces the whole content of each named chain (declaring a chain under --noflush empties it). */
async function restoreChains (netns: string, chains: Record<string, string[]>): Promise<void> {
  const lines = ['*filter', ...Object.keys(chains).map(c => `:${c} - [0:0]`), ...Object.values(chains).flat(), 'COMMIT', '']
  await runIn(netns, 'iptables-restore', ['-w', '--noflush'], lines.join('\n'))
}

/**
 * N×N: whether node i opens a TCP connection to node j's `port` (default: the nodes'
 * p2p port) right now, tried from inside i's namespace. A cut link costs the timeout.
 */
export async function probe (topo: Topology, opts: { port?: number, timeoutS?: number } = {}): Promise<boolean[][]> {
  // 3.5 s spans three SYNs (0, 1 s, 3 s), so a lossy link still counts as a link.
  const t = opts.timeoutS ?? 3.5
  const port = opts.port ?? P2P_PORT
  const rows = await Promise.all(topo.nodes.map(async src => {
    const script = topo.nodes.filter(d => d.index !== src.index).map(d =>
      `( timeout ${t} bash -c 'exec 3<>/dev/tcp/${d.addr}/${port}' 2>/dev/null && echo ${d.index} ) &`
    ).join('\n') + '\nwait\n'
    const out = await runIn(src.netns, 'bash', ['-c', script])
    const open = new Set(out.split('\n').filter(Boolean).map(Number))
    return topo.nodes.map(d => d.index === src.index || open.has(d.index))
  }))
  return rows
}

async function applyBlocks (topo: Topology, set: Set<string>, touched: Set<number>): Promise<void> {
  await Promise.all(topo.nodes.filter(n => touched.has(n.index)).map(async n => {
    const peers = [...set].map(p => p.split('-').map(Number) as [number, number])
      .filter(([a, b]) => a === n.index || b === n.index)
      .map(([a, b]) => topo.addr(a === n.index ? b : a))
    await restoreChains(n.netns, { [CHAOS_CHAIN]: peers.flatMap(addr => [`-A ${CHAOS_CHAIN} -s ${addr}/32 -j DROP`, `-A ${CHAOS_CHAIN} -d ${addr}/32 -j DROP`]) })
  }))
}

/** Destroys the TCP sockets open across each pair, on both ends (the DROP rules stop their RSTs). */
async function killSockets (topo: Topology, pairs: Array<[number, number]>): Promise<void> {
  const peersOf = new Map<number, string[]>()
  for (const [i, j] of pairs) {
    peersOf.set(i, [...(peersOf.get(i) ?? []), topo.addr(j)])
    peersOf.set(j, [...(peersOf.get(j) ?? []), topo.addr(i)])
  }
  await Promise.all([...peersOf].map(async ([i, addrs]) => {
    const filter = addrs.flatMap((a, n) => (n === 0 ? ['dst', a] : ['or', 'dst', a]))
    await runIn(topo.nodes[i]?.netns ?? '', 'ss', ['-K', '-t', '-n', ...filter])
  }))
}

async function runIn (netns: string, cmd: string, args: string[], stdin?: string): Promise<string> {
  return await run('ip', ['netns', 'exec', netns, cmd, ...args], undefined, undefined, stdin)
}

