// Command lines of etcd, kube-apiserver and kube-controller-manager, shared by the
// control-plane tier (loopback, no kubelet) and the single-node cluster (in its namespace).
import { join } from 'node:path'
import { SERVICE_CIDR } from './pki.ts'

export function etcdArgs (o: { dataDir: string, clientUrl: string, peerUrl: string }): string[] {
  return [
    '--name=dawn', `--data-dir=${o.dataDir}`,
    `--listen-client-urls=${o.clientUrl}`, `--advertise-client-urls=${o.clientUrl}`,
    `--listen-peer-urls=${o.peerUrl}`, `--initial-advertise-peer-urls=${o.peerUrl}`,
    `--initial-cluster=dawn=${o.peerUrl}`, '--initial-cluster-state=new',
    // Test data is disposable: skip fsync (much faster on shared disks).
    '--unsafe-no-fsync=true', '--log-level=warn'
  ]
}

export interface ApiserverArgs {
  etcdUrl: string
  pki: string
  bindAddress: string
  port: number
  advertiseAddress: string
  /** Where the apiserver writes generated certs it never needs (kept inside the state dir). */
  certDir: string
  /** Client certificate for calls to kubelets (logs, exec, port-forward); none without a kubelet. */
  kubeletClient?: string
}

export function apiserverArgs (o: ApiserverArgs): string[] {
  return [
    `--etcd-servers=${o.etcdUrl}`,
    `--bind-address=${o.bindAddress}`, `--secure-port=${o.port}`, `--advertise-address=${o.advertiseAddress}`,
    // The endpoint reconciler refuses a loopback advertise address; without pods nothing needs
    // the `kubernetes` Service's endpoints.
    ...(o.advertiseAddress.startsWith('127.') ? ['--endpoint-reconciler-type=none'] : []),
    `--tls-cert-file=${join(o.pki, 'apiserver.crt')}`, `--tls-private-key-file=${join(o.pki, 'apiserver.key')}`,
    `--client-ca-file=${join(o.pki, 'ca.crt')}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${join(o.pki, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(o.pki, 'sa.key')}`,
    '--authorization-mode=Node,RBAC',
    '--allow-privileged=true',
    ...(o.kubeletClient === undefined
      ? []
      : [`--kubelet-client-certificate=${join(o.pki, `${o.kubeletClient}.crt`)}`, `--kubelet-client-key=${join(o.pki, `${o.kubeletClient}.key`)}`,
          '--kubelet-preferred-address-types=InternalIP']),
    `--cert-dir=${o.certDir}`,
    '--profiling=false'
  ]
}

export function controllerManagerArgs (o: { kubeconfig: string, pki: string, port: number, stateDir: string }): string[] {
  return [
    `--kubeconfig=${o.kubeconfig}`,
    // No --authentication-/--authorization-kubeconfig: its own /healthz etc. are always
    // allowed, and delegated authn would need a front-proxy CA (it logs errors without one).
    '--use-service-account-credentials=true',
    '--controllers=*',
    '--leader-elect=false',
    `--service-account-private-key-file=${join(o.pki, 'sa.key')}`,
    `--root-ca-file=${join(o.pki, 'ca.crt')}`,
    `--cluster-signing-cert-file=${join(o.pki, 'ca.crt')}`, `--cluster-signing-key-file=${join(o.pki, 'ca.key')}`,
    '--bind-address=127.0.0.1', `--secure-port=${o.port}`, `--cert-dir=${join(o.stateDir, 'controller-manager-certs')}`,
    // Default is /usr/libexec/kubernetes/..., which it would create on the host.
    `--flex-volume-plugin-dir=${join(o.stateDir, 'flexvolume')}`,
    '--profiling=false'
  ]
}
