// Each pod holds only its own identity. The pool's identity Secret carries every ordinal's
// key: mounted into the node container, one compromised pod would hold all its siblings'
// keys. So only a short-lived init container mounts the Secret; it copies this pod's key
// and certificate into a memory-backed volume, and the node container mounts only that.
import type { V1Container, V1EnvVar, V1Volume, V1VolumeMount } from '@kubernetes/client-node'
import type { DawnNode } from '../api/dawn-node.ts'
import { identitySecretName } from './names.ts'
import { IDENTITY_DIR, identityCertName, identityKeyName, NODE_CERT_FILE, NODE_KEY_FILE, POOL_IDENTITY_DIR } from './paths.ts'
import { containerResources } from './resources.ts'
import { restrictedContainerSecurityContext, SECRET_MODE } from './security.ts'

export const IDENTITY_INIT_CONTAINER = 'identity-init'
/** The pod's own key and certificate (emptyDir); the only identity volume the node mounts. */
export const IDENTITY_VOLUME = 'identity'
/** The pool's identity Secret with every ordinal's key; only the init container mounts it. */
export const POOL_IDENTITY_VOLUME = 'pool-identity'
/** Set by the StatefulSet controller on every pod (Kubernetes 1.28+). */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index'

/**
 * Runs in the node image (busybox sh, or dash in the Docker-built one). Names files, never prints their
 * content. The ordinal is checked to be a number because it is part of a path. Written
 * through a temporary file and renamed, so a restarted pod replaces a previous copy
 * (mode 0440 is not writable) and the node never sees half a key.
 */
export const IDENTITY_INIT_SCRIPT = `set -eu
fail () { echo "identity-init: $*" >&2; exit 1; }
case "\${POD_ORDINAL:-}" in
  ''|*[!0-9]*) fail "POD_ORDINAL is '\${POD_ORDINAL:-}', not a pod ordinal: the ${POD_INDEX_LABEL} label needs Kubernetes 1.28 or later" ;;
esac
for f in "$DAWN_POOL_KEY_FILE" "$DAWN_POOL_CERT_FILE"; do
  [ -s "$f" ] || fail "$f is missing or empty: the pool's identity Secret has no identity for ordinal $POD_ORDINAL yet"
done
umask 0227
copy () { rm -f "$2.tmp"; cat "$1" > "$2.tmp"; chmod 0440 "$2.tmp"; mv -f "$2.tmp" "$2"; }
copy "$DAWN_POOL_KEY_FILE" "$DAWN_KEY_FILE"
copy "$DAWN_POOL_CERT_FILE" "$DAWN_CERT_FILE"
`

/** What the node reads. Also in the config file; the env wins, so pods do not depend on the ConfigMap's version. */
export function nodeIdentityEnv (): V1EnvVar[] {
  return [
    { name: 'DAWN_KEY_FILE', value: NODE_KEY_FILE },
    { name: 'DAWN_CERT_FILE', value: NODE_CERT_FILE }
  ]
}

export function identityInitContainer (pool: DawnNode): V1Container {
  // The node's resources: init containers run alone, so this adds nothing to the pod's request.
  const resources = containerResources(pool.spec.resources)
  return {
    name: IDENTITY_INIT_CONTAINER,
    image: pool.spec.image,
    ...(pool.spec.imagePullPolicy === undefined ? {} : { imagePullPolicy: pool.spec.imagePullPolicy }),
    command: ['/bin/sh', '-c', IDENTITY_INIT_SCRIPT],
    env: [
      { name: 'POD_ORDINAL', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POD_INDEX_LABEL}']` } } },
      // $(VAR) expands variables defined above: the script is handed this pod's files only.
      { name: 'DAWN_POOL_KEY_FILE', value: `${POOL_IDENTITY_DIR}/${identityKeyName('$(POD_ORDINAL)')}` },
      { name: 'DAWN_POOL_CERT_FILE', value: `${POOL_IDENTITY_DIR}/${identityCertName('$(POD_ORDINAL)')}` },
      ...nodeIdentityEnv()
    ],
    ...(resources === undefined ? {} : { resources }),
    securityContext: restrictedContainerSecurityContext(),
    volumeMounts: [
      { name: POOL_IDENTITY_VOLUME, mountPath: POOL_IDENTITY_DIR, readOnly: true },
      { name: IDENTITY_VOLUME, mountPath: IDENTITY_DIR }
    ]
  }
}

export function nodeIdentityMount (): V1VolumeMount {
  return { name: IDENTITY_VOLUME, mountPath: IDENTITY_DIR, readOnly: true }
}

export function identityVolumes (poolName: string): V1Volume[] {
  return [
    { name: POOL_IDENTITY_VOLUME, secret: { secretName: identitySecretName(poolName), defaultMode: SECRET_MODE } },
    // In memory, so the key never reaches the node's disk; two small files.
    { name: IDENTITY_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } }
  ]
}
