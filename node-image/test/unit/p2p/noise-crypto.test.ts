import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto'
import { Uint8ArrayList } from 'uint8arraylist'
import { noiseCrypto } from '../../../src/p2p/noise-crypto.ts'

type Bytes = Uint8Array | { subarray: () => Uint8Array }

function flat (b: Bytes): Uint8Array {
  return b instanceof Uint8Array ? b : b.subarray()
}

/** A list split at uneven places, as frames arrive across socket reads. */
function split (bytes: Uint8Array): Uint8ArrayList {
  const cut1 = Math.floor(bytes.byteLength / 3)
  const cut2 = cut1 + 7
  return new Uint8ArrayList(bytes.subarray(0, cut1), bytes.subarray(cut1, cut2), bytes.subarray(cut2))
}

const SIZES = [0, 1, 1199, 1200, 1201, 4096, 65_519]

describe('noiseCrypto (ChaCha20-Poly1305 for Noise frames)', () => {
  const k = new Uint8Array(randomBytes(32))
  const nonce = new Uint8Array(12).fill(3)
  const ad = new Uint8Array(0)

  it('seals every size as the library does, byte for byte, from an array or a list', () => {
    for (const size of SIZES) {
      const plaintext = new Uint8Array(randomBytes(size))
      const expected = Buffer.from(flat(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))).toString('hex')
      const sealed = noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
      expect(Buffer.from(flat(sealed)).toString('hex'), `${size} bytes`).toBe(expected)
      // From OpenSSL's size up, ciphertext and tag go out as two parts, never joined into a third array.
      if (size >= 1200) expect(sealed instanceof Uint8Array, `${size} bytes sealed as parts`).toBe(false)
      expect(Buffer.from(flat(noiseCrypto.chaCha20Poly1305Encrypt(split(plaintext) as never, nonce, ad, k))).toString('hex'), `${size} bytes as a list`).toBe(expected)
    }
  })

  it('opens what the library sealed, from an array or a list', () => {
    for (const size of SIZES) {
      const plaintext = new Uint8Array(randomBytes(size))
      const sealed = flat(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k))
      expect(Buffer.from(flat(noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, k))).equals(plaintext), `${size} bytes`).toBe(true)
      expect(Buffer.from(flat(noiseCrypto.chaCha20Poly1305Decrypt(split(sealed) as never, nonce, ad, k))).equals(plaintext), `${size} bytes as a list`).toBe(true)
    }
  })

  it('refuses a frame with one bit changed, or opened with another key or nonce', () => {
    const sealed = flat(noiseCrypto.chaCha20Poly1305Encrypt(new Uint8Array(randomBytes(4096)), nonce, ad, k)).slice()
    const otherKey = new Uint8Array(randomBytes(32))
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, otherKey)).toThrow()
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, new Uint8Array(12).fill(4), ad, k)).toThrow()
    for (const at of [0, 2000, sealed.byteLength - 1]) {
      const forged = sealed.slice()
      forged[at] = (forged[at] ?? 0) ^ 1
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(forged, nonce, ad, k), `bit flipped at ${at}`).toThrow()
    }
  })

  it('keeps each key array\'s own key: two sessions never share a cached key', () => {
    const plaintext = new Uint8Array(randomBytes(2048))
    const k2 = k.slice()
    k2[0] = (k2[0] ?? 0) ^ 0xff
    const a = Buffer.from(flat(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)))
    const b = Buffer.from(flat(noiseCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k2)))
    expect(a.equals(b)).toBe(false)
    expect(b.toString('hex')).toBe(Buffer.from(flat(defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k2))).toString('hex'))
  })
})
