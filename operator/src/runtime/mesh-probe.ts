// Asks nodes over their HTTP API who their verified peers are (GET /api/v1/node and
// /api/v1/peers), for the network's Degraded condition. Thin I/O only: a timeout per node,
// a bounded number of nodes at once, replies size-capped and checked against the node's own
// schemas. A bad or missing reply is a failed report for that node, never a throw.
import { Compile } from 'typebox/compile'
import Type from 'typebox'
import { NodeInfo, PeerInfo } from '@dawn/node-image/http-schemas'
import { abortReason } from './errors.ts'
import { discard, httpGet, NodeReplyError, readCapped, withCause, type NodeGet } from './node-http.ts'

export { NodeReplyError } from './node-http.ts'

export interface MeshProbeInit {
  /** Per node, both requests together; default 3 s. */
  timeoutMs?: number
  /** Nodes asked at once; default 8. */
  concurrency?: number
  /** Largest reply read, in bytes; default 4 MiB. */
  maxReplyBytes?: number
  /** Default httpGet (node:http); tests pass a fetch-shaped fake. */
  fetch?: NodeGet
}

export interface ProbeTarget {
  name: string
  /** `http://host:port`, no trailing slash. */
  baseUrl: string
}

export type PeerReport =
  | { name: string, ok: true, ready: boolean, startedAtMs: number, verifiedPeers: string[] }
  | { name: string, ok: false, error: string }

const nodeInfo = Compile(NodeInfo)
const peerList = Compile(Type.Array(PeerInfo))

export class MeshProbe {
  private readonly timeoutMs: number
  private readonly concurrency: number
  private readonly maxReplyBytes: number
  private readonly fetch: NodeGet

  constructor (init: MeshProbeInit = {}) {
    this.timeoutMs = init.timeoutMs ?? 3000
    this.concurrency = Math.max(1, init.concurrency ?? 8)
    this.maxReplyBytes = init.maxReplyBytes ?? 4 * 1024 * 1024
    this.fetch = init.fetch ?? httpGet
  }

  /** One report per target, in order. Rejects only when `signal` aborts. */
  async observe (targets: readonly ProbeTarget[], signal: AbortSignal): Promise<PeerReport[]> {
    const out = new Array<PeerReport>(targets.length)
    let next = 0
    const worker = async (): Promise<void> => {
      for (let i = next++; i < targets.length; i = next++) {
        const target = targets[i]
        if (target !== undefined) out[i] = await this.report(target, signal)
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.concurrency, targets.length) }, worker))
    if (signal.aborted) throw abortReason(signal)
    return out
  }

  private async report (target: ProbeTarget, signal: AbortSignal): Promise<PeerReport> {
    const deadline = AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)])
    try {
      const [info, peers] = await Promise.all([
        this.getJson(target.baseUrl, '/api/v1/node', deadline),
        this.getJson(target.baseUrl, '/api/v1/peers', deadline)
      ])
      if (!nodeInfo.Check(info)) throw new NodeReplyError('GET /api/v1/node: the reply does not match the node schema')
      if (!peerList.Check(peers)) throw new NodeReplyError('GET /api/v1/peers: the reply does not match the peer list schema')
      const startedAtMs = Date.parse(info.startedAt)
      return {
        name: target.name,
        ok: true,
        ready: info.ready,
        startedAtMs: Number.isNaN(startedAtMs) ? 0 : startedAtMs,
        verifiedPeers: peers.filter(p => p.verified).map(p => p.peerId)
      }
    } catch (e) {
      if (signal.aborted) throw abortReason(signal)
      const why = deadline.aborted ? `no answer within ${this.timeoutMs} ms` : withCause(e)
      return { name: target.name, ok: false, error: why }
    }
  }

  private async getJson (baseUrl: string, path: string, signal: AbortSignal): Promise<unknown> {
    const r = await this.fetch(`${baseUrl}${path}`, { signal, headers: { accept: 'application/json' } })
    if (!r.ok) { await discard(r); throw new NodeReplyError(`GET ${path}: HTTP ${r.status}`) }
    const text = await readCapped(r, this.maxReplyBytes, path)
    try { return JSON.parse(text) } catch { throw new NodeReplyError(`GET ${path}: the reply is not JSON`) }
  }
}
