// The cluster's two namespaces. A network namespace holds the node address, pods, Services
// and DNS, so nothing the cluster does reaches the host's interfaces or iptables. A mount
// namespace, shared by containerd and the kubelet (which must see each other's mounts),
// keeps every pod mount off the host's mount table; the kernel drops them all when the
// namespace is released.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { CNI_BRIDGE, NETNS, NODE_IF, NODE_IP, type ClusterPaths } from './layout.ts'

export class NamespaceError extends Error {
  constructor (message: string) { super(message); this.name = 'NamespaceError' }
}

const sh = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

export const netnsPath = (name = NETNS): string => `/run/netns/${name}`

/** The prefix that runs a command in the cluster: its network and mount namespaces. */
export function inCluster (p: ClusterPaths): string[] {
  return ['nsenter', `--net=${netnsPath()}`, `--mount=${p.mntns}`, '--']
}

/** The prefix that runs a command in the cluster's network namespace only (host filesystem view). */
export function inClusterNet (): string[] {
  return ['nsenter', `--net=${netnsPath()}`, '--']
}

export function netnsExists (name = NETNS): boolean {
  return existsSync(netnsPath(name))
}

export function checkPrerequisites (): void {
  if (process.getuid?.() !== 0) throw new NamespaceError('the cluster needs root (network and mount namespaces, containerd, kubelet); run as root')
  for (const [cmd, pkg] of [['ip', 'iproute2'], ['nsenter', 'util-linux'], ['unshare', 'util-linux'], ['iptables', 'iptables'], ['containerd', 'containerd'], ['runc', 'runc']] as const) {
    try { sh('sh', ['-c', `command -v ${cmd}`]) } catch {
      throw new NamespaceError(`\`${cmd}\` is missing (Debian package ${pkg}): run sh scripts/install-debian-packages.sh`)
    }
  }
  if (!existsSync('/usr/lib/cni/bridge')) throw new NamespaceError('the CNI plugins are missing (/usr/lib/cni/bridge): run sh scripts/install-debian-packages.sh')
}

/** Creates the network namespace: loopback, the node address on a veth end, and a default route into it. */
export function createNetwork (): void {
  if (netnsExists()) throw new NamespaceError(`network namespace ${NETNS} already exists: a cluster is running or was not torn down (npm run cluster -- down)`)
  sh('ip', ['netns', 'add', NETNS])
  const ns = (...args: string[]): string => sh('ip', ['netns', 'exec', NETNS, ...args])
  try {
    ns('ip', 'link', 'set', 'lo', 'up')
    // A veth pair with both ends inside (this kernel has no dummy driver): the node's
    // address on one end, nothing on the other.
    ns('ip', 'link', 'add', NODE_IF, 'type', 'veth', 'peer', 'name', `${NODE_IF}-void`)
    ns('ip', 'addr', 'add', `${NODE_IP}/24`, 'dev', NODE_IF)
    ns('ip', 'link', 'set', `${NODE_IF}-void`, 'up')
    ns('ip', 'link', 'set', NODE_IF, 'up')
    // Components that look for "the" interface find the node's; packets to anywhere else
    // leave through it into the void end and vanish.
    ns('ip', 'route', 'add', 'default', 'dev', NODE_IF)
    ns('sysctl', '-qw', 'net.ipv4.ip_forward=1')
    // Service traffic between pods on one bridge must pass iptables for kube-proxy's NAT.
    writeIfPresent('/proc/sys/net/bridge/bridge-nf-call-iptables', '1')
  } catch (e) {
    removeNetwork()
    throw e
  }
}

function writeIfPresent (file: string, value: string): void {
  // Written through the namespace: /proc/sys/net reflects the writer's network namespace.
  try { sh('ip', ['netns', 'exec', NETNS, 'sh', '-c', `[ ! -e ${file} ] || echo ${value} > ${file}`]) } catch { /* not namespaced on this kernel */ }
}

export function removeNetwork (): void {
  if (!netnsExists()) return
  try { sh('ip', ['netns', 'del', NETNS]) } catch (e) {
    // Still mounted elsewhere or busy: detach it so the name is free; the kernel frees it with its last user.
    try { sh('umount', ['-l', netnsPath()]) } catch { /* not mounted */ }
    try { rmSync(netnsPath(), { force: true }) } catch { throw e }
  }
}

/**
 * Creates the persistent mount namespace at `p.mntns` (private propagation) and, inside it,
 * binds the kubelet's state over /var/lib/kubelet: the kubelet hard-codes
 * /var/lib/kubelet/device-plugins whatever its --root-dir. Returns whether /var/lib/kubelet
 * had to be created on the host (an empty directory, removed again by `down`).
 */
export function createMountNamespace (p: ClusterPaths): { createdVarLibKubelet: boolean } {
  mkdirSync(p.run, { recursive: true })
  // A namespace file may not live on a shared mount; make the run dir a private mount of its own.
  sh('mount', ['--bind', p.run, p.run])
  sh('mount', ['--make-private', p.run])
  writeFileSync(p.mntns, '')
  const createdVarLibKubelet = !existsSync('/var/lib/kubelet')
  mkdirSync('/var/lib/kubelet', { recursive: true })
  mkdirSync(p.kubeletRoot, { recursive: true })
  try {
    sh('unshare', [`--mount=${p.mntns}`, '--propagation', 'private', 'mount', '--bind', p.kubeletRoot, '/var/lib/kubelet'])
  } catch (e) {
    removeMountNamespace(p, createdVarLibKubelet)
    throw e
  }
  return { createdVarLibKubelet }
}

export function removeMountNamespace (p: ClusterPaths, createdVarLibKubelet: boolean): void {
  for (const target of [p.mntns, p.run]) {
    if (isMountPoint(target)) { try { sh('umount', ['-l', target]) } catch { /* already gone */ } }
  }
  if (createdVarLibKubelet) { try { rmdirSync('/var/lib/kubelet') } catch { /* not empty: not ours to delete */ } }
}

/** Mount points in the host's mount table at or under `dir`. */
export function mountsUnder (dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .map(line => line.split(' ')[4] ?? '')
    .map(m => m.replace(/\\040/g, ' '))
    .filter(m => m === dir || m.startsWith(`${dir}/`))
}

export function isMountPoint (dir: string): boolean {
  return mountsUnder(dir).includes(dir)
}

/** Interfaces of the cluster namespace, for status and failure dumps. */
export function describeNetwork (): string {
  if (!netnsExists()) return `(no network namespace ${NETNS})`
  try { return sh('ip', ['netns', 'exec', NETNS, 'ip', '-br', 'addr']) + `bridge ${CNI_BRIDGE} ${sh('ip', ['netns', 'exec', NETNS, 'sh', '-c', `ip -br link show ${CNI_BRIDGE} 2>/dev/null || echo absent`]).trim()}` } catch (e) { return String(e) }
}
