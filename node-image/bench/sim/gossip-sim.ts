/**
 * One gossipsub topic, many publishes, as discrete events (no sockets):
 * flood publish from the origin, eager forwarding along the mesh with the
 * seen-cache and IDONTWANT, and lazy IHAVE/IWANT at each node's heartbeat for
 * historyGossip heartbeats, which is what repairs a lost transmission.
 */
import { EventQueue } from './event-queue.ts'
import { Resources, type CostModel } from './cost-model.ts'
import type { GossipParams } from './params.ts'
import { Prng } from './prng.ts'
import type { Topology } from './topology.ts'

export interface GossipSimInit {
  topology: Topology
  params: GossipParams
  cost: CostModel
  /** bytes of one published message on the wire */
  messageBytes: number
  /** bytes of one IHAVE, IWANT or IDONTWANT for one message id */
  controlBytes: number
  /** chance that any one transmission is lost */
  loss: number
  publishes: number
  seed: number
}

export interface GossipSimResult {
  n: number
  publishes: number
  /** receivers reached / (n - 1), over all publishes */
  deliveryRatio: number
  /** per delivery */
  hops: number[]
  deliveryMs: number[]
  /** per publish: when the last receiver had it */
  lastDeliveryMs: number[]
  /** full message copies sent, per node per publish */
  messagesPerNode: number
  /** all bytes sent (messages and control), per node per publish */
  bytesPerNode: number
  /** copies received after the first / first receipts */
  duplicateRatio: number
  /** first receipts that came through IHAVE/IWANT, not eager forwarding */
  viaGossip: number
  /** copies the publisher itself sent (flood publish) */
  publisherSends: number
  meshDegree: { min: number, mean: number, max: number }
}

const RECV = 0
const HEARTBEAT = 1
/** RECV of a copy asked for with IWANT */
const RECV_WANTED = 2

export function simulateGossip (init: GossipSimInit): GossipSimResult {
  const { topology, params, cost, messageBytes, controlBytes, loss, publishes } = init
  const { n, connections, mesh } = topology
  const rng = new Prng(init.seed)
  const res = new Resources(n, cost)
  const phase = Float64Array.from({ length: n }, () => rng.next() * params.heartbeatMs)
  const got = new Float64Array(n)
  const hopsOf = new Int32Array(n)
  const idontwant = messageBytes >= params.idontwantMinDataSize
  const hops: number[] = []
  const deliveryMs: number[] = []
  const lastDeliveryMs: number[] = []
  let delivered = 0
  let copies = 0
  let bytes = 0
  let duplicates = 0
  let firsts = 0
  let publisherSends = 0
  let viaGossip = 0

  for (let m = 0; m < publishes; m++) {
    got.fill(-1)
    res.reset()
    const q = new EventQueue()
    const origin = rng.int(n)
    got[origin] = 0
    hopsOf[origin] = 0
    const transmit = (from: number, to: number, at: number, h: number, kind = RECV): void => {
      copies++
      bytes += messageBytes
      const arrives = res.send(from, to, at, messageBytes, rng)
      if (!rng.chance(loss)) q.push({ time: arrives, kind, node: to, from, hops: h })
    }
    const targets = params.floodPublish ? connections[origin] as Int32Array : mesh[origin] as Int32Array
    for (const w of targets) transmit(origin, w, 0, 1)
    publisherSends += targets.length
    scheduleHeartbeats(q, origin, 0, phase, params)
    let last = 0

    for (let ev = q.pop(); ev !== undefined; ev = q.pop()) {
      const v = ev.node
      if (ev.kind === RECV || ev.kind === RECV_WANTED) {
        if ((got[v] as number) >= 0) {
          duplicates++
          res.work(v, ev.time, cost.duplicateMs)
          continue
        }
        // Receipt: IDONTWANT goes to the mesh at once, validation then forwarding.
        got[v] = ev.time
        hopsOf[v] = ev.hops
        if (idontwant) bytes += controlBytes * (mesh[v] as Int32Array).length
        const done = res.work(v, ev.time, cost.validateMs)
        firsts++
        delivered++
        if (ev.kind === RECV_WANTED) viaGossip++
        hops.push(ev.hops)
        deliveryMs.push(done)
        if (done > last) last = done
        for (const w of mesh[v] as Int32Array) {
          if (w === ev.from || w === origin) continue
          // The peer's IDONTWANT arrived before we would send: skip it.
          const theirs = got[w] as number
          if (idontwant && theirs >= 0 && theirs + res.latency(w, v, rng) <= done) continue
          transmit(v, w, done, ev.hops + 1)
        }
        scheduleHeartbeats(q, v, done, phase, params)
      } else {
        // Heartbeat: IHAVE to max(Dlazy, gossipFactor x non-mesh peers); those missing it IWANT it.
        const conns = connections[v] as Int32Array
        const meshed = mesh[v] as Int32Array
        const eligible = conns.length - meshed.length
        const fanout = Math.min(eligible, Math.max(params.Dlazy, Math.floor(params.gossipFactor * eligible)))
        for (let i = 0, picked = 0; picked < fanout && i < fanout * 4; i++) {
          const w = conns[rng.int(conns.length)] as number
          if (meshed.includes(w)) continue
          picked++
          bytes += controlBytes
          if ((got[w] as number) >= 0 || rng.chance(loss)) continue
          // IWANT back, then the message.
          bytes += controlBytes
          const asked = ev.time + res.latency(w, v, rng)
          transmit(v, w, asked, (hopsOf[v] as number) + 1, RECV_WANTED)
        }
      }
    }
    lastDeliveryMs.push(last)
  }
  const degrees = mesh.map(m => m.length)
  return {
    n,
    publishes,
    deliveryRatio: delivered / (publishes * (n - 1)),
    hops,
    deliveryMs,
    lastDeliveryMs,
    messagesPerNode: copies / (publishes * n),
    bytesPerNode: bytes / (publishes * n),
    duplicateRatio: firsts === 0 ? 0 : duplicates / firsts,
    viaGossip,
    publisherSends: publisherSends / publishes,
    meshDegree: { min: Math.min(...degrees), mean: degrees.reduce((a, b) => a + b, 0) / n, max: Math.max(...degrees) }
  }
}

/** The message stays in IHAVE gossip for historyGossip heartbeats after `at`. */
function scheduleHeartbeats (q: EventQueue, v: number, at: number, phase: Float64Array, p: GossipParams): void {
  const first = (phase[v] as number) + Math.ceil((at - (phase[v] as number)) / p.heartbeatMs) * p.heartbeatMs
  for (let k = 0; k < p.historyGossip; k++) q.push({ time: first + k * p.heartbeatMs, kind: HEARTBEAT, node: v, from: -1, hops: 0 })
}
