import { rendezvousOrder } from './rendezvous.ts'
import type { PinEntry } from './pin-set.ts'

export interface ReplicationView {
  self: string
  /** This node and the verified peers that run the content layer. */
  live: string[]
  pins: PinEntry[]
  holds: (node: string, cid: string) => boolean
}

export interface PinPlacement {
  cid: string
  replication: number
  /** The nodes that should hold it, best first. */
  holders: string[]
  /** Live nodes holding it completely. */
  have: string[]
  deficit: number
}

export function placePin (view: ReplicationView, pin: PinEntry): PinPlacement {
  const holders = rendezvousOrder(pin.cid, view.live).slice(0, pin.replication)
  const have = view.live.filter(n => view.holds(n, pin.cid))
  const target = Math.min(pin.replication, view.live.length)
  return { cid: pin.cid, replication: pin.replication, holders, have, deficit: Math.max(0, target - have.length) }
}

export interface ReplicationPlan {
  /** Pins this node should hold and does not yet. */
  fetch: string[]
  /** Copies this node may drop: every chosen holder has the content. */
  release: string[]
  deficit: number
}

/**
 * What this node does next. Every node computes the same placement from the
 * same view, so no coordinator is needed; a surplus copy is dropped only once
 * all chosen holders report holding it, so no pin ever goes below R.
 */
export function planReplication (view: ReplicationView, localHeld: Iterable<string>): ReplicationPlan {
  const plan: ReplicationPlan = { fetch: [], release: [], deficit: 0 }
  const pinned = new Set<string>()
  for (const pin of view.pins) {
    pinned.add(pin.cid)
    const placement = placePin(view, pin)
    plan.deficit += placement.deficit
    const mine = placement.holders.includes(view.self)
    const held = view.holds(view.self, pin.cid)
    if (mine && !held) plan.fetch.push(pin.cid)
    if (!mine && held && placement.holders.every(n => view.holds(n, pin.cid))) plan.release.push(pin.cid)
  }
  for (const cid of localHeld) if (!pinned.has(cid)) plan.release.push(cid)
  return plan
}
