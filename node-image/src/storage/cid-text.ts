import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as dagPb from '@ipld/dag-pb'
import { sha256 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'
import { BadCidError } from './errors.ts'

const CODECS = new Set<number>([raw.code, dagPb.code])
const HASHES = new Set<number>([sha256.code, identity.code])

/** Parses a CID from an API caller or a peer; anything this node cannot verify is refused. */
export function parseCid (text: string): CID {
  if (typeof text !== 'string' || text.length === 0 || text.length > 256) throw new BadCidError('a CID must be a non-empty string of at most 256 characters')
  let cid: CID
  try {
    cid = CID.parse(text)
  } catch (err) {
    throw new BadCidError(`"${text.slice(0, 80)}" is not a CID: ${(err as Error).message}`)
  }
  return checkCid(cid, text)
}

/** A CID decoded from bytes (the mesh block protocol). */
export function decodeCid (bytes: Uint8Array): CID {
  let cid: CID
  try {
    cid = CID.decode(bytes)
  } catch (err) {
    throw new BadCidError(`not a binary CID: ${(err as Error).message}`)
  }
  return checkCid(cid, cid.toString())
}

function checkCid (cid: CID, text: string): CID {
  if (!CODECS.has(cid.code)) throw new BadCidError(`CID ${text.slice(0, 80)} has codec 0x${cid.code.toString(16)}; only dag-pb and raw are stored`)
  if (!HASHES.has(cid.multihash.code)) throw new BadCidError(`CID ${text.slice(0, 80)} uses hash 0x${cid.multihash.code.toString(16)}; only sha2-256 is verified`)
  return cid
}

/** The canonical text form: CIDv1 base32, whatever form the caller used. */
export function cidKey (cid: CID): string {
  return cid.toV1().toString()
}
