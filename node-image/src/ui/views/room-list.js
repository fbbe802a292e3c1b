// The rooms in the left column: everyone on the network, and direct messages with nodes.
import { html, useState } from '../lib/ui.js'
import { useSelect } from '../state/store.js'
import { store } from '../state/app-state.js'
import { openDm } from '../state/rooms.js'
import { roomTitle } from './room-view.js'

export function RoomList ({ onPick }) {
  const rs = useSelect(store, s => s.rooms)
  const peers = useSelect(store, s => s.peers)
  const selected = useSelect(store, s => s.selected)
  const [error, setError] = useState()
  if (rs.networkRoom === undefined) return null
  const rooms = [rs.list.find(r => r.room === rs.networkRoom) ?? { room: rs.networkRoom, unread: 0 }, ...rs.list.filter(r => r.kind === 'dm')]
  const dmWith = async e => {
    const nodeId = e.currentTarget.value
    if (nodeId === '') return
    e.currentTarget.value = ''
    try { onPick(await openDm(nodeId)) } catch (err) { setError(err.message) }
  }
  return html`<nav class="rooms-nav" aria-label="Rooms">
    <h2 class="panel-title">People</h2>
    <ul class="agent-list">
      ${rooms.map(r => html`<li key=${r.room}>
        <button type="button" class="agent-button" aria-current=${selected?.kind === 'room' && selected.room === r.room ? 'true' : undefined} onClick=${() => onPick(r.room)}>
          <span class="agent-name">${roomTitle(rs, r.room)}</span>
          ${r.unread > 0 ? html`<span class="unread">${r.unread}<span class="sr-only"> unread</span></span>` : html`<span></span>`}
        </button></li>`)}
    </ul>
    <label for="dm-peer" class="small">Message a node directly</label>
    <select id="dm-peer" onChange=${dmWith}>
      <option value="">Choose a node…</option>
      ${peers.filter(p => p.verified).map(p => html`<option value=${p.peerId}>${p.peerId}</option>`)}
    </select>
    ${error ? html`<p class="field-error" role="alert">${error}</p>` : null}
  </nav>`
}
