/**
 * Search in one room's history: a linear scan, newest first, because a room
 * holds at most `rooms.retention.maxMessages` messages. Every query word must
 * occur (case-insensitive) in the text, the nick or a file name.
 */
import type { LogEntry } from './room-log.ts'
import type { RoomMessageView } from './room-view.ts'

export interface SearchQuery {
  q?: string
  author?: string
  kind?: 'text' | 'file'
  /** unix ms bounds on the author's stamp */
  since?: number
  until?: number
  limit: number
}

export const MAX_SEARCH_RESULTS = 50

export function searchRoom (entries: readonly LogEntry[], query: SearchQuery, view: (e: LogEntry) => RoomMessageView): RoomMessageView[] {
  const words = (query.q ?? '').toLowerCase().split(/\s+/).filter(w => w !== '').slice(0, 16)
  const limit = Math.min(query.limit, MAX_SEARCH_RESULTS)
  const out: RoomMessageView[] = []
  for (let i = entries.length - 1; i >= 0 && out.length < limit; i--) {
    const e = entries[i] as LogEntry
    const { msg } = e
    if (query.author !== undefined && msg.author !== query.author) continue
    if (query.since !== undefined && msg.hlc.ms < query.since) continue
    if (query.until !== undefined && msg.hlc.ms > query.until) continue
    const v = view(e)
    if (query.kind !== undefined && v.kind !== query.kind) continue
    if (words.length > 0) {
      const hay = [v.text, v.nick, ...v.files.map(f => f.name)].join('\n').toLowerCase()
      if (!words.every(w => hay.includes(w))) continue
    }
    out.push(v)
  }
  return out
}
