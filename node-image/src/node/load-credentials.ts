import { readFile } from 'node:fs/promises'
import type { PrivateKey } from '@libp2p/interface'
import type { NodeConfig } from '../config/schema.ts'
import { loadOrCreateKey, decodePublicKeyPem } from '../identity/key-file.ts'
import { decodeCertificate, verifyCertificate, type MembershipCertificate } from '../identity/membership.ts'
import { parseSwarmKey } from '../identity/swarm-key.ts'
import { NodeStartError } from './errors.ts'

export interface Credentials {
  privateKey: PrivateKey
  seed: Uint8Array
  peerId: string
  keyCreated: boolean
  certificate: MembershipCertificate
  caPublicKey: Uint8Array
  /** The 32-byte pre-shared key of the private network. */
  psk: Uint8Array
}

async function readText (file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    throw new NodeStartError(`${what} ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err })
  }
}

function wrap<T> (what: string, file: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    throw new NodeStartError(`${what} ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * Loads key, certificate, CA key and PSK, and checks that they belong together
 * before anything touches the network.
 */
export async function loadCredentials (config: NodeConfig, peerIdOf: (key: PrivateKey) => string): Promise<Credentials> {
  const keyFile = config.node.keyFile as string
  let loaded: { privateKey: PrivateKey, created: boolean }
  try {
    loaded = await loadOrCreateKey(keyFile)
  } catch (err) {
    throw new NodeStartError((err as Error).message, { cause: err })
  }
  const peerId = peerIdOf(loaded.privateKey)
  const caText = await readText(config.network.caPublicKeyFile, 'CA public key')
  const caPublicKey = wrap('CA public key', config.network.caPublicKeyFile, () => decodePublicKeyPem(caText))
  const certText = await readText(config.node.certificateFile, 'membership certificate')
  const certificate = wrap('membership certificate', config.node.certificateFile, () => decodeCertificate(certText))
  wrap('membership certificate', config.node.certificateFile, () => { verifyCertificate(certificate, { caPublicKey, network: config.network.name, peerId }) })
  const pskText = await readText(config.network.swarmKeyFile, 'swarm key')
  const psk = wrap('swarm key', config.network.swarmKeyFile, () => parseSwarmKey(pskText))
  return { privateKey: loaded.privateKey, seed: loaded.privateKey.raw.subarray(0, 32), peerId, keyCreated: loaded.created, certificate, caPublicKey, psk }
}
