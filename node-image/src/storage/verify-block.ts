import type { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'
import { equals } from 'multiformats/bytes'
import { BlockVerificationError } from './errors.ts'

/** Throws unless `bytes` hash to `cid`: bytes from anywhere but this node's own writes go through here. */
export async function verifyBlock (cid: CID, bytes: Uint8Array): Promise<void> {
  const { code, digest } = cid.multihash
  if (code === identity.code) {
    if (!equals(digest, bytes)) throw new BlockVerificationError(`identity block ${cid.toString()} does not match its CID`)
    return
  }
  if (code !== sha256.code) throw new BlockVerificationError(`cannot verify hash 0x${code.toString(16)} of ${cid.toString()}`)
  const actual = await sha256.digest(bytes)
  if (!equals(actual.digest, digest)) throw new BlockVerificationError(`block ${cid.toString()} hashes to ${Buffer.from(actual.digest).toString('hex').slice(0, 16)}…, not its CID`)
}
