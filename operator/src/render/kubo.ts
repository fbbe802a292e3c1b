// The Kubo (IPFS) sidecar. The image's own entrypoint configures the repository only
// once, at init, and binds the API and gateway to 0.0.0.0 (the gateway on 8080, the
// node's HTTP port), so we run our own init container instead: it creates the repository
// when missing and re-applies our settings and the swarm key on every start.
import type { V1Container, V1EnvVar, V1VolumeMount } from '@kubernetes/client-node'
import { KUBO_API_PORT, KUBO_SWARM_PORT, type DawnNode } from '../api/dawn-node.ts'
import { VOLUME_CLAIMS } from './names.ts'
import { KUBO_REPO_DIR, PSK_DIR, SWARM_KEY_FILE, TMP_DIR } from './paths.ts'
import { containerResources } from './resources.ts'
import { restrictedContainerSecurityContext, tmpMount } from './security.ts'

export const KUBO_CONTAINER = 'kubo'
export const KUBO_INIT_CONTAINER = 'kubo-init'
export const KUBO_SWARM_PORT_NAME = 'kubo-swarm'
export const PSK_VOLUME = 'psk'

/**
 * Runs in the Kubo image (busybox sh). RPC API on loopback only: anyone who reaches it
 * controls the store. No gateway, no mDNS. In a private swarm: no public bootstrap peers,
 * no AutoConf or delegated routing (they would reach the public network), and the PSK
 * copied in on every start so a rotated key applies on restart.
 */
export const KUBO_INIT_SCRIPT = `set -eu
if [ ! -f "$IPFS_PATH/config" ]; then ipfs init --empty-repo; fi
ipfs config Addresses.API /ip4/127.0.0.1/tcp/${KUBO_API_PORT}
ipfs config --json Addresses.Gateway '[]'
ipfs config --json Addresses.Swarm '["/ip4/0.0.0.0/tcp/${KUBO_SWARM_PORT}"]'
ipfs config --json Discovery.MDNS.Enabled false
rm -f "$IPFS_PATH/swarm.key"
if [ "$DAWN_KUBO_PRIVATE_SWARM" = "true" ]; then
  ipfs config --json Bootstrap '[]'
  ipfs config --json AutoConf.Enabled false
  ipfs config Routing.Type dht
  ipfs config --json Routing.DelegatedRouters '[]'
  ipfs config --json Ipns.DelegatedPublishers '[]'
  # Kubo turns these off itself in a private swarm, logging an ERROR each start; say it once here.
  ipfs config --json DNS.Resolvers '{}'
  ipfs config --json AutoTLS.Enabled false
  ipfs config --json Swarm.Transports.Network.Websocket false
  cp "$DAWN_SWARM_KEY_FILE" "$IPFS_PATH/swarm.key"
  chmod 0400 "$IPFS_PATH/swarm.key"
else
  ipfs config --json AutoConf.Enabled true
  ipfs bootstrap add default >/dev/null
fi
`

function kuboEnv (privateSwarm: boolean): V1EnvVar[] {
  const env: V1EnvVar[] = [
    { name: 'IPFS_PATH', value: KUBO_REPO_DIR },
    { name: 'HOME', value: TMP_DIR }
  ]
  // Kubo refuses to start without a swarm key instead of silently joining the public network.
  if (privateSwarm) env.push({ name: 'LIBP2P_FORCE_PNET', value: '1' })
  return env
}

const kuboRepoMount = (): V1VolumeMount => ({ name: VOLUME_CLAIMS.kubo, mountPath: KUBO_REPO_DIR })

export function kuboInitContainer (pool: DawnNode, privateSwarm: boolean): V1Container {
  const { kubo } = pool.spec
  const resources = containerResources(kubo.resources)
  return {
    name: KUBO_INIT_CONTAINER,
    image: kubo.image,
    ...(kubo.imagePullPolicy === undefined ? {} : { imagePullPolicy: kubo.imagePullPolicy }),
    command: ['/bin/sh', '-c', KUBO_INIT_SCRIPT],
    env: [
      ...kuboEnv(privateSwarm),
      { name: 'DAWN_KUBO_PRIVATE_SWARM', value: String(privateSwarm) },
      { name: 'DAWN_SWARM_KEY_FILE', value: SWARM_KEY_FILE }
    ],
    ...(resources === undefined ? {} : { resources }),
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [
      kuboRepoMount(),
      ...(privateSwarm ? [{ name: PSK_VOLUME, mountPath: PSK_DIR, readOnly: true }] : []),
      tmpMount()
    ]
  }
}

export function kuboContainer (pool: DawnNode, privateSwarm: boolean): V1Container {
  const { kubo } = pool.spec
  const resources = containerResources(kubo.resources)
  return {
    name: KUBO_CONTAINER,
    image: kubo.image,
    ...(kubo.imagePullPolicy === undefined ? {} : { imagePullPolicy: kubo.imagePullPolicy }),
    // Bypass the image's entrypoint: the repository is prepared by the init container.
    command: ['ipfs'],
    args: ['daemon', '--migrate=true'],
    env: kuboEnv(privateSwarm),
    ports: [{ name: KUBO_SWARM_PORT_NAME, containerPort: KUBO_SWARM_PORT, protocol: 'TCP' }],
    // The RPC API is on loopback, out of the kubelet's reach; the swarm port is not.
    startupProbe: { tcpSocket: { port: KUBO_SWARM_PORT_NAME }, periodSeconds: 2, failureThreshold: 90 },
    livenessProbe: { tcpSocket: { port: KUBO_SWARM_PORT_NAME }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 6 },
    ...(resources === undefined ? {} : { resources }),
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [kuboRepoMount(), tmpMount()]
  }
}
