/**
 * The rooms layer's metrics, registered on the node's own registry. Kept here,
 * not in node-metrics.ts, so the layer can be added or left out as one piece.
 */
import { Counter, Gauge, type Registry } from 'prom-client'
import { ROOM_REJECT_REASONS } from './room-message.ts'

export interface RoomMetrics {
  /** records refused, by reason (room-message.ts) and where they came from (gossip, sync, disk) */
  rejected: Counter<'reason' | 'source'>
  accepted: Counter<'source'>
  equivocations: Counter
  syncRuns: Counter<'result'>
  syncFailures: Counter<'reason'>
  rateLimited: Counter<'limit'>
  messages: Gauge<'room'>
}

// A registry takes each name once; a service started again on the same node reuses its metrics.
const byRegistry = new WeakMap<Registry, RoomMetrics>()

export function createRoomMetrics (registry: Registry): RoomMetrics {
  const known = byRegistry.get(registry)
  if (known !== undefined) return known
  const registers = [registry]
  const rejected = new Counter({ name: 'dawn_room_messages_rejected_total', help: 'Room records refused, by reason (oversized, malformed, wrong-network, unknown-room, not-a-member, bad-signature, future, equivocation) and source (gossip, sync, disk, push)', labelNames: ['reason', 'source'], registers })
  // Every reason at zero from the start, so a dashboard sees 0, not "no data".
  for (const reason of ROOM_REJECT_REASONS) rejected.inc({ reason, source: 'gossip' }, 0)
  const metrics: RoomMetrics = {
    rejected,
    accepted: new Counter({ name: 'dawn_room_messages_accepted_total', help: 'Room records newly held, by source (local, gossip, sync, push)', labelNames: ['source'], registers }),
    equivocations: new Counter({ name: 'dawn_room_equivocations_total', help: 'Records whose author signed two versions of one id', registers }),
    syncRuns: new Counter({ name: 'dawn_room_sync_runs_total', help: 'Room anti-entropy sessions, by result (in-sync, merged, failed)', labelNames: ['result'], registers }),
    syncFailures: new Counter({ name: 'dawn_room_sync_failures_total', help: 'Room anti-entropy problems, by reason (served-* when serving a peer)', labelNames: ['reason'], registers }),
    rateLimited: new Counter({ name: 'dawn_room_rate_limited_total', help: 'Room traffic refused by a rate limit (post, gossip, typing-in)', labelNames: ['limit'], registers }),
    messages: new Gauge({ name: 'dawn_room_messages', help: 'Messages held, by room kind (network, dm)', labelNames: ['room'], registers })
  }
  byRegistry.set(registry, metrics)
  return metrics
}
