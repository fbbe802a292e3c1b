/**
 * A periodic gossip that every member sends reaches every member: N senders x N
 * receivers. Spacing each sender's period by the mesh's size keeps the mesh-wide rate
 * near one message per `perNodeMs`, so each node handles about as many at 100 nodes as
 * at 5 (at 100 nodes a fixed 15 s period had every node handling ~7 announcements a
 * second, and periodic gossip alone took most of two cores).
 */
export interface MeshPeriodInit {
  /** The period of a small mesh. */
  minMs: number
  /** The period grows by this much per member. */
  perNodeMs: number
}

/** The wait before the next periodic message, jittered by +-25 % so senders do not move in step. */
export function meshPeriodMs (meshSize: number, init: MeshPeriodInit): number {
  return Math.max(init.minMs, meshSize * init.perNodeMs) * (0.75 + Math.random() * 0.5)
}

/** Up to this many members, per-member rates hold: periods at their configured length, broadcasts on every join. */
export const SMALL_MESH_NODES = 30

/**
 * Some state goes to every member when a peer joins (this node's content manifest), so
 * the newcomer learns it at once (room receipts go to the newcomer alone: rooms-service.ts). Each such broadcast reaches every
 * member, and while a mesh starts every member sees many joins: in a 50-node local mesh
 * these were most of the gossip each node handled (3.4 manifests and 2.4 receipts a
 * second). Beyond SMALL_MESH_NODES a newcomer learns manifests from the periodic
 * re-gossip instead, and receipts with the next one sent.
 */
export function broadcastsOnJoin (meshSize: number): boolean {
  return meshSize <= SMALL_MESH_NODES
}
