// The node's web UI: polls the read-only API. Text only goes in through textContent.
const $ = (id) => document.getElementById(id)

function el (tag, text, className) {
  const e = document.createElement(tag)
  if (text !== undefined) e.textContent = text
  if (className !== undefined) e.className = className
  return e
}

function row (cells) {
  const tr = document.createElement('tr')
  for (const c of cells) {
    const td = document.createElement('td')
    if (c instanceof Node) td.append(c)
    else td.textContent = c
    tr.append(td)
  }
  return tr
}

async function get (path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } })
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`)
  return await res.json()
}

function renderNode (node) {
  $('network').textContent = `network ${node.network}`
  const status = $('status')
  status.dataset.ready = String(node.ready)
  status.textContent = node.ready ? 'ready' : 'not ready'
  const dl = $('node')
  dl.replaceChildren()
  for (const [k, v] of [['Peer id', node.peerId], ['Version', node.version], ['Listening', node.addrs.join('\n')], ['Relay server', node.relayServer ? 'yes' : 'no'], ['Started', new Date(node.startedAt).toLocaleString()]]) {
    dl.append(el('dt', k), el('dd', v, k === 'Peer id' ? 'id' : undefined))
  }
}

function renderPeers (peers) {
  $('peer-count').textContent = `(${peers.filter(p => p.verified).length} verified)`
  $('peers').tBodies[0].replaceChildren(...peers.map(p => row([
    el('span', p.peerId, 'id'),
    el('span', p.verified ? 'verified' : 'unverified', p.verified ? 'ok' : 'bad'),
    p.connections.map(c => c.remoteAddr).join(', '),
    p.connections.map(c => c.direction + (c.limited ? ' (relayed)' : '')).join(', ')
  ])))
}

function renderRegistry (reg) {
  $('registry-count').textContent = `(${reg.size} agents)`
  $('digest').textContent = reg.digest
  $('registry').tBodies[0].replaceChildren(...reg.entries.map(e => row([
    el('span', `${e.nodeId}:${e.agentId}`, 'id'),
    e.name,
    e.kind,
    e.tools.map(t => t.name).join(', '),
    e.description
  ])))
}

async function refresh () {
  try {
    const [node, peers, reg] = await Promise.all([get('/api/v1/node'), get('/api/v1/peers'), get('/api/v1/registry')])
    renderNode(node)
    renderPeers(peers)
    renderRegistry(reg)
    $('error').hidden = true
  } catch (err) {
    $('error').hidden = false
    $('error').textContent = `Cannot reach the node: ${err.message}`
  }
}

await refresh()
setInterval(refresh, 2000)
