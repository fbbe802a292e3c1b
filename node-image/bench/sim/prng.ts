/**
 * Seeded PRNG for the scale simulation: sfc32 seeded through splitmix32, so a
 * seed gives the same stream on every machine and Node version (Math.random
 * never enters the model).
 */
export class Prng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor (seed: number) {
    let s = seed >>> 0
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.uint32()
  }

  uint32 (): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0
    this.d = (this.d + 1) >>> 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) >>> 0
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0
    this.c = (this.c + t) >>> 0
    return t
  }

  /** Uniform in [0, 1). */
  next (): number {
    return this.uint32() / 4294967296
  }

  /** Uniform integer in [0, n). */
  int (n: number): number {
    return Math.floor(this.next() * n)
  }

  chance (p: number): boolean {
    return p > 0 && this.next() < p
  }

  /** `k` distinct integers from [0, n) other than `except` (partial Fisher-Yates over a scratch array). */
  sample (n: number, k: number, except = -1, scratch?: Int32Array): number[] {
    const out: number[] = []
    if (n - (except >= 0 && except < n ? 1 : 0) <= k) {
      for (let i = 0; i < n; i++) if (i !== except) out.push(i)
      return out
    }
    if (k * 4 < n) {
      // Sparse: rejection is cheaper than touching n cells.
      const seen = new Set<number>()
      while (out.length < k) {
        const x = this.int(n)
        if (x === except || seen.has(x)) continue
        seen.add(x)
        out.push(x)
      }
      return out
    }
    const arr = scratch !== undefined && scratch.length >= n ? scratch : new Int32Array(n)
    for (let i = 0; i < n; i++) arr[i] = i
    for (let i = 0; out.length < k && i < n; i++) {
      const j = i + this.int(n - i)
      const t = arr[j] as number
      arr[j] = arr[i] as number
      arr[i] = t
      if (t !== except) out.push(t)
    }
    return out
  }
}
