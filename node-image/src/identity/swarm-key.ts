import { getRandomValues } from 'node:crypto'

const TAG = '/key/swarm/psk/1.0.0/'
const CODEC = '/base16/'
const KEY_LENGTH = 32

export class SwarmKeyError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SwarmKeyError'
  }
}

/** A fresh private-network key in Kubo's swarm.key format. */
export function generateSwarmKey (): string {
  return formatSwarmKey(getRandomValues(new Uint8Array(KEY_LENGTH)))
}

/** The 32-byte pre-shared key in a swarm.key file. */
export function parseSwarmKey (text: string): Uint8Array {
  if (typeof text !== 'string') throw new SwarmKeyError('swarm key must be text')
  const lines = text.split(/\r?\n/)
  // Trailing blank lines are harmless (editors add them); anything else is not.
  while (lines.length > 3 && lines[lines.length - 1]?.trim() === '') lines.pop()
  const [tag, codec, hex] = lines.map(l => l.trim())
  if (tag !== TAG) throw new SwarmKeyError(`swarm key must start with "${TAG}"`)
  if (codec !== CODEC) {
    throw new SwarmKeyError(`swarm key encoding must be "${CODEC}" (libp2p supports no other)`)
  }
  if (lines.length > 3) throw new SwarmKeyError('swarm key has extra lines after the key')
  if (hex === undefined || !/^[0-9a-fA-F]*$/.test(hex)) throw new SwarmKeyError('swarm key line 3 must be hexadecimal')
  if (hex.length !== KEY_LENGTH * 2) {
    throw new SwarmKeyError(`swarm key must be ${KEY_LENGTH * 2} hex digits (${KEY_LENGTH} bytes), found ${hex.length}`)
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/**
 * What `@libp2p/pnet`'s `preSharedKey({ psk })` expects: the whole file as bytes.
 * Re-emitted in canonical form, since pnet's own parser only takes lowercase
 * hex and would fail later, at the first connection, with a vaguer message.
 */
export function swarmKeyBytes (text: string): Uint8Array {
  return new TextEncoder().encode(formatSwarmKey(parseSwarmKey(text)))
}

function formatSwarmKey (key: Uint8Array): string {
  return `${TAG}\n${CODEC}\n${Buffer.from(key).toString('hex')}\n`
}
