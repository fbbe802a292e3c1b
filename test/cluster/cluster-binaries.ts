// The binaries of the single-node cluster: the control plane's, plus the node's components
// and CoreDNS, all built by test/controlplane/fetch-binaries.sh at the pinned versions.
import { accessSync, constants as fsConstants } from 'node:fs'
import { join } from 'node:path'
import { cacheDir, FETCH_COMMAND, kubectlPath, pinnedVersions, resolveBinaries } from '../controlplane/controlplane.ts'

export const NODE_COMPONENTS = ['kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl'] as const
export type ClusterComponent = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | typeof NODE_COMPONENTS[number] | 'coredns' | 'containerd'
export type ClusterBinaries = Record<ClusterComponent, string>

export class MissingClusterBinariesError extends Error {
  constructor (missing: string[]) {
    super(`Cluster binaries are missing:\n  ${missing.join('\n  ')}\nBuild them once (from Go modules, cached by version) with:\n  ${FETCH_COMMAND}\n` +
      'and install containerd, runc and the CNI plugins with:\n  sh scripts/install-debian-packages.sh')
    this.name = 'MissingClusterBinariesError'
  }
}

export function resolveClusterBinaries (): ClusterBinaries {
  const base = resolveBinaries()
  const v = pinnedVersions()
  const k8sDir = process.env.DAWN_K8S_BIN_DIR ?? join(cacheDir(), `k8s-${v.k8s}`, 'bin')
  const bins: ClusterBinaries = {
    etcd: base.etcd,
    'kube-apiserver': base['kube-apiserver'],
    'kube-controller-manager': base['kube-controller-manager'],
    'kube-scheduler': join(k8sDir, 'kube-scheduler'),
    kubelet: join(k8sDir, 'kubelet'),
    'kube-proxy': join(k8sDir, 'kube-proxy'),
    kubectl: kubectlPath(),
    coredns: join(cacheDir(), `coredns-${v.coredns}`, 'bin', 'coredns'),
    containerd: '/usr/bin/containerd'
  }
  const missing = Object.values(bins).filter(p => {
    try { accessSync(p, fsConstants.X_OK); return false } catch { return true }
  })
  if (missing.length > 0) throw new MissingClusterBinariesError(missing)
  return bins
}
