/**
 * Micro-bench of the routed-call end-to-end cipher: full round trips (A seals a
 * request, B opens it and seals the response, A opens that) per second, next to
 * a plain-copy baseline doing the same four payload copies with no crypto.
 * Interleaved rounds, median reported, as in registry.ts.
 */
import { getRandomValues } from 'node:crypto'
import { generateSeed, peerIdFromSeed } from '../src/identity/index.ts'
import { E2ECipher } from '../src/routing/e2e-cipher.ts'
import { fmtOps, formatTable, median, sleep, opsPerSecond } from './util.ts'

const ROUND_MS = 200
const ROUNDS = 5
const SIZES = [1024, 64 * 1024]

interface Case {
  name: string
  size: number
  plain: () => void
  e2e: () => void
}

export async function runE2EBench (): Promise<string> {
  const aad = new TextEncoder().encode('bench-net\ntools/call')
  const pair = (init: { maxSessionUses?: number } = {}): { call: (payload: Uint8Array) => void } => {
    const seedA = generateSeed()
    const seedB = generateSeed()
    const a = new E2ECipher({ peerId: peerIdFromSeed(seedA), seed: seedA, ...init })
    const b = new E2ECipher({ peerId: peerIdFromSeed(seedB), seed: seedB })
    let calls = 0
    return {
      call: (payload) => {
        const sealed = a.sealRequest(b.peerId, payload, aad)
        const opened = b.openRequest(a.peerId, sealed.frame, aad)
        sealed.openResponse(opened.sealResponse(opened.plaintext))
        // What a node's timer would do; keeps the cost of sweeping in the numbers.
        if (++calls % 10_000 === 0) { a.sweep(); b.sweep() }
      }
    }
  }
  const plainRoundTrip = (payload: Uint8Array): void => {
    const request = payload.slice()
    const received = request.slice()
    const response = received.slice()
    response.slice()
  }

  const cases: Case[] = SIZES.map(size => {
    const payload = getRandomValues(new Uint8Array(size))
    const steady = pair()
    return { name: `${size / 1024} KiB`, size, plain: () => { plainRoundTrip(payload) }, e2e: () => { steady.call(payload) } }
  })
  // Every call a new caller session: the handshake cost (keygen + 3 DH + 2 HKDF).
  const small = getRandomValues(new Uint8Array(1024))
  const fresh = pair({ maxSessionUses: 1 })
  cases.push({ name: '1 KiB, new session per call', size: 1024, plain: () => { plainRoundTrip(small) }, e2e: () => { fresh.call(small) } })

  const ops = cases.flatMap(c => [c.plain, c.e2e])
  for (const op of ops) opsPerSecond(op, 50)
  const samples = ops.map((): number[] => [])
  for (let r = 0; r < ROUNDS; r++) {
    ops.forEach((op, i) => samples[i]?.push(opsPerSecond(op, ROUND_MS)))
    await sleep(0)
  }
  const rate = (i: number): number => median(samples[i] ?? [])

  const rows = cases.map((c, i) => {
    const plain = rate(2 * i)
    const e2e = rate(2 * i + 1)
    return [
      c.name,
      fmtOps(plain),
      fmtOps(e2e),
      (1e6 / e2e).toFixed(1),
      (1e6 / e2e - 1e6 / plain).toFixed(1),
      (e2e * c.size / 1024 / 1024).toFixed(0)
    ]
  })
  return [
    'E2E cipher: request + response round trips per second, one thread',
    `(median of ${ROUNDS} interleaved ${ROUND_MS} ms rounds; plain = the same 4 payload copies, no crypto)`,
    formatTable(['payload', 'plain rt/s', 'e2e rt/s', 'e2e us/rt', 'crypto us/rt', 'e2e MiB/s each way'], rows)
  ].join('\n')
}

