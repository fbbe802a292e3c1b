// The chat page: boots the theme, the snapshots and the event stream, and lays out the
// header, the agent list, the conversation and the selected agent's tools.
import { html, render, useState, useEffect } from './lib/ui.js'
import { useSelect } from './state/store.js'
import { store, refresh, startLive } from './state/app-state.js'
import { onAuthRequired } from './net/api.js'
import { applyTheme } from './state/theme.js'
import { Header } from './views/header.js'
import { AgentList } from './views/agent-list.js'
import { Conversation } from './views/conversation.js'
import { Composer } from './views/composer.js'
import { SidePanel } from './views/side-panel.js'
import { TokenDialog } from './views/token-dialog.js'
import { HistorySearch } from './views/history-search.js'
import { RoomList } from './views/room-list.js'
import { RoomView } from './views/room-view.js'
import { RoomSearch } from './views/room-search.js'

const VIEWS = [['agents', 'Agents'], ['chat', 'Chat'], ['side', 'Tools']]

function MobileNav ({ view, setView }) {
  return html`<nav class="mobile-nav" aria-label="Panels">
    ${VIEWS.map(([id, label]) => html`<button type="button" aria-pressed=${view === id} onClick=${() => setView(id)}>${label}</button>`)}
  </nav>`
}

function App () {
  const selected = useSelect(store, s => s.selected)
  const agents = useSelect(store, s => s.agents)
  const tokenNeeded = useSelect(store, s => s.tokenNeeded)
  const error = useSelect(store, s => s.error)
  const [view, setView] = useState('agents')
  useEffect(() => onAuthRequired(() => store.set({ tokenNeeded: true })), [])
  const agent = selected?.kind === 'agent' ? agents.find(a => a.agentId === selected.agentId) : undefined
  const pick = agentId => {
    store.set({ selected: { kind: 'agent', agentId } })
    setView('chat')
  }
  return html`
    <a class="skip-link" href="#main">Skip to conversation</a>
    <${Header} />
    <${MobileNav} view=${view} setView=${setView} />
    <div class="layout" data-view=${view}>
      <div class="col-left">
        <${AgentList} onPick=${pick} />
        <${RoomList} onPick=${room => { store.set({ selected: { kind: 'room', room } }); setView('chat') }} />
        <button type="button" class="secondary wide" aria-pressed=${selected?.kind === 'search'} onClick=${() => { store.set({ selected: { kind: 'search' } }); setView('chat') }}>Search history</button>
      </div>
      <main id="main" class="col-main" tabindex="-1">
        ${error ? html`<p class="error-text" role="alert">${error}</p>` : null}
        ${selected?.kind === 'search' ? html`<${HistorySearch} />` : selected?.kind === 'room' ? html`<${RoomView} key=${selected.room} room=${selected.room} />` : agent === undefined
          ? html`<section class="welcome"><h2>Welcome</h2><p>Pick an agent on the left to see its tools and talk to it. Every agent in the mesh is here, wherever it runs.</p></section>`
          : html`<${Conversation} key=${agent.agentId} agent=${agent} /><${Composer} key=${`c-${agent.agentId}`} agent=${agent} />`}
      </main>
      <aside class="col-right" aria-label="Agent details">
        ${selected?.kind === 'room'
          ? html`<${RoomSearch} key=${selected.room} room=${selected.room} /><p class="muted small">Drop files on the conversation, or attach them, to share them through your node.</p>`
          : agent === undefined ? html`<p class="muted">No agent selected.</p>` : html`<${SidePanel} key=${agent.agentId} agent=${agent} />`}
      </aside>
    </div>
    ${tokenNeeded ? html`<${TokenDialog} onDone=${() => { store.set({ tokenNeeded: false }); void refresh() }} />` : null}`
}

store.set({ theme: applyTheme() })
const root = document.getElementById('app')
root.textContent = ''
render(html`<${App} />`, root)
void refresh()
startLive(new AbortController().signal)
