// One Ed25519 identity per ordinal of a pool, with its membership certificate, kept in
// the pool's identity Secret (`<ordinal>.key`, `<ordinal>.cert.json`).
//
// Keys are never dropped: scaling down keeps them, scaling up reuses them, so an ordinal
// keeps its peer id for life. Certificates are renewed together (see `needsRenewal`), so
// all of them share one issue time, the `certificateEpoch` that goes into the pods'
// config checksum: a renewal restarts the pods to load the new certificates, while adding
// an ordinal (a fresh certificate, newer than the epoch) restarts nothing.
import type { V1Secret } from '@kubernetes/client-node'
import {
  decodeCertificate, decodePrivateKeyPem, decodePublicKeyPem, encodeCertificate, encodePrivateKeyPem, generateSeed,
  issueCertificate, peerIdFromSeed, verifyCertificate, type MembershipCertificate
} from '@dawn/node-image/identity'
import { KINDS } from '../api/group.ts'
import type { DawnNode } from '../api/dawn-node.ts'
import { RenderInputError } from './errors.ts'
import { nameOf, namespaceOf, ownerReference, poolLabels } from './labels.ts'
import { identitySecretName } from './names.ts'
import { identityCertName, identityKeyName } from './paths.ts'
import { publicKeyPemOf } from './network-secrets.ts'
import { encodeSecretData } from './secret-data.ts'

const DAY_SECONDS = 86_400
/** Renew this long before expiry (or a third of the validity, for short-lived certificates). */
export const RENEW_BEFORE_SECONDS = 30 * DAY_SECONDS

const KEY_ENTRY = /^(0|[1-9][0-9]{0,5})\.key$/
const CERT_ENTRY = /^(0|[1-9][0-9]{0,5})\.cert\.json$/

export interface PlanIdentitiesInput {
  /** Pool name, for messages. */
  pool: string
  replicas: number
  /** The operator's identity Secret, decoded: `<ordinal>.key` → PEM, `<ordinal>.cert.json` → JSON. */
  existing?: Readonly<Record<string, string>>
  /** The user's Secret (spec.identitySecretRef), decoded: `<ordinal>.key` → PEM. Wins over `existing`. */
  provided?: Readonly<Record<string, string>>
  caPrivateKeyPem: string
  /** The effective network name certificates are issued for. */
  network: string
  validityDays: number
  /** Unix milliseconds. */
  now: number
}

export interface PeerIdentity { ordinal: number, peerId: string }

export interface IdentityPlan {
  /** The complete identity Secret content (decoded), keys in ordinal order. */
  secretData: Record<string, string>
  /** Ordinals 0..replicas-1 that have a usable key. */
  peers: PeerIdentity[]
  /** Unix seconds: the oldest certificate's issue time (0 without certificates). */
  certificateEpoch: number
  /** Ordinals that got a new key in this plan. */
  generated: number[]
  /** Ordinals that got a new certificate in this plan. */
  issued: number[]
  /** Whether secretData differs from `existing`. */
  changed: boolean
  /** Problems with user-provided keys; such ordinals get no key (their pods fail to start, loudly). */
  problems: string[]
}

export function planIdentities (input: PlanIdentitiesInput): IdentityPlan {
  if (!Number.isSafeInteger(input.replicas) || input.replicas < 0) throw new RenderInputError(`replicas must be a whole number >= 0, got ${input.replicas}`)
  if (!Number.isSafeInteger(input.validityDays) || input.validityDays < 1) throw new RenderInputError(`validityDays must be a whole number >= 1, got ${input.validityDays}`)
  const existing = input.existing ?? {}
  const provided = input.provided ?? {}
  const problems: string[] = []
  const generated: number[] = []

  // Keys: every ordinal ever seen, plus 0..replicas-1.
  const ordinals = new Set<number>(Array.from({ length: input.replicas }, (_, i) => i))
  for (const name of [...Object.keys(existing), ...Object.keys(provided)]) {
    const m = KEY_ENTRY.exec(name)
    if (m !== null) ordinals.add(Number(m[1]))
  }
  const keys = new Map<number, { pem: string, peerId: string }>()
  for (const ordinal of [...ordinals].sort((a, b) => a - b)) {
    const userPem = provided[identityKeyName(ordinal)]
    if (userPem !== undefined) {
      const peerId = peerIdOfPem(userPem)
      if (peerId === undefined) {
        problems.push(`${identityKeyName(ordinal)} in spec.identitySecretRef of pool ${input.pool} is not an Ed25519 PKCS#8 PEM key`)
      } else {
        keys.set(ordinal, { pem: userPem, peerId })
      }
      continue
    }
    const ownPem = existing[identityKeyName(ordinal)]
    const ownPeerId = ownPem === undefined ? undefined : peerIdOfPem(ownPem)
    if (ownPem !== undefined && ownPeerId !== undefined) {
      keys.set(ordinal, { pem: ownPem, peerId: ownPeerId })
    } else if (ordinal < input.replicas || ownPem !== undefined) {
      // A damaged key we generated ourselves cannot start a node: replace it.
      const seed = generateSeed()
      keys.set(ordinal, { pem: encodePrivateKeyPem(seed), peerId: peerIdFromSeed(seed) })
      generated.push(ordinal)
    }
  }

  // Certificates: renewed all together when any is due, else issued only where missing.
  const caPublicKey = decodePublicKeyPem(publicKeyPemOf(input.caPrivateKeyPem))
  const certificates = new Map<number, MembershipCertificate | undefined>()
  let renewAll = false
  for (const [ordinal, key] of keys) {
    const cert = usableCertificate(existing[identityCertName(ordinal)], { caPublicKey, network: input.network, peerId: key.peerId, now: input.now })
    certificates.set(ordinal, cert)
    const text = existing[identityCertName(ordinal)]
    if (text !== undefined && (cert === undefined || needsRenewal(cert, input.now))) renewAll = true
  }
  const issued: number[] = []
  const validForSeconds = input.validityDays * DAY_SECONDS
  const secretData: Record<string, string> = {}
  const issuedAts: number[] = []
  for (const [ordinal, key] of keys) {
    secretData[identityKeyName(ordinal)] = key.pem
    let cert = certificates.get(ordinal)
    const kept = existing[identityCertName(ordinal)]
    if (!renewAll && cert !== undefined && kept !== undefined) {
      // Byte for byte what was there: no churn in the Secret.
      secretData[identityCertName(ordinal)] = kept
    } else {
      cert = issueCertificate({ caPrivateKeyPem: input.caPrivateKeyPem, network: input.network, peerId: key.peerId, validForSeconds, now: input.now })
      secretData[identityCertName(ordinal)] = encodeCertificate(cert)
      issued.push(ordinal)
    }
    issuedAts.push(cert.issuedAt)
  }
  return {
    secretData,
    peers: [...keys].filter(([ordinal]) => ordinal < input.replicas).map(([ordinal, key]) => ({ ordinal, peerId: key.peerId })),
    certificateEpoch: issuedAts.length === 0 ? 0 : Math.min(...issuedAts),
    generated,
    issued,
    changed: !sameRecord(secretData, existing),
    problems
  }
}

/** A certificate is renewed 30 days before expiry, or after two thirds of a shorter life. */
export function needsRenewal (cert: Pick<MembershipCertificate, 'issuedAt' | 'expiresAt'>, nowMs: number): boolean {
  const lifetime = cert.expiresAt - cert.issuedAt
  const renewBefore = Math.min(RENEW_BEFORE_SECONDS, Math.floor(lifetime / 3))
  return nowMs / 1000 >= cert.expiresAt - renewBefore
}

export function renderIdentitySecret (pool: DawnNode, secretData: Readonly<Record<string, string>>): V1Secret {
  const name = nameOf(pool, KINDS.node)
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: identitySecretName(name),
      namespace: namespaceOf(pool, KINDS.node),
      labels: poolLabels(pool),
      ownerReferences: [ownerReference(KINDS.node, pool)]
    },
    type: 'Opaque',
    data: encodeSecretData(secretData)
  }
}

/** The ordinals whose `<ordinal>.key` a Secret holds (for messages and status). */
export function keyOrdinals (data: Readonly<Record<string, string>>): number[] {
  return Object.keys(data).flatMap(k => { const m = KEY_ENTRY.exec(k); return m === null ? [] : [Number(m[1])] }).sort((a, b) => a - b)
}

/** True for names that belong in an identity Secret. */
export function isIdentityEntry (name: string): boolean {
  return KEY_ENTRY.test(name) || CERT_ENTRY.test(name)
}

function peerIdOfPem (pem: string): string | undefined {
  try {
    return peerIdFromSeed(decodePrivateKeyPem(pem))
  } catch {
    return undefined
  }
}

function usableCertificate (text: string | undefined, opts: { caPublicKey: Uint8Array, network: string, peerId: string, now: number }): MembershipCertificate | undefined {
  if (text === undefined) return undefined
  try {
    const cert = decodeCertificate(text)
    // No clock skew allowance: we judge our own certificates against our own clock.
    verifyCertificate(cert, { ...opts, clockSkewSeconds: 0 })
    return cert
  } catch {
    return undefined
  }
}

function sameRecord (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ak = Object.keys(a)
  return ak.length === Object.keys(b).length && ak.every(k => a[k] === b[k])
}
