/**
 * Where Dawn's gossipsub departs from the library's defaults, for the host and for the
 * scale model (bench/sim) alike. Each IHAVE and IDONTWANT is an encrypted frame and a
 * socket write of its own, which for messages of a few KiB (all of Dawn's periodic
 * gossip) costs more than the duplicate it might save; flood publishing and anti-entropy
 * already cover a missed message.
 */
export const GOSSIP_TUNING = {
  /**
   * IHAVE goes to max(Dlazy, gossipFactor x the peers outside the topic mesh) of them each
   * heartbeat (library: 6 and 0.25). IHAVE only helps a peer that missed a message, and over
   * TCP with flood publishing that is rare; yet it was 4.9 of the 11 RPCs an idle node of a
   * 20-node mesh sent each second.
   */
  Dlazy: 1,
  gossipFactor: 0.1,
  /** IDONTWANT only for messages at least this large (library: 512 bytes). */
  idontwantMinDataSize: 16 * 1024
} as const
