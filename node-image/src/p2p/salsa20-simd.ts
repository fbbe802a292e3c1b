/**
 * Salsa20/20 keystream XOR in WebAssembly SIMD: four consecutive blocks per
 * iteration, one block per i32x4 lane. The module is assembled here from the
 * instruction list below (no binary blob); node-image/test/unit/p2p/xsalsa20-stream.test.ts
 * checks it against NaCl's known answers and @noble/ciphers.
 *
 * Memory layout (one 64 KiB page, owned by this module and used by one call at a time):
 *   [0, 32)   Salsa20 key (the XSalsa20 subkey), little-endian words
 *   [32, 40)  8-byte nonce (XSalsa20 nonce bytes 16..24)
 *   [64, 64 + CHUNK_BYTES)  data, XORed in place
 */

export const KEY_AT = 0
export const NONCE_AT = 32
export const DATA_AT = 64
/** Bytes XORed per call at most; a multiple of 256 (four blocks). */
export const CHUNK_BYTES = 32 * 1024
export const GROUP_BYTES = 256

// "expand 32-byte k" as little-endian words.
const SIGMA = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]

/** One Salsa20 double round as [target, a, b, rotate]: x[target] ^= rotl(x[a] + x[b], rotate). */
const DOUBLE_ROUND: ReadonlyArray<readonly [number, number, number, number]> = [
  // columns
  [4, 0, 12, 7], [8, 4, 0, 9], [12, 8, 4, 13], [0, 12, 8, 18],
  [9, 5, 1, 7], [13, 9, 5, 9], [1, 13, 9, 13], [5, 1, 13, 18],
  [14, 10, 6, 7], [2, 14, 10, 9], [6, 2, 14, 13], [10, 6, 2, 18],
  [3, 15, 11, 7], [7, 3, 15, 9], [11, 7, 3, 13], [15, 11, 7, 18],
  // rows
  [1, 0, 3, 7], [2, 1, 0, 9], [3, 2, 1, 13], [0, 3, 2, 18],
  [6, 5, 4, 7], [7, 6, 5, 9], [4, 7, 6, 13], [5, 4, 7, 18],
  [11, 10, 9, 7], [8, 11, 10, 9], [9, 8, 11, 13], [10, 9, 8, 18],
  [12, 15, 14, 7], [13, 12, 15, 9], [14, 13, 12, 13], [15, 14, 13, 18]
]

// Opcodes (WebAssembly core + SIMD proposal as shipped).
const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  simd: 0xfd
} as const
const SIMD = {
  load: 0x00,
  store: 0x0b,
  vconst: 0x0c,
  shuffle: 0x0d,
  i32x4Splat: 0x11,
  or: 0x50,
  xor: 0x51,
  i32x4Shl: 0xab,
  i32x4ShrU: 0xad,
  i32x4Add: 0xae
} as const
const I32 = 0x7f
const V128 = 0x7b

// Locals: params ptr, groups, counter; then i32 round; then v128 y[16], x[16], t, q[4].
const PTR = 0
const GROUPS = 1
const COUNTER = 2
const ROUND = 3
const Y = 4
const X = Y + 16
const T = X + 16
const Q = T + 1
const V128_LOCALS = 16 + 16 + 1 + 4

function uleb (n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n !== 0) b |= 0x80
    out.push(b)
  } while (n !== 0)
  return out
}

function sleb (n: number): number[] {
  const out: number[] = []
  for (;;) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

/** The body of `xor(ptr, groups, counter)`: XORs groups × 256 bytes at ptr with blocks counter, counter + 1, … */
function xorBody (): number[] {
  const c: number[] = []
  const get = (i: number): void => { c.push(OP.localGet, ...uleb(i)) }
  const set = (i: number): void => { c.push(OP.localSet, ...uleb(i)) }
  const simd = (op: number, ...imm: number[]): void => { c.push(OP.simd, ...uleb(op), ...imm) }
  const i32 = (v: number): void => { c.push(OP.i32Const, ...sleb(v | 0)) }
  const splatConst = (v: number): void => { i32(v); simd(SIMD.i32x4Splat) }
  const splatLoad = (at: number): void => { i32(0); c.push(OP.i32Load, 2, ...uleb(at)); simd(SIMD.i32x4Splat) }
  // Bytes 16..31 of a shuffle index the second operand.
  const shuffle = (lanes: number[]): void => { simd(SIMD.shuffle, ...lanes.flatMap(l => [l * 4, l * 4 + 1, l * 4 + 2, l * 4 + 3])) }

  // Input state, one word per local, splatted across the four lanes.
  splatConst(SIGMA[0] as number); set(Y + 0)
  for (let i = 0; i < 4; i++) { splatLoad(KEY_AT + i * 4); set(Y + 1 + i) }
  splatConst(SIGMA[1] as number); set(Y + 5)
  splatLoad(NONCE_AT); set(Y + 6)
  splatLoad(NONCE_AT + 4); set(Y + 7)
  get(COUNTER); simd(SIMD.i32x4Splat)
  simd(SIMD.vconst, ...[0, 1, 2, 3].flatMap(v => [v, 0, 0, 0]))
  simd(SIMD.i32x4Add); set(Y + 8)
  // y9 (counter high word) stays at the zero a v128 local starts with.
  splatConst(SIGMA[2] as number); set(Y + 10)
  for (let i = 0; i < 4; i++) { splatLoad(KEY_AT + 16 + i * 4); set(Y + 11 + i) }
  splatConst(SIGMA[3] as number); set(Y + 15)

  c.push(OP.block, 0x40, OP.loop, 0x40)
  get(GROUPS); c.push(OP.i32Eqz, OP.brIf, 1)
  for (let i = 0; i < 16; i++) { get(Y + i); set(X + i) }
  i32(10); set(ROUND)
  c.push(OP.loop, 0x40)
  for (const [t, a, b, r] of DOUBLE_ROUND) {
    get(X + t)
    get(X + a); get(X + b); simd(SIMD.i32x4Add); c.push(OP.localTee, ...uleb(T))
    i32(r); simd(SIMD.i32x4Shl)
    get(T); i32(32 - r); simd(SIMD.i32x4ShrU)
    simd(SIMD.or); simd(SIMD.xor); set(X + t)
  }
  get(ROUND); i32(1); c.push(OP.i32Sub, OP.localTee, ...uleb(ROUND), OP.brIf, 0, OP.end)
  for (let i = 0; i < 16; i++) { get(X + i); get(Y + i); simd(SIMD.i32x4Add); set(X + i) }
  // Transpose each 4 × 4 word square (lanes = blocks) so block j's words 4w..4w+3 are contiguous.
  for (let w = 0; w < 4; w++) {
    const [a, b, cc, d] = [X + 4 * w, X + 4 * w + 1, X + 4 * w + 2, X + 4 * w + 3]
    get(a); get(b); shuffle([0, 4, 1, 5]); set(Q + 0)
    get(a); get(b); shuffle([2, 6, 3, 7]); set(Q + 1)
    get(cc); get(d); shuffle([0, 4, 1, 5]); set(Q + 2)
    get(cc); get(d); shuffle([2, 6, 3, 7]); set(Q + 3)
    const halves: Array<[number, number, number[]]> = [[Q + 0, Q + 2, [0, 1, 4, 5]], [Q + 0, Q + 2, [2, 3, 6, 7]], [Q + 1, Q + 3, [0, 1, 4, 5]], [Q + 1, Q + 3, [2, 3, 6, 7]]]
    halves.forEach(([lo, hi, lanes], block) => {
      const offset = uleb(block * 64 + w * 16)
      get(PTR)
      get(PTR); simd(SIMD.load, 0, ...offset)
      get(lo); get(hi); shuffle(lanes)
      simd(SIMD.xor)
      simd(SIMD.store, 0, ...offset)
    })
  }
  get(PTR); i32(GROUP_BYTES); c.push(OP.i32Add); set(PTR)
  get(GROUPS); i32(1); c.push(OP.i32Sub); set(GROUPS)
  get(Y + 8); splatConst(4); simd(SIMD.i32x4Add); set(Y + 8)
  c.push(OP.br, 0, OP.end, OP.end, OP.end)
  return c
}

function section (id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body]
}

function name (s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, ch => ch.charCodeAt(0))]
}

/** The module's bytes: one memory, one function, both exported. */
export function salsa20SimdModuleBytes (): Uint8Array {
  const locals = [2, 1, I32, ...uleb(V128_LOCALS), V128]
  const body = [...locals, ...xorBody()]
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, I32, I32, I32, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 1]),
    ...section(7, [2, ...name('memory'), 0x02, 0, ...name('xor'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body])
  ])
}

export interface Salsa20Simd {
  /** The module's memory; see the layout above. */
  memory: Uint8Array
  /** XORs groups × 256 bytes at DATA_AT with keystream blocks counter, counter + 1, … (counter mod 2^32). */
  xor: (groups: number, counter: number) => void
}

/** The slice of the WebAssembly JS API used here (the project's lib settings carry no WebAssembly types). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object) => { exports: unknown }
}
interface SimdExports {
  memory: { buffer: ArrayBuffer }
  xor: (ptr: number, groups: number, counter: number) => void
}

let instance: Salsa20Simd | undefined

/** The shared instance, compiled on first use. Calls are synchronous, so one instance serves every stream. */
export function salsa20Simd (): Salsa20Simd {
  if (instance !== undefined) return instance
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
  const exports = new wasm.Instance(new wasm.Module(salsa20SimdModuleBytes())).exports as SimdExports
  const memory = new Uint8Array(exports.memory.buffer)
  instance = { memory, xor: (groups, counter) => { exports.xor(DATA_AT, groups, counter | 0) } }
  return instance
}
