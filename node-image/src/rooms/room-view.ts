/**
 * The JSON the page gets for one message. Everything in it is data, never
 * markup: the page renders it as text.
 */
import Type, { type Static } from 'typebox'
import { ROOM_LIMITS } from './room-limits.ts'
import type { LogEntry } from './room-log.ts'
import { RoomFile } from './room-message.ts'

export const RoomMessageView = Type.Object({
  id: Type.String({ description: '<author>.<incarnation>@<seq>; unique in the room' }),
  orderKey: Type.String({ description: 'sorts lexically into the room order; the paging cursor' }),
  room: Type.String(),
  author: Type.String({ description: 'peer id of the node that wrote it' }),
  nick: Type.String(),
  kind: Type.Union([Type.Literal('text'), Type.Literal('file')]),
  text: Type.String(),
  files: Type.Array(RoomFile),
  sentAt: Type.Integer({ description: 'the author\'s stamp, unix ms' }),
  receivedAt: Type.Integer({ description: 'when this node first held it, unix ms' }),
  late: Type.Boolean({ description: 'received more than a minute after it was sent (a healed partition or an offline node)' }),
  sealed: Type.Boolean({ description: 'a direct message, end-to-end encrypted between its two nodes' }),
  /** false when a sealed message could not be opened on this node */
  readable: Type.Boolean(),
  delivery: Type.Object({
    deliveredTo: Type.Array(Type.String(), { description: 'other nodes holding it' }),
    seenBy: Type.Array(Type.String(), { description: 'other nodes whose page showed it' })
  })
})
export type RoomMessageView = Static<typeof RoomMessageView>

export interface Opened { kind: 'text' | 'file', text: string, files: RoomFile[] }

export function messageView (entry: LogEntry, delivery: RoomMessageView['delivery'], open?: (entry: LogEntry) => Opened | undefined): RoomMessageView {
  const { msg } = entry
  const sealed = msg.sealed !== undefined
  const opened = sealed ? open?.(entry) : { kind: msg.kind, text: msg.text, files: msg.files ?? [] }
  return {
    id: entry.id,
    orderKey: entry.key,
    room: msg.room,
    author: msg.author,
    nick: msg.nick,
    kind: opened?.kind ?? msg.kind,
    text: opened?.text ?? '',
    files: opened?.files ?? [],
    sentAt: msg.hlc.ms,
    receivedAt: entry.receivedAt,
    late: entry.receivedAt - msg.hlc.ms > ROOM_LIMITS.lateAfterMs,
    sealed,
    readable: opened !== undefined,
    delivery
  }
}
