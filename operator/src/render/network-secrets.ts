// The network-wide Secrets: the private-network PSK and the membership CA. The
// operator generates them only when the user gave no reference and none exists yet,
// and never replaces existing material: a new PSK or CA splits the running mesh.
import { createPublicKey } from 'node:crypto'
import type { V1Secret } from '@kubernetes/client-node'
import {
  createCa, decodePrivateKeyPem, decodePublicKeyPem, encodePublicKeyPem, generateSwarmKey, parseSwarmKey, privateKeyObject
} from '@dawn/node-image/identity'
import { KINDS } from '../api/group.ts'
import type { DawnNetwork } from '../api/dawn-network.ts'
import { nameOf, namespaceOf, networkLabels, ownerReference } from './labels.ts'
import { operatorCaSecretName, operatorSwarmKeySecretName } from './names.ts'
import { encodeSecretData, secretText } from './secret-data.ts'

export const SWARM_KEY_KEY = 'swarm.key'
export const CA_PRIVATE_KEY_KEY = 'ca.key'
export const CA_PUBLIC_KEY_KEY = 'ca.pub'

export interface SecretKeyRef {
  name: string
  key: string
  /** True when the operator owns (and may create) this Secret. */
  operatorManaged: boolean
}

/** Where the swarm key lives: the user's Secret, or the operator's `<network>-swarm-key`. */
export function swarmKeySecretRef (network: DawnNetwork): SecretKeyRef {
  const ref = network.spec.privateNetwork.swarmKeySecretRef
  if (ref !== undefined) return { name: ref.name, key: ref.key, operatorManaged: false }
  return { name: operatorSwarmKeySecretName(nameOf(network, KINDS.network)), key: SWARM_KEY_KEY, operatorManaged: true }
}

/** Where the CA lives: the user's Secret, or the operator's `<network>-ca` (keys ca.key, ca.pub). */
export function caSecretRef (network: DawnNetwork): { name: string, operatorManaged: boolean } {
  const ref = network.spec.membership.caSecretRef
  if (ref !== undefined) return { name: ref.name, operatorManaged: false }
  return { name: operatorCaSecretName(nameOf(network, KINDS.network)), operatorManaged: true }
}

function networkSecret (network: DawnNetwork, name: string, texts: Record<string, string>): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: namespaceOf(network, KINDS.network),
      labels: networkLabels(network),
      ownerReferences: [ownerReference(KINDS.network, network)]
    },
    type: 'Opaque',
    data: encodeSecretData(texts)
  }
}

export function renderPskSecret (network: DawnNetwork, swarmKeyText: string): V1Secret {
  return networkSecret(network, operatorSwarmKeySecretName(nameOf(network, KINDS.network)), { [SWARM_KEY_KEY]: swarmKeyText })
}

export function renderCaSecret (network: DawnNetwork, ca: { privateKeyPem: string, publicKeyPem: string }): V1Secret {
  return networkSecret(network, operatorCaSecretName(nameOf(network, KINDS.network)), {
    [CA_PRIVATE_KEY_KEY]: ca.privateKeyPem,
    [CA_PUBLIC_KEY_KEY]: ca.publicKeyPem
  })
}

export interface ResolvedPsk {
  ref: SecretKeyRef
  /** The swarm.key text, when usable. */
  swarmKey?: string
  /** Why it is not usable; for a Degraded condition. */
  problem?: string
}

export interface ResolvedCa {
  ref: { name: string, operatorManaged: boolean }
  privateKeyPem?: string
  /** Always derived from the private key, so a stale ca.pub can never be handed to nodes. */
  publicKeyPem?: string
  problem?: string
}

export interface NetworkSecretsPlan {
  /** Secrets to create; never an existing one. */
  create: V1Secret[]
  psk: ResolvedPsk
  ca: ResolvedCa
}

/**
 * Decides which network Secrets to create and resolves the material to use.
 * `existing` holds the Secrets currently at the resolved refs (undefined: not found).
 */
export function planNetworkSecrets (network: DawnNetwork, existing: { psk?: V1Secret, ca?: V1Secret }): NetworkSecretsPlan {
  const create: V1Secret[] = []

  const pskRef = swarmKeySecretRef(network)
  let psk: ResolvedPsk
  if (existing.psk === undefined) {
    if (pskRef.operatorManaged) {
      const swarmKey = generateSwarmKey()
      create.push(renderPskSecret(network, swarmKey))
      psk = { ref: pskRef, swarmKey }
    } else {
      psk = { ref: pskRef, problem: `Secret ${pskRef.name} (spec.privateNetwork.swarmKeySecretRef) does not exist; create it with a swarm.key under key "${pskRef.key}", or remove the reference to let the operator generate one` }
    }
  } else {
    psk = resolvePsk(pskRef, existing.psk)
  }

  const caRef = caSecretRef(network)
  let ca: ResolvedCa
  if (existing.ca === undefined) {
    if (caRef.operatorManaged) {
      const generated = createCa()
      create.push(renderCaSecret(network, generated))
      ca = { ref: caRef, ...generated }
    } else {
      ca = { ref: caRef, problem: `Secret ${caRef.name} (spec.membership.caSecretRef) does not exist; create it with an Ed25519 PKCS#8 PEM under key "${CA_PRIVATE_KEY_KEY}", or remove the reference to let the operator generate one` }
    }
  } else {
    ca = resolveCa(caRef, existing.ca)
  }

  return { create, psk, ca }
}

const replaceHint = (operatorManaged: boolean): string => operatorManaged
  ? 'the operator never replaces existing material; delete the Secret to have a new one generated (every node restarts and re-keys)'
  : 'fix the Secret'

function resolvePsk (ref: SecretKeyRef, secret: V1Secret): ResolvedPsk {
  const text = secretText(secret, ref.key)
  if (text === undefined) return { ref, problem: `Secret ${ref.name} has no key "${ref.key}"; ${replaceHint(ref.operatorManaged)}` }
  try {
    parseSwarmKey(text)
  } catch (err) {
    return { ref, problem: `Secret ${ref.name} key "${ref.key}" is not a valid swarm key: ${(err as Error).message}; ${replaceHint(ref.operatorManaged)}` }
  }
  return { ref, swarmKey: text }
}

function resolveCa (ref: ResolvedCa['ref'], secret: V1Secret): ResolvedCa {
  const privateKeyPem = secretText(secret, CA_PRIVATE_KEY_KEY)
  if (privateKeyPem === undefined) return { ref, problem: `Secret ${ref.name} has no key "${CA_PRIVATE_KEY_KEY}" (the CA's Ed25519 private key); ${replaceHint(ref.operatorManaged)}` }
  let publicKeyPem: string
  try {
    publicKeyPem = publicKeyPemOf(privateKeyPem)
  } catch (err) {
    return { ref, problem: `Secret ${ref.name} key "${CA_PRIVATE_KEY_KEY}" is not a usable CA key: ${(err as Error).message}; ${replaceHint(ref.operatorManaged)}` }
  }
  const given = secretText(secret, CA_PUBLIC_KEY_KEY)
  if (given !== undefined && !samePublicKey(given, publicKeyPem)) {
    return { ref, problem: `Secret ${ref.name}: "${CA_PUBLIC_KEY_KEY}" is not the public key of "${CA_PRIVATE_KEY_KEY}"; remove or correct it` }
  }
  return { ref, privateKeyPem, publicKeyPem }
}

/** The SPKI PEM of an Ed25519 private key PEM, in the node's canonical encoding. */
export function publicKeyPemOf (privateKeyPem: string): string {
  const seed = decodePrivateKeyPem(privateKeyPem)
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' })
  // Ed25519 SPKI is a fixed 12-byte prefix and the 32-byte key.
  return encodePublicKeyPem(new Uint8Array(spki.subarray(spki.length - 32)))
}

function samePublicKey (aPem: string, bPem: string): boolean {
  try {
    return Buffer.from(decodePublicKeyPem(aPem)).equals(Buffer.from(decodePublicKeyPem(bPem)))
  } catch {
    return false
  }
}
