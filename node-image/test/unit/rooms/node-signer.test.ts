import { describe, expect, it } from 'vitest'
import { NodeSigner, NodeSignerError, verifyNodeSignature } from '../../../src/identity/node-signer.ts'
import { generateSeed } from '../../../src/identity/key-file.ts'
import { peerIdFromSeed } from '../../../src/identity/peer-id.ts'

const DOMAIN = new TextEncoder().encode('dawn/test/v1\n')
const OTHER = new TextEncoder().encode('dawn/other/v1\n')

describe('NodeSigner', () => {
  const seed = generateSeed()
  const peerId = peerIdFromSeed(seed)

  it('signs fields that verify for its peer id only, under its domain only, unaltered only', () => {
    const signer = new NodeSigner(seed, peerId)
    const sig = signer.sign(DOMAIN, ['a', 1])
    expect(sig.length).toBe(64)
    expect(verifyNodeSignature(peerId, DOMAIN, ['a', 1], sig)).toBe(true)
    expect(verifyNodeSignature(peerId, OTHER, ['a', 1], sig)).toBe(false)
    expect(verifyNodeSignature(peerId, DOMAIN, ['a', 2], sig)).toBe(false)
    expect(verifyNodeSignature(peerIdFromSeed(generateSeed()), DOMAIN, ['a', 1], sig)).toBe(false)
    expect(verifyNodeSignature('not-a-peer-id', DOMAIN, ['a', 1], sig)).toBe(false)
    expect(verifyNodeSignature(peerId, DOMAIN, ['a', 1], sig.subarray(1))).toBe(false)
  })

  it('refuses a seed that is not the peer id\'s, and signs nothing after forget', () => {
    expect(() => new NodeSigner(generateSeed(), peerId)).toThrow(NodeSignerError)
    const signer = new NodeSigner(seed, peerId)
    signer.forget()
    expect(() => signer.sign(DOMAIN, [])).toThrow(/dropped/)
  })
})
