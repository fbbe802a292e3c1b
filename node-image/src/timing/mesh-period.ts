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

/**
 * Up to this many members a period keeps its configured length. What a newcomer must learn
 * at once does not wait for a period: each member sends it to the newcomer alone as it
 * verifies it (content manifests: GossipChannel.sendTo; room receipts: rooms-service.ts).
 * Broadcast on every join instead, it reached every member and was most of a forming mesh's
 * gossip (17,914 manifest sends while a 20-node mesh formed).
 */
export const SMALL_MESH_NODES = 30
