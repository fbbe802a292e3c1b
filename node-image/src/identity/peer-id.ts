import { ed25519 } from '@noble/curves/ed25519.js'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { decodePrivateKeyPem, SEED_LENGTH } from './key-file.ts'

export class PeerIdError extends Error {
  readonly code: 'invalid' | 'not-ed25519'
  constructor (code: 'invalid' | 'not-ed25519', message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'PeerIdError'
    this.code = code
  }
}

/** The libp2p peer id (`12D3KooW...`) of an Ed25519 seed. */
export function peerIdFromSeed (seed: Uint8Array): string {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_LENGTH) {
    throw new PeerIdError('invalid', `Ed25519 seed must be ${SEED_LENGTH} bytes`)
  }
  return peerIdFromPublicKey(publicKeyFromRaw(ed25519.getPublicKey(seed))).toString()
}

export function peerIdFromPrivateKeyPem (pem: string): string {
  return peerIdFromSeed(decodePrivateKeyPem(pem))
}

/**
 * The raw 32-byte Ed25519 public key embedded in a peer id. Only the canonical
 * base58 spelling is accepted: peer ids are compared as strings (replay keys,
 * certificates), so one peer must not have two spellings.
 */
export function publicKeyFromPeerId (peerId: string): Uint8Array {
  let parsed
  try {
    parsed = peerIdFromString(peerId)
  } catch (err) {
    throw new PeerIdError('invalid', `not a libp2p peer id: ${printable(peerId)}`, { cause: err })
  }
  if (parsed.type !== 'Ed25519') {
    throw new PeerIdError('not-ed25519', `peer id ${printable(peerId)} is ${parsed.type}, not Ed25519`)
  }
  if (parsed.toString() !== peerId) {
    throw new PeerIdError('invalid', `peer id ${printable(peerId)} is not in canonical form (${parsed.toString()})`)
  }
  return parsed.publicKey.raw.slice()
}

// Peer ids come off the wire; keep error messages short and single-line.
function printable (value: unknown): string {
  if (typeof value !== 'string') return `(${typeof value})`
  const clipped = value.length > 64 ? `${value.slice(0, 64)}...` : value
  return JSON.stringify(clipped)
}
