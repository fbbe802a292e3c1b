/**
 * The latency and CPU model shared by the simulators: a log-normal hop latency,
 * a per-node uplink, and CPU work per message sent, validated or dropped as a
 * duplicate. CPU is either one core per node (separate machines or processes)
 * or a pool of cores all nodes share (the in-process registry bench).
 */
import type { Prng } from './prng.ts'

export interface CostModel {
  /** one-way latency of a link, median and p99/p50 over links (log-normal; each link keeps its own) */
  hopMedianMs: number
  hopP99OverP50: number
  /** each node's uplink */
  bandwidthBytesPerMs: number
  /** CPU per message sent (protobuf, yamux, Noise, PSK, socket write) */
  sendMs: number
  /** CPU for a first receipt: envelope open (Ed25519 verify) and applying the delta */
  validateMs: number
  /** CPU for a duplicate: message id hash and seen-cache check */
  duplicateMs: number
  /** 'per-node': a core each; a number: that many cores shared by every node */
  cores: 'per-node' | number
}

/** Busy-until clocks for the CPUs and uplinks of a run. */
export class Resources {
  private readonly model: CostModel
  private readonly cpu: Float64Array
  private readonly link: Float64Array

  constructor (n: number, model: CostModel) {
    this.model = model
    this.cpu = new Float64Array(model.cores === 'per-node' ? n : Math.max(1, model.cores))
    this.link = new Float64Array(n)
  }

  reset (): void {
    this.cpu.fill(0)
    this.link.fill(0)
  }

  /** Runs `ms` of CPU for `node` no earlier than `at`; returns when it is done. */
  work (node: number, at: number, ms: number): number {
    let core = node
    if (this.model.cores !== 'per-node') {
      core = 0
      for (let i = 1; i < this.cpu.length; i++) if ((this.cpu[i] as number) < (this.cpu[core] as number)) core = i
    }
    const done = Math.max(at, this.cpu[core] as number) + ms
    this.cpu[core] = done
    return done
  }

  /** Sends `bytes` from `node` to `peer` once its CPU has framed them; returns the arrival time. */
  send (node: number, peer: number, at: number, bytes: number, rng: Prng): number {
    const framed = this.work(node, at, this.model.sendMs)
    const leaves = Math.max(framed, this.link[node] as number) + bytes / this.model.bandwidthBytesPerMs
    this.link[node] = leaves
    return leaves + this.latency(node, peer, rng)
  }

  /**
   * One-way latency between two nodes: the link's own (a path's latency is set by
   * where its ends are, so it is drawn once per pair from a hash, never stored)
   * times up to 10 % jitter per message.
   */
  latency (a: number, b: number, rng: Prng): number {
    const lo = Math.min(a, b)
    const hi = Math.max(a, b)
    const u1 = (mix(lo * 0x9e3779b1 + hi) + 0.5) / 4294967296
    const u2 = (mix(hi * 0x85ebca6b + lo + 0x27d4eb2f) + 0.5) / 4294967296
    const sigma = this.model.hopP99OverP50 <= 1 ? 0 : Math.log(this.model.hopP99OverP50) / 2.3263
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)
    return this.model.hopMedianMs * Math.exp(sigma * z) * (1 + 0.1 * rng.next())
  }
}

/** A 32-bit integer hash (murmur3 finalizer). */
function mix (x: number): number {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}
