// The header: network, verified peers, readiness, the event stream, how calls to the
// selected agent travel (direct, relayed or flood; sealed end to end or not), and the theme.
import { html } from '../lib/ui.js'
import { useSelect } from '../state/store.js'
import { store, replicaPresence } from '../state/app-state.js'
import { toggleTheme, currentTheme } from '../state/theme.js'

/** What the page can say about the path to an agent before and after a call. */
export function routeOf (state, agent) {
  if (agent === undefined) return undefined
  const last = state.routes[agent.agentId]
  const policy = state.hello?.encryption
  let route = last?.route
  if (route === undefined) {
    if (agent.replicas.includes(state.node?.peerId)) route = 'local'
    else {
      const p = agent.replicas.map(n => replicaPresence(state, n, agent.agentId))
      route = p.includes('online') ? 'direct' : p.includes('degraded') ? 'relayed' : 'flood'
    }
  }
  const sealed = route === 'local' ? undefined : policy === undefined ? undefined : policy !== 'off'
  return { route, hops: last?.hops, sealed, measured: last !== undefined }
}

function RouteBadge ({ state, agent }) {
  const r = routeOf(state, agent)
  if (r === undefined) return null
  const how = r.route === 'local' ? 'on this node' : r.route === 'flood' ? `flood${r.hops ? `, ${r.hops} hops` : ''}` : r.route
  const seal = r.sealed === true ? 'end-to-end sealed' : r.sealed === false ? 'not sealed' : r.route === 'local' ? 'never leaves this node' : 'sealing unknown'
  return html`<p class="badge route" data-route=${r.route} data-sealed=${String(r.sealed)} title=${r.measured ? 'as the last call travelled' : 'expected'}>
    <span class="sr-only">Route to ${agent.agentId}: </span>${how} · ${seal}</p>`
}

export function Header () {
  const node0 = useSelect(store, s => s.node)
  const peers = useSelect(store, s => s.peers)
  const presence = useSelect(store, s => s.presence)
  const agents = useSelect(store, s => s.agents)
  const selected = useSelect(store, s => s.selected)
  const routes = useSelect(store, s => s.routes)
  const hello = useSelect(store, s => s.hello)
  const connNow = useSelect(store, s => s.conn)
  const state = { node: node0, peers, presence, agents, selected, routes, hello, conn: connNow }
  const theme = useSelect(store, s => s.theme) ?? currentTheme()
  const node = state.node
  const verified = state.peers.filter(p => p.verified)
  const agent = state.selected?.kind === 'agent' ? state.agents.find(a => a.agentId === state.selected.agentId) : undefined
  const ready = node === undefined ? 'unknown' : node.ready ? 'ready' : 'not ready'
  const conn = state.conn === 'live' ? 'live' : state.conn === 'connecting' ? 'connecting' : 'your node is unreachable'
  return html`<header class="top">
    <h1 class="brand">Dawn <span class="muted">${node?.network ?? ''}</span></h1>
    <p class="badge" data-state=${ready === 'ready' ? 'ok' : 'warn'} id="status">${ready}</p>
    <details class="peers-menu">
      <summary><span id="peer-count">${verified.length}</span> verified peer${verified.length === 1 ? '' : 's'}</summary>
      <div class="peers-pop">
        <p class="small">This node <code class="node-id">${node?.peerId ?? ''}</code></p>
        <table class="data"><caption>Peers</caption><thead><tr><th scope="col">Peer</th><th scope="col">Membership</th><th scope="col">Path</th></tr></thead>
          <tbody>${state.peers.map(p => html`<tr><td><code>${p.peerId}</code></td><td>${p.verified ? 'verified' : 'unverified'}</td><td>${p.connections.some(c => !c.limited) ? 'direct' : p.connections.length > 0 ? 'relayed' : 'none'}</td></tr>`)}</tbody></table>
      </div>
    </details>
    <${RouteBadge} state=${state} agent=${agent} />
    <p class="badge" data-state=${state.conn === 'live' ? 'ok' : 'warn'} role="status">${conn}</p>
    <button type="button" class="secondary theme-toggle" aria-pressed=${theme === 'dark'} onClick=${() => store.set({ theme: toggleTheme() })}>Dark theme</button>
  </header>`
}
