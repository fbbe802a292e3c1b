/**
 * Signatures by the node's own Ed25519 key over domain-separated fields, for
 * records that outlive any envelope (room messages). The envelope has its own
 * signer (p2p/envelope.ts); this one signs what the caller names, under a
 * domain the caller owns.
 */
import { sign, verify, type KeyObject } from 'node:crypto'
import { domainSeparated } from './domain-separation.ts'
import { privateKeyObject, publicKeyObject, SEED_LENGTH } from './key-file.ts'
import { peerIdFromSeed, publicKeyFromPeerId } from './peer-id.ts'
import { LruMap } from '../p2p/lru-map.ts'

export const SIGNATURE_BYTES = 64

/** The caller asked to sign with a key that is gone or is not the node's. */
export class NodeSignerError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'NodeSignerError'
  }
}

/**
 * The node's signing key, parsed once and held by the node (not a module
 * global), so stopping the node drops it; signing after `forget` throws.
 */
export class NodeSigner {
  readonly peerId: string
  #key?: KeyObject

  constructor (seed: Uint8Array, peerId: string) {
    if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) throw new NodeSignerError(`private key must be a ${SEED_LENGTH}-byte Ed25519 seed`)
    if (peerIdFromSeed(seed) !== peerId) throw new NodeSignerError(`private key does not belong to ${peerId}`)
    this.#key = privateKeyObject(seed)
    this.peerId = peerId
  }

  sign (domain: Uint8Array, fields: readonly unknown[]): Uint8Array {
    if (this.#key === undefined) throw new NodeSignerError('the signing key was dropped: the node has stopped')
    return new Uint8Array(sign(null, domainSeparated(domain, fields), this.#key))
  }

  forget (): void {
    this.#key = undefined
  }
}

/** Parsed public keys by peer id; the ids come from peers, so the cache is bounded. */
const keys = new LruMap<string, KeyObject>(4096)

/** True when `sig` is `peerId`'s signature over `fields` under `domain`; false for anything unusable. */
export function verifyNodeSignature (peerId: string, domain: Uint8Array, fields: readonly unknown[], sig: Uint8Array): boolean {
  if (sig.length !== SIGNATURE_BYTES) return false
  try {
    let key = keys.get(peerId)
    if (key === undefined) {
      key = publicKeyObject(publicKeyFromPeerId(peerId))
      keys.set(peerId, key)
    }
    return verify(null, domainSeparated(domain, fields), key, sig)
  } catch {
    return false
  }
}
