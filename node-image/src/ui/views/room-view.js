// A room between people: the network's room or a direct message. Messages in the room's
// order, signed by their node; late arrivals from a healed partition are marked and never
// move the scroll; the page's own messages show sent, delivered and seen.
import { html, useEffect, useRef, useState, useLayoutEffect, useMemo } from '../lib/ui.js'
import { useSelect } from '../state/store.js'
import { store } from '../state/app-state.js'
import { loadMessages, loadOlder, send, typing, markSeen, deliveryOf, setNick } from '../state/rooms.js'
import { shortId as short, clock } from '../lib/format.js'
import { FileChips, FilePicker, uploadFiles } from './file-chips.js'


export function roomTitle (rs, room) {
  if (room === rs.networkRoom) return 'Everyone'
  const summary = rs.list.find(r => r.room === room)
  return summary?.peer === undefined ? room : `Direct: ${short(summary.peer)}`
}

function Delivery ({ rs, message }) {
  const { delivered, seen } = deliveryOf(rs, message)
  const text = seen.length > 0 ? `seen by ${seen.length}` : delivered.length > 0 ? `delivered to ${delivered.length}` : 'sent'
  return html`<span class="delivery" data-delivered=${delivered.length} data-seen=${seen.length} title=${[...seen].map(short).join(', ')}>${text}</span>`
}

function Message ({ rs, m }) {
  const mine = m.author === rs.self
  const ref = useRef()
  // When this message first showed on this page: the room test measures send → shown with it.
  useLayoutEffect(() => {
    const el = ref.current
    if (el !== undefined && el.dataset.shownAt === undefined) {
      el.dataset.shownAt = String(performance.timeOrigin + performance.now())
      performance.mark(`dawn:shown:${m.id}`)
    }
  }, [])
  return html`<li ref=${ref} class=${`bubble ${mine ? 'mine' : 'theirs'}${m.late ? ' late' : ''}`} data-msg-id=${m.id} data-order=${m.orderKey}>
    <span class="author">${mine ? 'You' : (m.nick || short(m.author))}${m.sealed ? html` <span class="muted small">· sealed</span>` : null}</span>
    ${m.readable ? null : html`<p class="muted">This message could not be opened on this node.</p>`}
    ${m.text ? html`<p class="room-text">${m.text}</p>` : null}
    ${m.files.length > 0 ? html`<${FileChips} files=${m.files} />` : null}
    <span class="meta"><time datetime=${new Date(m.sentAt).toISOString()}>${clock(m.sentAt)}</time>${m.late ? ' · arrived late' : ''}${mine ? html` · <${Delivery} rs=${rs} message=${m} />` : null}</span>
  </li>`
}

function Typing ({ rs, room }) {
  const now = Date.now()
  const who = Object.entries(rs.typing[room] ?? {}).filter(([node, t]) => node !== rs.self && now - t.at < 5000).map(([node, t]) => t.nick || short(node))
  return html`<p class="typing" role="status" aria-live="polite">${who.length === 0 ? '' : `${who.join(', ')} ${who.length === 1 ? 'is' : 'are'} typing…`}</p>`
}

export function RoomView ({ room }) {
  const rs = useSelect(store, s => s.rooms)
  const conn = useSelect(store, s => s.conn)
  const messages = rs.messages[room] ?? []
  const pending = rs.outbox[room] ?? []
  const [text, setText] = useState('')
  const [error, setError] = useState()
  const [busy, setBusy] = useState()
  const listRef = useRef()
  const stick = useRef(true)
  const anchor = useRef()

  useEffect(() => { void loadMessages(room).catch(err => setError(err.message)) }, [room])
  // Keep the reader's place: a message inserted above (a late arrival) must not move what they read.
  useLayoutEffect(() => {
    const el = listRef.current
    if (el === undefined) return
    if (stick.current) el.scrollTop = el.scrollHeight
    else if (anchor.current !== undefined) {
      const a = el.querySelector(`[data-msg-id="${CSS.escape(anchor.current.id)}"]`)
      if (a !== null) el.scrollTop += a.offsetTop - anchor.current.top
    }
  }, [messages, pending])
  // Seen: the newest message, once the tab is visible and focused.
  const newest = messages.at(-1)
  useEffect(() => {
    if (newest === undefined || newest.author === rs.self) return
    const t = setTimeout(() => { if (document.visibilityState === 'visible' && document.hasFocus()) void markSeen(room, newest.orderKey) }, 500)
    return () => clearTimeout(t)
  }, [newest?.orderKey])

  const onScroll = e => {
    const el = e.currentTarget
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40
    const first = [...el.querySelectorAll('[data-msg-id]')].find(x => x.offsetTop >= el.scrollTop)
    anchor.current = first === undefined ? undefined : { id: first.dataset.msgId, top: first.offsetTop }
    if (el.scrollTop === 0 && messages.length > 0) void loadOlder(room)
  }
  const submit = e => {
    e.preventDefault()
    if (text.trim() === '') return
    setError(undefined)
    send(room, { text })
    setText('')
    stick.current = true
  }
  const onFiles = async files => {
    setError(undefined)
    try {
      const uploaded = await uploadFiles(files, p => setBusy(p))
      send(room, { files: uploaded })
    } catch (err) {
      setError(err.message)
    } finally {
      setBusy(undefined)
    }
  }
  // The same vnodes while only the composer changes: Preact then skips the whole list, so
  // typing does not re-render a thousand messages.
  const items = useMemo(() => messages.map(m => html`<${Message} key=${m.id} rs=${rs} m=${m} />`), [messages, rs.receipts, rs.self])
  const title = rs.networkRoom === undefined ? room : (room === rs.networkRoom ? 'Everyone' : roomTitle(rs, room))
  return html`<section class="conversation room" aria-labelledby="room-title"
      onDragOver=${e => e.preventDefault()} onDrop=${e => { e.preventDefault(); if (e.dataTransfer.files.length > 0) void onFiles([...e.dataTransfer.files]) }}>
    <h2 id="room-title" class="conv-title">${title}</h2>
    <p class="muted conv-desc">${room === rs.networkRoom ? 'Everyone on the network. Each message is signed by its node; every node keeps the history.' : 'Only your two nodes hold this conversation, end-to-end encrypted.'}</p>
    ${conn === 'live' ? null : html`<p class="warn-text" role="alert">Your node is unreachable. Messages wait here and go out when it is back.</p>`}
    <ol class="messages" ref=${listRef} onScroll=${onScroll} tabindex="0" aria-label=${`Messages in ${title}`}>
      ${items}
      ${pending.map(p => html`<li key=${p.nonce} class="bubble mine pending" data-nonce=${p.nonce}>
        ${p.text ? html`<p class="room-text">${p.text}</p>` : null}${p.files ? html`<${FileChips} files=${p.files} />` : null}
        <span class="meta">${p.error ? html`<span class="error-text">not sent: ${p.error}</span>` : 'waiting to send…'}</span></li>`)}
    </ol>
    <${Typing} rs=${rs} room=${room} />
    <form class="composer room-composer" onSubmit=${submit} aria-label="Message the room">
      <label for="nick-input" class="sr-only">Your name in rooms</label>
      <input id="nick-input" class="nick" placeholder="Your name" maxLength="64" value=${rs.nick} onChange=${e => setNick(e.currentTarget.value.trim())} />
      <label for="room-input" class="sr-only">Message to ${title}</label>
      <textarea id="room-input" rows="1" placeholder=${`Message ${title}`} value=${text}
        onInput=${e => { setText(e.currentTarget.value); typing(room) }}
        onKeyDown=${e => { if (e.key === 'Enter' && !e.shiftKey) submit(e) }}></textarea>
      <${FilePicker} onFiles=${onFiles} busy=${busy} />
      <button type="submit">Send</button>
      ${error ? html`<p class="field-error" role="alert">${error}</p>` : null}
    </form>
  </section>`
}
