import type { V1ConfigMap } from '@kubernetes/client-node'
import { KINDS } from '../api/group.ts'
import type { DawnNode } from '../api/dawn-node.ts'
import { nameOf, namespaceOf, ownerReference, poolLabels } from './labels.ts'
import { configMapName } from './names.ts'
import { CA_PUBLIC_KEY_FILE_NAME, CONFIG_FILE_NAME } from './paths.ts'

/**
 * `<pool>-config`: the node config and the CA public key. The CA Secret also holds the
 * CA private key, so pods get the public half from here and never mount that Secret.
 */
export function renderPoolConfigMap (pool: DawnNode, content: { configText: string, caPublicKeyPem: string }): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: configMapName(nameOf(pool, KINDS.node)),
      namespace: namespaceOf(pool, KINDS.node),
      labels: poolLabels(pool),
      ownerReferences: [ownerReference(KINDS.node, pool)]
    },
    data: { [CONFIG_FILE_NAME]: content.configText, [CA_PUBLIC_KEY_FILE_NAME]: content.caPublicKeyPem }
  }
}
