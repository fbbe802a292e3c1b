import type { V1Secret } from '@kubernetes/client-node'
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
