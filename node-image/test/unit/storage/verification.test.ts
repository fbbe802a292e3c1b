import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'
import { verifyBlock } from '../../../src/storage/verify-block.ts'
import { BlockVerificationError, BadCidError } from '../../../src/storage/errors.ts'
import { cidKey, decodeCid, parseCid } from '../../../src/storage/cid-text.ts'
import { parseManifest, ManifestError } from '../../../src/storage/content-manifest.ts'

describe('block verification', () => {
  it('accepts the right bytes and refuses any single flipped bit', async () => {
    const bytes = new TextEncoder().encode('content addressed')
    const cid = CID.createV1(raw.code, await sha256.digest(bytes))
    await verifyBlock(cid, bytes)
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const bad = Uint8Array.from(bytes)
      bad[bit >> 3]! ^= 1 << (bit & 7)
      await expect(verifyBlock(cid, bad)).rejects.toThrow(BlockVerificationError)
    }
    await expect(verifyBlock(cid, bytes.subarray(1))).rejects.toThrow(BlockVerificationError)
  })

  it('checks identity CIDs by their inline bytes', async () => {
    const bytes = new TextEncoder().encode('tiny')
    const cid = CID.createV1(raw.code, identity.digest(bytes))
    await verifyBlock(cid, bytes)
    await expect(verifyBlock(cid, new TextEncoder().encode('tinY'))).rejects.toThrow(BlockVerificationError)
  })
})

describe('CID parsing at the edge', () => {
  it('accepts v0 and v1 and names them canonically as v1 base32', () => {
    const v0 = parseCid('QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR')
    expect(cidKey(v0)).toMatch(/^bafybei/)
    expect(cidKey(parseCid(cidKey(v0)))).toBe(cidKey(v0))
  })

  it('refuses garbage, other codecs and unverifiable hashes with BadCidError', async () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (text) => {
      try {
        parseCid(text)
      } catch (err) {
        expect(err).toBeInstanceOf(BadCidError)
      }
    }))
    expect(() => parseCid('')).toThrow(BadCidError)
    expect(() => parseCid('bafy' + 'a'.repeat(400))).toThrow(BadCidError)
    const dagCbor = CID.createV1(0x71, await sha256.digest(new Uint8Array(1)))
    expect(() => parseCid(dagCbor.toString())).toThrow(/codec/)
    expect(() => decodeCid(new Uint8Array([1, 2, 3]))).toThrow(BadCidError)
  })
})

describe('content manifest', () => {
  it('refuses malformed or oversized manifests from peers', () => {
    const ok = { v: 1, backend: 'embedded', pins: [{ cid: 'bafya', replication: 2, at: 1, removed: false }], held: ['bafya'] }
    expect(parseManifest(new TextEncoder().encode(JSON.stringify(ok)))).toEqual(ok)
    expect(() => parseManifest(new TextEncoder().encode('{'))).toThrow(ManifestError)
    expect(() => parseManifest(new TextEncoder().encode(JSON.stringify({ ...ok, extra: 1 })))).toThrow(ManifestError)
    expect(() => parseManifest(new TextEncoder().encode(JSON.stringify({ ...ok, pins: [{ cid: 'bafya', replication: 999, at: 1, removed: false }] })))).toThrow(/replication/)
    expect(() => parseManifest(new TextEncoder().encode(JSON.stringify({ ...ok, held: Array(5000).fill('bafya') })))).toThrow(ManifestError)
  })
})
