// Conversations with agents, kept in this browser (IndexedDB, one database per node
// origin). The token is never stored here. Large media is kept as a placeholder.
import { openDB } from '/ui/vendor/ui-libs.js'

const DB = 'dawn-chat'
const MAX_MEDIA_CHARS = 1_400_000 // about 1 MB of base64
const MAX_PER_CONVERSATION = 5000

let dbPromise
function db () {
  dbPromise ??= openDB(DB, 1, {
    upgrade (d) {
      const entries = d.createObjectStore('entries', { keyPath: 'key', autoIncrement: true })
      entries.createIndex('byConversation', ['agentId', 'at'])
      entries.createIndex('byWord', 'words', { multiEntry: true })
    }
  }).catch(() => undefined) // private windows may refuse IndexedDB: history is then per tab only
  return dbPromise
}

/** Lower-case words of everything a person could search for in an entry. */
export function wordsOf (text) {
  return [...new Set(String(text).toLowerCase().match(/[\p{L}\p{N}_-]{2,}/gu) ?? [])].slice(0, 500)
}

export function textOf (entry) {
  const parts = [entry.tool, entry.prompt, JSON.stringify(entry.args ?? {}), entry.error?.message, entry.error?.code]
  for (const c of entry.result?.content ?? []) if (c.type === 'text') parts.push(c.text)
  for (const m of entry.result?.messages ?? []) if (m.content?.type === 'text') parts.push(m.content.text)
  return parts.filter(p => typeof p === 'string').join(' ')
}

function slim (result) {
  if (result === undefined) return undefined
  const content = (result.content ?? []).map(c => (c.type === 'image' || c.type === 'audio') && (c.data?.length ?? 0) > MAX_MEDIA_CHARS
    ? { type: 'text', text: `[${c.type} of ${c.mimeType}, too large to keep]` }
    : c)
  return { ...result, content }
}

export async function remember (agentId, entry) {
  if (entry === undefined || entry.role === 'question') return
  const d = await db()
  if (d === undefined) return
  const { id, ...rest } = entry
  void id
  await d.add('entries', { ...rest, result: slim(rest.result), agentId, words: wordsOf(textOf(entry)) })
  const keys = await d.getAllKeysFromIndex('entries', 'byConversation', IDBKeyRange.bound([agentId, 0], [agentId, Infinity]))
  for (const k of keys.slice(0, Math.max(0, keys.length - MAX_PER_CONVERSATION))) await d.delete('entries', k)
}

export async function history (agentId) {
  const d = await db()
  if (d === undefined) return []
  return await d.getAllFromIndex('entries', 'byConversation', IDBKeyRange.bound([agentId, 0], [agentId, Infinity]))
}

/**
 * Entries whose words include every query word (prefix match on the last one, as a person
 * types), newest first, filtered by agent, tool and errors only.
 */
export async function search (query, { agentId, tool, errorsOnly } = {}, limit = 50) {
  const d = await db()
  if (d === undefined) return []
  const words = wordsOf(query)
  let rows
  if (words.length === 0) rows = await d.getAll('entries')
  else {
    const last = words[words.length - 1]
    rows = await d.getAllFromIndex('entries', 'byWord', IDBKeyRange.bound(last, last + '\uffff'))
    rows = rows.filter(r => words.slice(0, -1).every(w => r.words.includes(w)))
  }
  const seen = new Set()
  return rows
    .filter(r => !seen.has(r.key) && seen.add(r.key))
    .filter(r => (agentId === undefined || r.agentId === agentId) && (tool === undefined || r.tool === tool) && (!errorsOnly || r.status === 'error'))
    .sort((a, b) => b.at - a.at)
    .slice(0, limit)
}

export async function clearHistory () {
  const d = await db()
  await d?.clear('entries')
}
