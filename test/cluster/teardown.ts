// Tearing the cluster down so that nothing is left: processes (including containerd's shims
// and every container, which outlive containerd), cgroups, mounts, namespaces and state.
// `leftovers()` reports what remains; the e2e tier asserts it is empty after `down`.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { alive, sleep } from '../support/processes.ts'
import { cgroupProcesses, clusterCgroups, removeCgroups } from './cgroups.ts'
import { NETNS, type ClusterPaths } from './layout.ts'
import { mountsUnder, netnsExists, netnsPath, removeMountNamespace, removeNetwork } from './namespaces.ts'

function pids (): number[] {
  return readdirSync('/proc').filter(d => /^\d+$/.test(d)).map(Number).filter(p => p !== process.pid)
}

const read = (file: string): string => { try { return readFileSync(file, 'utf8') } catch { return '' } }
const link = (file: string): string => { try { return readlinkSync(file) } catch { return '' } }

/**
 * Processes that belong to the cluster: in its network namespace, in its cgroups, or naming
 * its directories on their command line (containerd's shims, the bridge, the provisioner).
 */
export function clusterProcesses (p: ClusterPaths): number[] {
  let clusterNetns = ''
  try { clusterNetns = `net:[${statSync(netnsPath()).ino}]` } catch { /* gone */ }
  const inCgroups = cgroupProcesses()
  return pids().filter(pid => {
    if (inCgroups.has(pid)) return true
    if (clusterNetns !== '' && link(`/proc/${pid}/ns/net`) === clusterNetns) return true
    const cmdline = read(`/proc/${pid}/cmdline`)
    return cmdline.includes(p.state) || cmdline.includes(p.run)
  })
}

async function killAll (p: ClusterPaths): Promise<number> {
  let killed = 0
  for (let round = 0; round < 20; round++) {
    const victims = clusterProcesses(p)
    if (victims.length === 0) return killed
    for (const pid of victims) { try { process.kill(pid, 'SIGKILL'); killed++ } catch { /* gone */ } }
    const deadline = Date.now() + 3000
    while (victims.some(alive) && Date.now() < deadline) await sleep(50)
  }
  throw new Error(`cluster processes survive SIGKILL: ${clusterProcesses(p).join(', ')}`)
}

export interface TeardownResult { killed: number, leftovers: string[] }

/**
 * Stops everything of the cluster at `p`. Components get SIGTERM first (by their pids, in
 * reverse start order, via `stopComponents`); whatever remains is killed.
 */
export async function teardown (p: ClusterPaths, opts: { createdVarLibKubelet: boolean, stopComponents?: () => Promise<void> }): Promise<TeardownResult> {
  await opts.stopComponents?.()
  const killed = await killAll(p)
  removeCgroups()
  removeMountNamespace(p, opts.createdVarLibKubelet)
  removeNetwork()
  for (const m of mountsUnder(p.run).reverse()) { try { execFileSync('umount', ['-l', m]) } catch { /* gone */ } }
  await rm(p.run, { recursive: true, force: true })
  await rm(p.state, { recursive: true, force: true })
  return { killed, leftovers: leftovers(p) }
}

/** The host's firewall rules (IPv4 and IPv6), without comments and packet counters. */
export function hostFirewallRules (): string {
  let out = ''
  for (const cmd of ['iptables-save', 'ip6tables-save']) {
    try { out += execFileSync(cmd, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) } catch { /* not installed */ }
  }
  return out.split('\n').filter(l => l !== '' && !l.startsWith('#') && !/^:\S+ \S+ \[\d+:\d+\]$/.test(l)).join('\n')
}

/** What a torn-down cluster must not leave: each entry names a leftover. */
export function leftovers (p: ClusterPaths): string[] {
  const found: string[] = []
  for (const pid of clusterProcesses(p)) found.push(`process ${pid}: ${read(`/proc/${pid}/cmdline`).replace(/\0/g, ' ').trim()}`)
  for (const m of [...mountsUnder(p.run), ...mountsUnder(p.state), ...mountsUnder('/var/lib/kubelet')]) found.push(`mount ${m}`)
  if (netnsExists(NETNS)) found.push(`network namespace ${NETNS}`)
  for (const cg of clusterCgroups()) found.push(`cgroup ${cg}`)
  for (const dir of [p.run, p.state]) if (existsSync(dir)) found.push(`directory ${dir}`)
  for (const rule of hostFirewallRules().split('\n')) if (/KUBE-|CNI-/.test(rule)) found.push(`host firewall rule ${rule}`)
  return found
}
