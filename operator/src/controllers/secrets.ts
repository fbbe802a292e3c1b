import type { V1Secret } from '@kubernetes/client-node'
import type { DawnNetwork } from '../api/index.ts'
import { caSecretRef, swarmKeySecretRef } from '../render/index.ts'
import type { ControllerComponents } from './context.ts'
import type { Applier } from '../runtime/apply.ts'
import type { KubeClient } from '../runtime/kube-client.ts'
import { resourcePath } from '../runtime/kube-client.ts'
import { isAlreadyExists } from '../runtime/errors.ts'
import { RESOURCES } from './resources.ts'

/**
 * Reads a Secret straight from the API server. Key material is never taken from a
 * cache: a stale cache could make the operator generate a second identity.
 */
export async function readSecret (applier: Applier, namespace: string, name: string, signal: AbortSignal): Promise<V1Secret | undefined> {
  return await applier.get<V1Secret>({ apiVersion: 'v1', kind: 'Secret', namespace, name }, { signal, resource: RESOURCES.secrets })
}

/**
 * Creates a Secret only if none exists. Generated material must never overwrite
 * material that appeared meanwhile (another replica, or the user), so this is a
 * create, not an apply. Returns false when it already existed.
 */
export async function createSecretIfAbsent (client: KubeClient, secret: V1Secret, signal: AbortSignal): Promise<boolean> {
  try {
    await client.request({
      method: 'POST',
      path: resourcePath(RESOURCES.secrets, { namespace: secret.metadata?.namespace ?? '' }),
      query: { fieldManager: 'dawn-operator' },
      body: secret,
      signal
    })
    return true
  } catch (e) {
    if (isAlreadyExists(e)) return false
    throw e
  }
}

/**
 * The network's PSK and CA Secrets. The operator's own are taken from the managed-Secret
 * cache (written once, never changed), with a read on a miss (just created); a user's
 * Secrets are not cached, so they are read. Every pool reconcile needs these.
 */
export async function readNetworkSecrets (c: Pick<ControllerComponents, 'applier' | 'caches'>, net: DawnNetwork, signal: AbortSignal): Promise<{ psk?: V1Secret, ca?: V1Secret }> {
  const namespace = net.metadata.namespace ?? ''
  const read = async (ref: { name: string, operatorManaged: boolean }): Promise<V1Secret | undefined> =>
    (ref.operatorManaged ? c.caches.secrets.getByName(namespace, ref.name) : undefined) ?? await readSecret(c.applier, namespace, ref.name, signal)
  const [psk, ca] = await Promise.all([read(swarmKeySecretRef(net)), read(caSecretRef(net))])
  return { ...(psk === undefined ? {} : { psk }), ...(ca === undefined ? {} : { ca }) }
}
