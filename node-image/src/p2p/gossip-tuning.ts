/**
 * Where Dawn's gossipsub departs from the library's defaults, for the host and for the
 * scale model (bench/sim) alike. Each IHAVE and IDONTWANT is an encrypted frame and a
 * socket write of its own, which for messages of a few KiB (all of Dawn's periodic
 * gossip) costs more than the duplicate it might save; flood publishing and anti-entropy
 * already cover a missed message.
 */
export const GOSSIP_TUNING = {
  /** IHAVE goes to this many peers outside the topic mesh each heartbeat (library: 6). */
  Dlazy: 3,
  /** IDONTWANT only for messages at least this large (library: 512 bytes). */
  idontwantMinDataSize: 16 * 1024
} as const
