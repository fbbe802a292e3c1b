// Search over the conversations this browser kept (IndexedDB): every word must match,
// the last one as a prefix; filter by agent, tool and errors only. A hit opens its agent.
import { html, useState, useEffect } from '../lib/ui.js'
import { useSelect } from '../state/store.js'
import { store } from '../state/app-state.js'
import { search, textOf, clearHistory } from '../store/history-db.js'

const when = at => new Date(at).toLocaleString()

export function HistorySearch () {
  const agents = useSelect(store, s => s.agents)
  const [q, setQ] = useState('')
  const [agentId, setAgentId] = useState('')
  const [tool, setTool] = useState('')
  const [errorsOnly, setErrorsOnly] = useState(false)
  const [hits, setHits] = useState([])
  useEffect(() => {
    let live = true
    const filters = { ...(agentId === '' ? {} : { agentId }), ...(tool === '' ? {} : { tool }), errorsOnly }
    void search(q, filters).then(r => { if (live) setHits(r) })
    return () => { live = false }
  }, [q, agentId, tool, errorsOnly])
  const clear = async () => {
    await clearHistory()
    setHits([])
  }
  return html`<section class="history" aria-labelledby="history-title">
    <h2 id="history-title" class="conv-title">Search history</h2>
    <form class="history-filters" role="search" aria-label="Search this browser's history" onSubmit=${e => e.preventDefault()}>
      <div class="field"><label for="history-q">Words</label><input id="history-q" type="search" value=${q} onInput=${e => setQ(e.currentTarget.value)} /></div>
      <div class="field"><label for="history-agent">Agent</label>
        <select id="history-agent" value=${agentId} onChange=${e => setAgentId(e.currentTarget.value)}>
          <option value="">Any agent</option>${agents.map(a => html`<option value=${a.agentId}>${a.agentId}</option>`)}
        </select></div>
      <div class="field"><label for="history-tool">Tool</label><input id="history-tool" value=${tool} onInput=${e => setTool(e.currentTarget.value.trim())} /></div>
      <div class="field checkbox"><input id="history-errors" type="checkbox" checked=${errorsOnly} onChange=${e => setErrorsOnly(e.currentTarget.checked)} /><label for="history-errors">Errors only</label></div>
    </form>
    <p class="muted" role="status">${hits.length} result${hits.length === 1 ? '' : 's'}</p>
    <ol class="hits" aria-label="Search results">
      ${hits.map(h => html`<li key=${h.key}>
        <button type="button" class="item-button" onClick=${() => store.set({ selected: { kind: 'agent', agentId: h.agentId } })}>
          <span class="item-name">${h.agentId} · ${h.tool ?? h.prompt ?? ''}</span>
          <span class="muted small"> ${when(h.at)}${h.status === 'error' ? ' · error' : ''}</span>
          <span class="hit-text">${textOf(h).slice(0, 200)}</span>
        </button></li>`)}
    </ol>
    <button type="button" class="secondary" onClick=${clear}>Clear this browser's history</button>
  </section>`
}
