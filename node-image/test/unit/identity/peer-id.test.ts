import { describe, expect, it } from 'vitest'
import { generateKeyPair, generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import { encodePrivateKeyPem, generateSeed } from '../../../src/identity/key-file.ts'
import { PeerIdError, peerIdFromPrivateKeyPem, peerIdFromSeed, publicKeyFromPeerId } from '../../../src/identity/peer-id.ts'

describe('peer ids', () => {
  it('matches the peer id libp2p derives for the same key', async () => {
    const seed = generateSeed()
    const expected = peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', seed)).toString()
    expect(peerIdFromSeed(seed)).toBe(expected)
    expect(peerIdFromPrivateKeyPem(encodePrivateKeyPem(seed))).toBe(expected)
    expect(expected).toMatch(/^12D3KooW[1-9A-HJ-NP-Za-km-z]+$/)
  })

  it('is stable for a fixed seed (RFC 8032 TEST 1 key)', () => {
    const seed = new Uint8Array(Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'))
    const id = peerIdFromSeed(seed)
    expect(Buffer.from(publicKeyFromPeerId(id)).toString('hex')).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
  })

  it('recovers the raw public key from a peer id', () => {
    const seed = generateSeed()
    expect(publicKeyFromPeerId(peerIdFromSeed(seed))).toEqual(ed25519.getPublicKey(seed))
  })

  it('rejects non-Ed25519 peer ids', async () => {
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()
    expect(() => publicKeyFromPeerId(secp)).toThrow(PeerIdError)
    expect(() => publicKeyFromPeerId(secp)).toThrow(/secp256k1/)
  })

  it.each(['', 'hello', '12D3KooW', '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA0', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'])('rejects garbage %j', (s) => {
    const err = (() => { try { publicKeyFromPeerId(s); return undefined } catch (e) { return e } })()
    expect(err).toBeInstanceOf(PeerIdError)
  })

  it('rejects a non-canonical spelling of a valid peer id', async () => {
    const { peerIdFromString } = await import('@libp2p/peer-id')
    const id = peerIdFromSeed(generateSeed())
    const cidForm = peerIdFromString(id).toCID().toString()
    expect(peerIdFromString(cidForm).toString()).toBe(id)
    expect(() => publicKeyFromPeerId(cidForm)).toThrow(/canonical/)
  })

  it('rejects seeds of the wrong size', () => {
    expect(() => peerIdFromSeed(new Uint8Array(31))).toThrow(PeerIdError)
  })
})
