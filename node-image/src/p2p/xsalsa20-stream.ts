import { hsalsa, salsa20 } from '@noble/ciphers/salsa.js'

const BLOCK = 64
/** noble exposes only the low 32 bits of Salsa20's block counter. */
const MAX_BLOCKS = 2 ** 32
const ZERO_BLOCK = new Uint8Array(BLOCK)
// "expand 32-byte k" as little-endian words.
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574])

export class KeystreamExhaustedError extends Error {
  constructor () {
    super('XSalsa20 keystream exhausted (256 GiB in one direction); reconnect for a fresh nonce')
    this.name = 'KeystreamExhaustedError'
  }
}

/**
 * An XSalsa20 keystream applied across calls of any length, as go-libp2p's pnet
 * and `xsalsa20`'s `update()` do: the HSalsa20 subkey is derived once, and the
 * unused tail of a block carries over to the next call. Holds 32 + 8 + 64 bytes.
 */
export class XSalsa20Stream {
  private readonly subkey: Uint8Array
  private readonly nonce: Uint8Array
  private readonly spare = new Uint8Array(BLOCK)
  private spareAt = BLOCK
  private block = 0

  constructor (key: Uint8Array, nonce: Uint8Array) {
    if (key.byteLength !== 32) throw new RangeError('XSalsa20 key must be 32 bytes')
    if (nonce.byteLength !== 24) throw new RangeError('XSalsa20 nonce must be 24 bytes')
    const k32 = new Uint32Array(8)
    for (let i = 0; i < 8; i++) k32[i] = readU32(key, i * 4)
    const n32 = new Uint32Array(4)
    for (let i = 0; i < 4; i++) n32[i] = readU32(nonce, i * 4)
    const out = new Uint32Array(8)
    hsalsa(SIGMA, k32, n32, out)
    this.subkey = new Uint8Array(32)
    for (let i = 0; i < 8; i++) writeU32(this.subkey, i * 4, out[i] ?? 0)
    this.nonce = nonce.slice(16, 24)
    k32.fill(0)
    out.fill(0)
  }

  /** XORs `data` with the next `data.byteLength` bytes of keystream, into a new array. */
  update (data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.byteLength)
    let i = 0
    while (this.spareAt < BLOCK && i < data.byteLength) {
      out[i] = (data[i] ?? 0) ^ (this.spare[this.spareAt++] ?? 0)
      i++
    }
    const whole = Math.floor((data.byteLength - i) / BLOCK) * BLOCK
    if (whole > 0) {
      this.claim(whole / BLOCK)
      salsa20(this.subkey, this.nonce, data.subarray(i, i + whole), out.subarray(i, i + whole), this.block)
      this.block += whole / BLOCK
      i += whole
    }
    if (i < data.byteLength) {
      this.claim(1)
      salsa20(this.subkey, this.nonce, ZERO_BLOCK, this.spare, this.block)
      this.block++
      this.spareAt = 0
      while (i < data.byteLength) {
        out[i] = (data[i] ?? 0) ^ (this.spare[this.spareAt++] ?? 0)
        i++
      }
    }
    return out
  }

  /** Forgets the key material; the stream is unusable afterwards. */
  wipe (): void {
    this.subkey.fill(0)
    this.spare.fill(0)
    this.block = MAX_BLOCKS
  }

  private claim (blocks: number): void {
    if (this.block + blocks > MAX_BLOCKS) throw new KeystreamExhaustedError()
  }
}

function readU32 (bytes: Uint8Array, at: number): number {
  return ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> 0
}

function writeU32 (bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff
  bytes[at + 1] = (value >>> 8) & 0xff
  bytes[at + 2] = (value >>> 16) & 0xff
  bytes[at + 3] = (value >>> 24) & 0xff
}
