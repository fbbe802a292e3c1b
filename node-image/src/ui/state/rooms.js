// Rooms between people: the network's room and direct messages between two nodes. The node
// keeps each room as a signed, replicated log; the page shows it in the log's order (the
// order key), follows it through the event stream, and keeps what it could not send yet in
// an outbox that a reconnection flushes. The nonce makes a retry idempotent.
import { store, onEvents, onRefresh } from './app-state.js'
import { api, ApiError } from '../net/api.js'

const PAGE = 200
const OUTBOX_KEY = 'dawn-outbox'
const NICK_KEY = 'dawn-nick'

export function roomState () {
  return store.get().rooms
}

function setRooms (fn) {
  store.set(s => ({ rooms: { ...s.rooms, ...fn(s.rooms) } }))
}

store.set({
  rooms: {
    self: undefined,
    networkRoom: undefined,
    list: [],
    /** room → messages in the room's order (oldest first). */
    messages: {},
    /** room → node → {delivered: {replica: seq}, seenUpTo}. */
    receipts: {},
    /** room → node → {nick, at}. */
    typing: {},
    /** room → [{nonce, text, files, at, error?}] not yet accepted by the node. */
    outbox: loadOutbox(),
    nick: localStorage.getItem(NICK_KEY) ?? ''
  }
})

function loadOutbox () {
  try { return JSON.parse(sessionStorage.getItem(OUTBOX_KEY) ?? '{}') } catch { return {} }
}

function saveOutbox (outbox) {
  sessionStorage.setItem(OUTBOX_KEY, JSON.stringify(outbox))
}

export function setNick (nick) {
  localStorage.setItem(NICK_KEY, nick)
  setRooms(() => ({ nick }))
}

/** Random 16 bytes, base64url: the node's idempotency key for one message. */
export function newNonce () {
  const b = crypto.getRandomValues(new Uint8Array(16))
  return btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

const roomPath = room => `/api/v1/rooms/${encodeURIComponent(room)}`

export async function loadRooms () {
  try {
    const r = await api('/api/v1/rooms')
    setRooms(() => ({ self: r.self, networkRoom: r.networkRoom, list: r.rooms }))
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
  }
}

/** Inserts by order key, once per id: a late message from a healed partition lands in the past. */
function merge (existing, incoming) {
  const byId = new Map(existing.map(m => [m.id, m]))
  for (const m of incoming) byId.set(m.id, { ...byId.get(m.id), ...m, shownAt: byId.get(m.id)?.shownAt })
  return [...byId.values()].sort((a, b) => a.orderKey < b.orderKey ? -1 : a.orderKey > b.orderKey ? 1 : 0)
}

export async function loadMessages (room) {
  const r = await api(`${roomPath(room)}/messages?limit=${PAGE}`)
  setRooms(rs => ({ messages: { ...rs.messages, [room]: merge(rs.messages[room] ?? [], r.messages) } }))
}

export async function loadOlder (room) {
  const first = roomState().messages[room]?.[0]
  if (first === undefined) return 0
  const r = await api(`${roomPath(room)}/messages?limit=${PAGE}&before=${encodeURIComponent(first.orderKey)}`)
  setRooms(rs => ({ messages: { ...rs.messages, [room]: merge(rs.messages[room] ?? [], r.messages) } }))
  return r.messages.length
}

function updateOutbox (room, fn) {
  setRooms(rs => {
    const next = fn(rs.outbox[room] ?? [])
    const outbox = Object.fromEntries(Object.entries({ ...rs.outbox, [room]: next }).filter(([, box]) => box.length > 0))
    saveOutbox(outbox)
    return { outbox }
  })
}

/** Queues a message and tries to send it; it stays in the outbox until the node accepts it. */
export function send (room, { text, files }) {
  const item = { nonce: newNonce(), text, files }
  updateOutbox(room, box => [...box, item])
  void flush(room)
  return item.nonce
}

let flushing = false
/** Sends the outbox in order; stops at the first failure (the node may be down) and leaves the rest. */
export async function flush (only) {
  if (flushing) return
  flushing = true
  try {
    for (const [room, box] of Object.entries(roomState().outbox)) {
      if (only !== undefined && room !== only) continue
      for (const item of box) {
        const nick = roomState().nick
        try {
          const body = { nonce: item.nonce, ...(nick === '' ? {} : { nick }), ...(item.text === undefined ? {} : { text: item.text }), ...(item.files === undefined ? {} : { files: item.files }) }
          await api(`${roomPath(room)}/messages`, { method: 'POST', body })
          updateOutbox(room, b => b.filter(x => x.nonce !== item.nonce))
        } catch (err) {
          // 4xx other than 429: the node refuses this message for good; show why and drop it from the queue.
          if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429 && err.status !== 401) {
            updateOutbox(room, b => b.map(x => x.nonce === item.nonce ? { ...x, error: err.message } : x))
            continue
          }
          return
        }
      }
    }
  } finally {
    flushing = false
  }
}

export async function markSeen (room, upTo) {
  await api(`${roomPath(room)}/seen`, { method: 'POST', body: { upTo } }).catch(() => {})
}

let lastTyping = 0
export function typing (room) {
  // The node relays typing in the network room only.
  if (room !== roomState().networkRoom) return
  const now = Date.now()
  if (now - lastTyping < 3000) return
  lastTyping = now
  const nick = roomState().nick
  void api(`${roomPath(room)}/typing`, { method: 'POST', body: nick === '' ? {} : { nick } }).catch(() => {})
}

export async function openDm (nodeId) {
  const r = await api('/api/v1/dms', { method: 'POST', body: { nodeId } })
  await loadRooms()
  return r.room
}

/** Delivered to and seen by which other nodes, from the message's own view and later receipts. */
export function deliveryOf (rs, message) {
  const delivered = new Set(message.delivery.deliveredTo)
  const seen = new Set(message.delivery.seenBy)
  const at = message.id.lastIndexOf('@')
  const replica = message.id.slice(0, at)
  const seq = Number(message.id.slice(at + 1))
  for (const [node, r] of Object.entries(rs.receipts[message.room] ?? {})) {
    if (node === message.author) continue
    if ((r.delivered?.[replica] ?? -1) >= seq) delivered.add(node)
    if (r.seenUpTo !== undefined && r.seenUpTo >= message.orderKey) { seen.add(node); delivered.add(node) }
  }
  return { delivered: [...delivered], seen: [...seen] }
}

onEvents(['room.message'], m => {
  setRooms(rs => ({
    messages: { ...rs.messages, [m.room]: merge(rs.messages[m.room] ?? [], [m]) },
    list: rs.list.some(r => r.room === m.room) ? rs.list.map(r => r.room === m.room ? { ...r, messages: r.messages + 1, lastOrderKey: m.orderKey } : r) : rs.list
  }))
  if (!roomState().list.some(r => r.room === m.room)) void loadRooms()
})
onEvents(['room.receipt'], r => {
  setRooms(rs => ({ receipts: { ...rs.receipts, [r.room]: { ...(rs.receipts[r.room] ?? {}), [r.node]: r } } }))
})
onEvents(['room.typing'], t => {
  setRooms(rs => ({ typing: { ...rs.typing, [t.room]: { ...(rs.typing[t.room] ?? {}), [t.node]: { nick: t.nick, at: Date.now() } } } }))
})

// Back from a gap (the node restarted, or the page lost its stream): the rooms, the open
// room's history and then the outbox.
onRefresh(async () => {
  await loadRooms()
  const selected = store.get().selected
  if (selected?.kind === 'room') await loadMessages(selected.room)
  await flush()
})
