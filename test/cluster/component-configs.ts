// Pure renderers of the cluster components' configuration files. No I/O: the harness
// writes what these return.
import { join } from 'node:path'
import {
  APISERVER_PORT, CGROUP_ROOT, CLUSTER_DNS, CLUSTER_DOMAIN, CNI_BRIDGE, NODE_IP, NODE_NAME, POD_CIDR, POD_SUBNET, type ClusterPaths
} from './layout.ts'
import { CGROUP_DRIVER, FAIL_CGROUP_V1, IMAGE_GC_HIGH_THRESHOLD_PERCENT, RESTRICT_OOM_SCORE_ADJ } from './machine-quirks.ts'

/** The sandbox ("pause") image, built locally by images/ and imported before the kubelet starts. */
export const PAUSE_IMAGE = 'dawn.local/pause:3.10'
export const CNI_BIN_DIR = '/usr/lib/cni'

/** containerd 1.6 config (version 2 schema), everything under the cluster's own directories. */
export function containerdConfig (p: ClusterPaths): string {
  return `version = 2
root = "${p.containerdRoot}"
state = "${p.containerdState}"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${p.containerdSocket}"

[ttrpc]
  address = "${p.containerdSocket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  restrict_oom_score_adj = ${String(RESTRICT_OOM_SCORE_ADJ)}
  # Pod network namespaces under the runtime state dir, not the host's /run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  enable_selinux = false
  disable_apparmor = true
  tolerate_missing_hugetlb_controller = true
  disable_hugetlb_controller = true

  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${p.cniConfDir}"
    max_conf_num = 1

  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"

    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = ${String((CGROUP_DRIVER as string) === 'systemd')}
`
}

/** One bridge for all pods, host-local IPAM, masquerade off the pod range; portmap for hostPort. */
export function cniConfig (): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'dawn-cluster',
    plugins: [
      {
        type: 'bridge',
        bridge: CNI_BRIDGE,
        isGateway: true,
        ipMasq: true,
        // A pod reaching itself through a Service comes back over the bridge.
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: POD_SUBNET }]], routes: [{ dst: '0.0.0.0/0' }] }
      },
      { type: 'portmap', capabilities: { portMappings: true } }
    ]
  }, null, 2) + '\n'
}

export function kubeletConfig (p: ClusterPaths): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: FAIL_CGROUP_V1,
    cgroupDriver: CGROUP_DRIVER,
    cgroupRoot: `/${CGROUP_ROOT}`,
    cgroupsPerQOS: true,
    enforceNodeAllocatable: ['pods'],
    containerRuntimeEndpoint: `unix://${p.containerdSocket}`,
    address: NODE_IP,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: false },
      x509: { clientCAFile: join(p.pki, 'ca.crt') }
    },
    // Only the apiserver (client cert from the cluster CA) can reach the kubelet, inside the namespace.
    authorization: { mode: 'AlwaysAllow' },
    clusterDomain: CLUSTER_DOMAIN,
    clusterDNS: [CLUSTER_DNS],
    // Pods resolve only cluster names; nothing is forwarded to the host's resolvers.
    resolvConf: join(p.state, 'resolv.conf'),
    failSwapOn: false,
    staticPodPath: '',
    rotateCertificates: false,
    serverTLSBootstrap: false,
    serializeImagePulls: false,
    imageGCHighThresholdPercent: IMAGE_GC_HIGH_THRESHOLD_PERCENT,
    imageGCLowThresholdPercent: IMAGE_GC_HIGH_THRESHOLD_PERCENT - 1,
    // A busy shared disk must not evict test pods; memory pressure still does.
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    volumePluginDir: join(p.state, 'kubelet-plugins'),
    // Status and pod events sooner than the defaults: tests wait on them.
    nodeStatusUpdateFrequency: '4s',
    syncFrequency: '10s',
    // ConfigMap and Secret volumes are re-read on every sync instead of through a 1-minute cache.
    configMapAndSecretChangeDetectionStrategy: 'Watch',
    maxPods: 110,
    podPidsLimit: -1,
    protectKernelDefaults: false,
    shutdownGracePeriod: '0s'
  }, null, 2) + '\n'
}

export function kubeProxyConfig (kubeconfigPath: string): string {
  return JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: kubeconfigPath },
    hostnameOverride: NODE_NAME,
    bindAddress: NODE_IP,
    clusterCIDR: POD_CIDR,
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    // The namespace's conntrack table is the kernel's: leave its limits alone.
    conntrack: { maxPerCore: 0, min: 0 },
    iptables: { masqueradeAll: false, syncPeriod: '10s', minSyncPeriod: '0s' }
  }, null, 2) + '\n'
}

export function kubeSchedulerConfig (kubeconfigPath: string): string {
  return JSON.stringify({
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig: kubeconfigPath },
    leaderElection: { leaderElect: false }
  }, null, 2) + '\n'
}

/**
 * CoreDNS on the node address: the cluster zone from the API, every other name answered
 * NXDOMAIN at once (nothing leaves the namespace).
 */
export function corefile (kubeconfigPath: string): string {
  return `${CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {
    bind ${NODE_IP}
    errors
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfigPath}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
}
.:53 {
    bind ${NODE_IP}
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
`
}

export function resolvConf (): string {
  return '# Pods use the cluster DNS only (kubelet clusterDNS); no upstream resolvers.\n'
}

export { APISERVER_PORT }
