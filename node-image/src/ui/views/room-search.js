// Search in a room's history, which the node keeps: every word must occur in the text, the
// nick or a file name; filter by author node, files only and dates. A hit scrolls the room
// to its message (loading older pages until it is there).
import { html, useState, useEffect } from '../lib/ui.js'
import { useSelect } from '../state/store.js'
import { store } from '../state/app-state.js'
import { api } from '../net/api.js'
import { loadOlder, roomState } from '../state/rooms.js'
import { shortId as short } from '../lib/format.js'

const day = (value, end) => value === '' ? undefined : new Date(`${value}T${end ? '23:59:59.999' : '00:00:00'}`).getTime()

async function reveal (room, hit) {
  for (let i = 0; i < 50 && !(roomState().messages[room] ?? []).some(m => m.id === hit.id); i++) {
    if (await loadOlder(room) === 0) break
  }
  const el = document.querySelector(`[data-msg-id="${CSS.escape(hit.id)}"]`)
  if (el === null) return
  el.scrollIntoView({ block: 'center' })
  el.classList.add('found')
  el.setAttribute('tabindex', '-1')
  el.focus()
}

export function RoomSearch ({ room }) {
  const peers = useSelect(store, s => s.peers)
  const self = useSelect(store, s => s.rooms.self)
  const [q, setQ] = useState('')
  const [author, setAuthor] = useState('')
  const [filesOnly, setFilesOnly] = useState(false)
  const [since, setSince] = useState('')
  const [until, setUntil] = useState('')
  const [hits, setHits] = useState()
  useEffect(() => {
    if (q === '' && author === '' && !filesOnly && since === '' && until === '') { setHits(undefined); return }
    let live = true
    const params = new URLSearchParams()
    if (q !== '') params.set('q', q)
    if (author !== '') params.set('author', author)
    if (filesOnly) params.set('kind', 'file')
    if (day(since, false) !== undefined) params.set('since', String(day(since, false)))
    if (day(until, true) !== undefined) params.set('until', String(day(until, true)))
    params.set('limit', '50')
    const t = setTimeout(() => {
      api(`/api/v1/rooms/${encodeURIComponent(room)}/search?${params}`).then(r => { if (live) setHits(r.messages) }, () => { if (live) setHits([]) })
    }, 150)
    return () => { live = false; clearTimeout(t) }
  }, [room, q, author, filesOnly, since, until])
  const authors = [self, ...peers.filter(p => p.verified).map(p => p.peerId)].filter(Boolean)
  return html`<section class="room-search" aria-labelledby="room-search-title">
    <h2 id="room-search-title" class="panel-title">Search this room</h2>
    <form role="search" aria-label="Search this room" onSubmit=${e => e.preventDefault()}>
      <div class="field"><label for="rs-q">Words</label><input id="rs-q" type="search" value=${q} onInput=${e => setQ(e.currentTarget.value)} /></div>
      <div class="field"><label for="rs-author">From</label>
        <select id="rs-author" value=${author} onChange=${e => setAuthor(e.currentTarget.value)}>
          <option value="">Anyone</option>${authors.map(a => html`<option value=${a}>${a === self ? 'This node' : short(a)}</option>`)}
        </select></div>
      <div class="field checkbox"><input id="rs-files" type="checkbox" checked=${filesOnly} onChange=${e => setFilesOnly(e.currentTarget.checked)} /><label for="rs-files">Files only</label></div>
      <div class="field"><label for="rs-since">From date</label><input id="rs-since" type="date" value=${since} onInput=${e => setSince(e.currentTarget.value)} /></div>
      <div class="field"><label for="rs-until">To date</label><input id="rs-until" type="date" value=${until} onInput=${e => setUntil(e.currentTarget.value)} /></div>
    </form>
    ${hits === undefined ? null : html`<p class="muted" role="status">${hits.length} match${hits.length === 1 ? '' : 'es'}</p>
      <ol class="hits" aria-label="Matches in this room">${hits.map(h => html`<li key=${h.id}>
        <button type="button" class="item-button" onClick=${() => void reveal(room, h)}>
          <span class="item-name">${h.author === self ? 'You' : (h.nick || short(h.author))}</span>
          <span class="muted small"> ${new Date(h.sentAt).toLocaleString()}</span>
          <span class="hit-text">${h.text || h.files.map(f => f.name).join(', ')}</span>
        </button></li>`)}</ol>`}
  </section>`
}
