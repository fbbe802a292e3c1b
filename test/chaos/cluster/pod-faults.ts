// Faults inside pods' network namespaces, as shell scripts run there with the node's tools
// (pod-net.ts). Only pod-to-pod packets are touched: the kubelet's probes, DNS, the
// operator and the test's own bridges (none of them a pod of the pool) still reach every
// pod whatever the fault. The same scripts serve the project's cluster and kind.
//
// A cut is a DROP of every packet to and from the peer's address (not only new
// connections) in a chain that INPUT and OUTPUT jump to first, and the sockets already
// open to the peer are destroyed (`ss -K`): the DROPs would swallow their RSTs.
import type { LinkFault } from '../target.ts'
import type { PodNet, PodRef } from './pod-net.ts'

export const CHAOS_CHAIN = 'DAWN-CHAOS'
/** The pod's side of its veth, in the CNI bridge plugin and kind's kindnet alike. */
export const POD_IF = 'eth0'

export interface FaultPod extends PodRef {
  ip: string
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/

function checkIp (ip: string): string {
  // Addresses end up in shell scripts: anything but a dotted quad is refused.
  if (!IPV4.test(ip)) throw new RangeError(`not an IPv4 address: ${JSON.stringify(ip)}`)
  return ip
}

/** Replaces the pod's cut set with `blocked` peers, and destroys its sockets to `killNow`. */
export function cutScript (blocked: readonly string[], killNow: readonly string[]): string {
  const rules = blocked.map(checkIp).flatMap(ip => [`-A ${CHAOS_CHAIN} -s ${ip}/32 -j DROP`, `-A ${CHAOS_CHAIN} -d ${ip}/32 -j DROP`])
  const kill = killNow.map(checkIp).flatMap((ip, n) => n === 0 ? ['dst', ip] : ['or', 'dst', ip])
  return [
    'set -e',
    // Declaring the chain under --noflush empties it: the rules below replace it whole.
    'iptables-restore -w --noflush <<\'EOF\'',
    '*filter',
    `:${CHAOS_CHAIN} - [0:0]`,
    ...rules,
    'COMMIT',
    'EOF',
    `iptables -w -C INPUT -j ${CHAOS_CHAIN} 2>/dev/null || iptables -w -I INPUT 1 -j ${CHAOS_CHAIN}`,
    `iptables -w -C OUTPUT -j ${CHAOS_CHAIN} 2>/dev/null || iptables -w -I OUTPUT 1 -j ${CHAOS_CHAIN}`,
    ...(kill.length > 0 ? [`ss -K -t -n ${kill.join(' ')} >/dev/null`] : []),
    ''
  ].join('\n')
}

/** Delay and loss on the pod's packets to `peers` (egress; the peers' own scripts cover the way back). */
export function flakyScript (fault: LinkFault, peers: readonly string[]): string {
  const netem = [`delay ${fault.delayMs}ms`, ...(fault.jitterMs > 0 ? [`${fault.jitterMs}ms`] : []), `loss ${fault.lossPercent}%`].join(' ')
  return [
    clearFlakyScript().trimEnd(),
    ...(peers.length === 0
      ? []
      : [
          // Bands 1-3 keep the default priomap; only the filters below pick band 4, the netem one.
          `tc qdisc add dev ${POD_IF} root handle 1: prio bands 4`,
          `tc qdisc add dev ${POD_IF} parent 1:4 handle 40: netem ${netem}`,
          ...peers.map(checkIp).map(ip => `tc filter add dev ${POD_IF} parent 1:0 protocol ip prio 1 u32 match ip dst ${ip}/32 flowid 1:4`)
        ]),
    ''
  ].join('\n')
}

export function clearFlakyScript (): string {
  return `tc qdisc del dev ${POD_IF} root 2>/dev/null || true\n`
}

/** Prints the index of every target that accepts a TCP connection on `port` within `timeoutS`. */
export function probeScript (targets: ReadonlyArray<{ index: number, ip: string }>, port: number, timeoutS: number): string {
  return targets.map(t => `( timeout ${timeoutS} bash -c 'exec 3<>/dev/tcp/${checkIp(t.ip)}/${port}' 2>/dev/null && echo ${t.index} ) &`).join('\n') + '\nwait\n'
}

/** Runs `script` with sh in each pod's network namespace, all at once. */
export async function runInPods (net: PodNet, jobs: ReadonlyArray<{ pod: FaultPod, script: string, shell?: 'sh' | 'bash' }>): Promise<string[]> {
  return await Promise.all(jobs.map(async j => await net.exec(j.pod, [j.shell ?? 'sh', '-s'], j.script)))
}
