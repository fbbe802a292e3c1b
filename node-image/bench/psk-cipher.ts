/**
 * The private-network cipher alone: MiB/s of XSalsa20Stream.update for several
 * write sizes (per CPU second of the main thread), the @noble/ciphers-based stream this replaced ("before") against
 * the WebAssembly SIMD one ("after"), interleaved round by round, median of rounds.
 *   npm run bench -- psk-cipher [--mib 32] [--rounds 5]
 */
import { parseArgs } from 'node:util'
import { hsalsa, salsa20 } from '@noble/ciphers/salsa.js'
import { XSalsa20Stream } from '../src/p2p/xsalsa20-stream.ts'
import { Uint8ArrayList } from 'uint8arraylist'
import { formatTable, median } from './util.ts'

const USAGE = `npm run bench -- psk-cipher [--mib N] [--rounds R]
  --mib N      MiB XORed per size, variant and round (default 32; 64 B writes use N/8)
  --rounds R   interleaved rounds, the median is shown (default 5)`

const SIZES: Array<[string, number]> = [['64 B', 64], ['1 KiB', 1024], ['16 KiB', 16 * 1024], ['256 KiB', 256 * 1024]]

const ZERO_BLOCK = new Uint8Array(64)

interface Cipher { update: (data: Uint8Array) => Uint8Array }

export async function run (args: string[]): Promise<void> {
  await Promise.resolve()
  measure(args)
}

function measure (args: string[]): void {
  const { values } = parseArgs({ args, options: { mib: { type: 'string', default: '32' }, rounds: { type: 'string', default: '5' }, help: { type: 'boolean' } } })
  if (values.help === true) { process.stdout.write(USAGE + '\n'); return }
  const mib = Number(values.mib)
  const rounds = Number(values.rounds)
  if (!(mib > 0) || !Number.isInteger(rounds) || rounds < 1) throw new Error(USAGE)
  const key = new Uint8Array(32).fill(7)
  const nonce = new Uint8Array(24).fill(9)
  const before = (): Cipher => new NobleXSalsa20Stream(key, nonce)
  const after = (): Cipher => new XSalsa20Stream(key, nonce)

  const rows: string[][] = []
  for (const [label, size] of SIZES) {
    // An odd offset keeps the input unaligned, as socket reads often are.
    const data = new Uint8Array(size + 1).fill(0x5a).subarray(1)
    const [b, a] = compare(size < 1024 ? mib / 8 : mib, size, rounds, [
      () => { const c = before(); return () => c.update(data) },
      () => { const c = after(); return () => c.update(data) }
    ]) as [number, number]
    rows.push([label, b.toFixed(0), a.toFixed(0), `${(a / b).toFixed(2)}×`])
  }
  // Main-thread CPU time, not wall time: on a loaded machine wall time mostly measures the scheduler.
  process.stdout.write(`XSalsa20Stream.update, MiB per CPU second of the main thread (median of ${rounds} interleaved rounds)\n`)
  process.stdout.write(formatTable(['write size', 'before', 'after', 'after/before'], rows) + '\n')

  // PskConnection.sendData gets Noise frames as [2-byte length, ciphertext]: it used to XOR each part, now the whole.
  const frames: string[][] = []
  for (const [label, size] of SIZES.filter(([, n]) => n >= 1024)) {
    const length = new Uint8Array(2)
    const payload = new Uint8Array(size)
    const list = new Uint8ArrayList(length, payload)
    const [old, parts, whole, gathered] = compare(mib, size + 2, rounds, [
      () => { const c = before(); return () => { for (const buf of list) c.update(buf) } },
      () => { const c = after(); return () => { for (const buf of list) c.update(buf) } },
      () => { const c = after(); return () => c.update(list.subarray()) },
      () => { const c = new XSalsa20Stream(key, nonce); return () => c.updateParts(list, list.byteLength) }
    ]) as [number, number, number, number]
    frames.push([`2 B + ${label}`, old.toFixed(0), parts.toFixed(0), whole.toFixed(0), gathered.toFixed(0), `${(gathered / old).toFixed(2)}×`])
  }
  process.stdout.write('\nsendData of one Noise frame, MiB per CPU second. before: noble, one update per part (old sendData);\n' +
    'SIMD: one update per part / concatenate then update / updateParts (new sendData: one pass, one send)\n')
  process.stdout.write(formatTable(['frame', 'before', 'per part', 'concat', 'updateParts', 'updateParts/before'], frames) + '\n')
}

/** Runs each variant over `mib` MiB in `size`-byte steps, round-robin; median MiB per main-thread CPU second of each. */
function compare (mib: number, size: number, rounds: number, variants: Array<() => () => void>): number[] {
  const total = mib * 1024 * 1024
  const samples: number[][] = variants.map(() => [])
  for (let r = 0; r < rounds; r++) {
    variants.forEach((make, v) => {
      const step = make()
      const start = process.threadCpuUsage()
      for (let done = 0; done < total; done += size) step()
      const used = process.threadCpuUsage(start)
      samples[v]?.push(total / 1024 / 1024 / ((used.user + used.system) / 1e6))
    })
  }
  return samples.map(median)
}

/** The implementation before the SIMD one (git history: p2p/xsalsa20-stream.ts), kept as the baseline. */
class NobleXSalsa20Stream implements Cipher {
  private readonly subkey = new Uint8Array(32)
  private readonly nonce: Uint8Array
  private readonly spare = new Uint8Array(64)
  private spareAt = 64
  private block = 0

  constructor (key: Uint8Array, nonce: Uint8Array) {
    const view = (b: Uint8Array): Uint32Array => new Uint32Array(b.slice().buffer)
    const out = new Uint32Array(8)
    hsalsa(new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]), view(key), view(nonce.subarray(0, 16)), out)
    this.subkey.set(new Uint8Array(out.buffer))
    this.nonce = nonce.slice(16, 24)
  }

  update (data: Uint8Array): Uint8Array {
    const out = new Uint8Array(data.byteLength)
    let i = 0
    while (this.spareAt < 64 && i < data.byteLength) {
      out[i] = (data[i] ?? 0) ^ (this.spare[this.spareAt++] ?? 0)
      i++
    }
    const whole = Math.floor((data.byteLength - i) / 64) * 64
    if (whole > 0) {
      salsa20(this.subkey, this.nonce, data.subarray(i, i + whole), out.subarray(i, i + whole), this.block)
      this.block += whole / 64
      i += whole
    }
    if (i < data.byteLength) {
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
}
