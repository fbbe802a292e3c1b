// Where the single-node cluster lives: its names, addresses and directories. Everything
// network-facing is inside one network namespace the harness creates; the host's
// interfaces, routes and iptables are never touched.
import { join } from 'node:path'
import { cacheDir } from '../controlplane/controlplane.ts'

export { SERVICE_CIDR, SERVICE_IP } from '../controlplane/pki.ts'

/** `ip netns` name of the cluster's network namespace. */
export const NETNS = 'dawn-cluster'
/** The Kubernetes Node object's name (and kubernetes.io/hostname). */
export const NODE_NAME = 'dawn-node'
/** The node's address, on a veth end inside the namespace. Pods reach the apiserver, kubelet and DNS here. */
export const NODE_IP = '10.250.0.1'
export const NODE_IF = 'dawn0'
/** Pod addresses, from the CNI bridge's host-local IPAM. */
export const POD_CIDR = '10.244.0.0/16'
export const POD_SUBNET = '10.244.0.0/24'
export const CNI_BRIDGE = 'cni0'
/** CoreDNS runs host-side in the namespace and listens on the node address. */
export const CLUSTER_DNS = NODE_IP
export const CLUSTER_DOMAIN = 'cluster.local'
export const APISERVER_PORT = 6443
/** cgroup parent of every pod (kubelet --cgroup-root), so teardown finds them all. */
export const CGROUP_ROOT = 'dawn-cluster'

export interface ClusterPaths {
  /** Persistent state: PKI, logs, etcd, containerd's content, volumes. Removed by `down`. */
  state: string
  /** Runtime state on tmpfs: sockets, containerd's task state, the mount namespace file. */
  run: string
  /** The mount namespace every component shares (a bind mount of /proc/<pid>/ns/mnt). */
  mntns: string
  pki: string
  logs: string
  containerdRoot: string
  containerdState: string
  containerdSocket: string
  cniConfDir: string
  kubeletRoot: string
  volumes: string
}

export function clusterPaths (state = join(cacheDir(), 'cluster'), run = '/run/dawn-cluster'): ClusterPaths {
  return {
    state,
    run,
    mntns: join(run, 'mnt'),
    pki: join(state, 'pki'),
    logs: join(state, 'logs'),
    containerdRoot: join(state, 'containerd'),
    containerdState: join(run, 'containerd'),
    containerdSocket: join(run, 'containerd', 'containerd.sock'),
    cniConfDir: join(state, 'cni'),
    kubeletRoot: join(state, 'kubelet'),
    volumes: join(state, 'volumes')
  }
}
