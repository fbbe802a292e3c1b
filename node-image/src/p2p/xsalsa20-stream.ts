import { hsalsa } from '@noble/ciphers/salsa.js'
import { CHUNK_BYTES, DATA_AT, GROUP_BYTES, KEY_AT, salsa20Simd } from './salsa20-simd.ts'

const BLOCK = 64
/** Only the low word of Salsa20's block counter is used, as before: 256 GiB per direction and connection. */
const MAX_BLOCKS = 2 ** 32
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
 * unused keystream of the last generated blocks carries over to the next call.
 * Blocks are made four at a time (salsa20-simd.ts), so up to 255 bytes carry over.
 * Holds 40 bytes of key and nonce and a 256-byte keystream reserve.
 */
export class XSalsa20Stream {
  /** The subkey then the nonce tail, as the SIMD module's memory expects them. */
  private readonly keyNonce = new Uint8Array(40)
  private readonly reserve = new Uint8Array(GROUP_BYTES)
  private reserveAt = 0
  private reserveEnd = 0
  /** The next block to generate. */
  private block = 0
  /** Reused by every call: a 64-byte write allocates only its output. */
  private readonly input = new PartsReader()

  constructor (key: Uint8Array, nonce: Uint8Array) {
    if (key.byteLength !== 32) throw new RangeError('XSalsa20 key must be 32 bytes')
    if (nonce.byteLength !== 24) throw new RangeError('XSalsa20 nonce must be 24 bytes')
    const k32 = new Uint32Array(8)
    for (let i = 0; i < 8; i++) k32[i] = readU32(key, i * 4)
    const n32 = new Uint32Array(4)
    for (let i = 0; i < 4; i++) n32[i] = readU32(nonce, i * 4)
    const out = new Uint32Array(8)
    hsalsa(SIGMA, k32, n32, out)
    for (let i = 0; i < 8; i++) writeU32(this.keyNonce, i * 4, out[i] ?? 0)
    this.keyNonce.set(nonce.subarray(16, 24), 32)
    k32.fill(0)
    out.fill(0)
  }

  /** XORs `data` with the next `data.byteLength` bytes of keystream, into a new array. */
  update (data: Uint8Array): Uint8Array {
    return this.xor(data, NO_PARTS, data.byteLength)
  }

  /**
   * update() that writes over `data` instead of allocating: for bytes nobody else holds,
   * such as a socket's read buffer (each array less per received byte is external memory
   * V8 need not collect; see NODE_V8_FLAGS in local-mesh/node-process.ts).
   */
  updateInPlace (data: Uint8Array): Uint8Array {
    return this.xor(data, NO_PARTS, data.byteLength, data)
  }

  /** update() of the parts' concatenation, without concatenating them first. */
  updateParts (parts: Iterable<Uint8Array>, byteLength: number): Uint8Array {
    return this.xor(EMPTY, parts[Symbol.iterator](), byteLength)
  }

  private xor (first: Uint8Array, rest: Iterator<Uint8Array>, n: number, out?: Uint8Array): Uint8Array {
    try {
      return this.xorFrom(this.input.reset(first, rest), n, out)
    } finally {
      this.input.reset(EMPTY, NO_PARTS)
    }
  }

  /** Reads each byte of `input` before writing its place in `out`, so `out` may be the input itself. */
  private xorFrom (input: PartsReader, n: number, out: Uint8Array = new Uint8Array(n)): Uint8Array {
    const fromReserve = Math.min(n, this.reserveEnd - this.reserveAt)
    input.read(out, 0, fromReserve)
    for (let k = 0; k < fromReserve; k++) out[k] = (out[k] as number) ^ (this.reserve[this.reserveAt++] as number)
    let i = fromReserve
    if (i === n) return out
    const simd = salsa20Simd()
    const memory = simd.memory
    memory.set(this.keyNonce, KEY_AT)
    // Where bare keystream (XORed with the zero padding) sits in the module's memory.
    let bareAt = DATA_AT
    let bareEnd = DATA_AT
    try {
      while (i < n) {
        const take = Math.min(n - i, CHUNK_BYTES)
        const blocks = Math.ceil(take / BLOCK)
        if (this.block + blocks > MAX_BLOCKS) throw new KeystreamExhaustedError()
        const bytes = Math.ceil(take / GROUP_BYTES) * GROUP_BYTES
        input.read(memory, DATA_AT, take)
        // XOR with zeros past the data leaves bare keystream there: the reserve for the next call.
        memory.fill(0, DATA_AT + take, DATA_AT + bytes)
        simd.xor(bytes / GROUP_BYTES, this.block)
        out.set(memory.subarray(DATA_AT, DATA_AT + take), i)
        // Blocks past 2^32 come from a wrapped counter and must never be used.
        const valid = Math.min(bytes, (MAX_BLOCKS - this.block) * BLOCK)
        this.reserve.set(memory.subarray(DATA_AT + take, DATA_AT + valid))
        this.reserveAt = 0
        this.reserveEnd = valid - take
        this.block = Math.min(this.block + bytes / BLOCK, MAX_BLOCKS)
        bareAt = DATA_AT + take
        bareEnd = DATA_AT + bytes
        i += take
      }
    } finally {
      // The module's memory is shared by every stream: leave no key or bare keystream behind.
      // The data area holds only what `out` holds too.
      memory.fill(0, KEY_AT, KEY_AT + this.keyNonce.byteLength)
      memory.fill(0, bareAt, bareEnd)
    }
    return out
  }

  /** Forgets the key material; the stream is unusable afterwards. */
  wipe (): void {
    this.keyNonce.fill(0)
    this.reserve.fill(0)
    this.reserveAt = 0
    this.reserveEnd = 0
    this.block = MAX_BLOCKS
  }
}

const EMPTY = new Uint8Array(0)
const NO_PARTS: Iterator<Uint8Array> = [][Symbol.iterator]()

/** Reads consecutive bytes across a sequence of arrays. */
class PartsReader {
  private parts: Iterator<Uint8Array> = NO_PARTS
  private part: Uint8Array = EMPTY
  private at = 0

  /** Reads `first`, then `rest`. */
  reset (first: Uint8Array, rest: Iterator<Uint8Array>): this {
    this.part = first
    this.at = 0
    this.parts = rest
    return this
  }

  /** Copies the next `count` bytes into `target` at `offset`. */
  read (target: Uint8Array, offset: number, count: number): void {
    while (count > 0) {
      if (this.at === this.part.byteLength) {
        const next = this.parts.next()
        if (next.done === true) throw new RangeError('XSalsa20 input is shorter than its stated length')
        this.part = next.value
        this.at = 0
        continue
      }
      const n = Math.min(count, this.part.byteLength - this.at)
      target.set(n === this.part.byteLength ? this.part : this.part.subarray(this.at, this.at + n), offset)
      this.at += n
      offset += n
      count -= n
    }
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
