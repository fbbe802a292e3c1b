// Every agent in the mesh, once per agent id however many nodes host it, with presence
// as this node sees it, and a search field. ArrowDown from the search field moves into
// the list; arrows move through it.
import { html, useState } from '../lib/ui.js'
import { useSelect } from '../state/store.js'
import { store, agentPresence } from '../state/app-state.js'

const LABEL = { online: 'online', degraded: 'degraded', unreachable: 'unreachable' }

function matches (agent, q) {
  if (q === '') return true
  const hay = `${agent.agentId} ${agent.name} ${agent.description} ${agent.tools.map(t => t.name).join(' ')}`.toLowerCase()
  return q.toLowerCase().split(/\s+/).every(w => hay.includes(w))
}

function moveFocus (e) {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return
  const buttons = [...document.querySelectorAll('.agent-list .agent-button')]
  if (buttons.length === 0) return
  e.preventDefault()
  const i = buttons.indexOf(document.activeElement)
  const next = i < 0 ? (e.key === 'ArrowDown' ? 0 : buttons.length - 1) : Math.max(0, Math.min(buttons.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)))
  buttons[next].focus()
}

export function AgentList ({ onPick }) {
  // Only what the list shows: a room message must not redraw 200 agents.
  const agents = useSelect(store, s => s.agents)
  const presence = useSelect(store, s => s.presence)
  const peers = useSelect(store, s => s.peers)
  const node = useSelect(store, s => s.node)
  const selectedNow = useSelect(store, s => s.selected)
  const state = { agents, presence, peers, node, selected: selectedNow }
  const [q, setQ] = useState('')
  const shown = state.agents.filter(a => matches(a, q))
  const selected = state.selected?.kind === 'agent' ? state.selected.agentId : undefined
  return html`<nav class="agents" aria-label="Agents">
    <h2 class="panel-title">Agents <span class="count">${state.agents.length}</span></h2>
    <label for="agent-search" class="sr-only">Search agents</label>
    <input id="agent-search" type="search" placeholder="Search agents" value=${q} onInput=${e => setQ(e.currentTarget.value)} onKeyDown=${moveFocus} autocomplete="off" />
    <ul class="agent-list" onKeyDown=${moveFocus}>
      ${shown.map(a => {
        const presence = agentPresence(state, a)
        return html`<li key=${a.agentId}>
          <button type="button" class="agent-button" aria-current=${a.agentId === selected ? 'true' : undefined} onClick=${() => onPick(a.agentId)}>
            <span class=${`presence ${presence}`} aria-hidden="true"></span>
            <span class="agent-name">${a.name || a.agentId}</span>
            <span class="sr-only">, ${LABEL[presence]}</span>
            <span class="agent-meta muted">${a.agentId} · ${a.tools.length} tool${a.tools.length === 1 ? '' : 's'}${a.replicas.length > 1 ? ` · ${a.replicas.length} nodes` : ''}</span>
          </button>
        </li>`
      })}
      ${shown.length === 0 ? html`<li class="muted">${state.agents.length === 0 ? 'No agents yet.' : 'No agent matches.'}</li>` : null}
    </ul>
  </nav>`
}
