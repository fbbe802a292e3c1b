// A remote agent with an MCP App (the ext-apps extension): the tool `show-app` declares the
// UI resource `ui://dawn-test/app`, whose HTML is a minimal hand-written postMessage
// JSON-RPC client following the spec. It shows the tool input and result, then calls the
// server tool `add` through the host's bridge and sends a `ui/message` with the sum. It
// also writes down what it could reach of its host (its own origin, `window.top`), for
// the browser test to read. Served with the official v2 server SDK, like recorder-agent.ts.
import { createMcpHandler, Server, type Tool } from '@modelcontextprotocol/server'
import { serveMcpHandler } from './serve-mcp-handler.ts'

export const APP_TOOL = 'show-app'
export const ADD_TOOL = 'add'
/** The app calls it while the host waits for its answer to `ui/resource-teardown`. */
export const CLOSED_TOOL = 'app-closed'
export const APP_URI = 'ui://dawn-test/app'
export const APP_MIME = 'text/html;profile=mcp-app'

const TOOLS: Tool[] = [
  {
    name: APP_TOOL,
    description: 'shows a text in the test app',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    _meta: { ui: { resourceUri: APP_URI } }
  },
  {
    name: ADD_TOOL,
    description: 'adds two numbers',
    inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] }
  },
  { name: CLOSED_TOOL, description: 'notes that the test app was torn down', inputSchema: { type: 'object' } }
]

/** The app. Every line it shows is text (textContent), keyed by an id the test reads. */
export const APP_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dawn test app</title>
<style>body { font-family: sans-serif; margin: 8px; } p { margin: 4px 0; }</style></head>
<body>
<h1>Dawn test app</h1>
<p id="input">input: waiting</p>
<p id="result">result: waiting</p>
<p id="sum">sum: waiting</p>
<p id="meta">meta: waiting</p>
<p id="origin">origin: unknown</p>
<p id="top">top: unknown</p>
<p id="height">height: unknown</p>
<script>
(function () {
  'use strict'
  var next = 1
  var pending = new Map()
  var host = window.parent
  function show (id, text) { document.getElementById(id).textContent = text }
  function send (message) { host.postMessage(message, '*') }
  function notify (method, params) { send({ jsonrpc: '2.0', method: method, params: params }) }
  function request (method, params) {
    return new Promise(function (resolve, reject) {
      var id = next++
      pending.set(id, { resolve: resolve, reject: reject })
      send({ jsonrpc: '2.0', id: id, method: method, params: params })
    })
  }
  function texts (result) { return (result.content || []).map(function (c) { return c.text }).join(' ') }
  show('origin', 'origin: ' + self.origin)
  try { show('top', 'top: reachable (' + window.top.document.title + ')') } catch (e) { show('top', 'top: blocked (' + e.name + ')') }
  window.addEventListener('message', function (event) {
    if (event.source !== host) return
    var m = event.data
    if (m === null || typeof m !== 'object') return
    if (m.id !== undefined && m.method === undefined) {
      var p = pending.get(m.id)
      pending.delete(m.id)
      if (p) { if (m.error) p.reject(new Error(m.error.message)); else p.resolve(m.result) }
      return
    }
    if (m.method === 'ui/resource-teardown') {
      var answer = function () { send({ jsonrpc: '2.0', id: m.id, result: {} }) }
      request('tools/call', { name: '${CLOSED_TOOL}', arguments: {} }).then(answer, answer)
      return
    }
    if (m.method === 'ui/notifications/tool-input') show('input', 'input: ' + JSON.stringify(m.params.arguments))
    if (m.method === 'ui/notifications/tool-result') {
      show('result', 'result: ' + texts(m.params))
      show('meta', 'meta: ' + Object.keys(m.params._meta || {}).join(','))
      request('tools/call', { name: '${ADD_TOOL}', arguments: { a: 2, b: 3 } }).then(function (r) {
        show('sum', 'sum: ' + texts(r))
        return request('ui/message', { role: 'user', content: [{ type: 'text', text: 'The app says: ' + texts(r) }] })
      }).catch(function (err) { show('sum', 'sum: failed (' + err.message + ')') })
    }
  })
  request('ui/initialize', { appInfo: { name: 'dawn-test-app', version: '1.0.0' }, appCapabilities: {}, protocolVersion: '2026-01-26' }).then(function () {
    notify('ui/notifications/initialized', {})
    var height = Math.ceil(document.body.getBoundingClientRect().height) + 16
    show('height', 'height: ' + height)
    notify('ui/notifications/size-changed', { height: height })
  })
})()
</script>
</body></html>`

// A hand-written low-level server, as Dawn's own are (agents/define-server.ts).
// eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
function mcpServer (calls: string[]): Server {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
  const server = new Server({ name: 'apps-agent', version: '1.0.0' }, { capabilities: { tools: {}, resources: {} } })
  server.setRequestHandler('tools/list', () => ({ tools: TOOLS }))
  server.setRequestHandler('tools/call', (request) => {
    const args = request.params.arguments ?? {}
    calls.push(request.params.name)
    if (request.params.name === APP_TOOL) return { content: [{ type: 'text', text: `shown: ${String(args.text)}` }] }
    if (request.params.name === CLOSED_TOOL) return { content: [{ type: 'text', text: 'noted' }] }
    if (request.params.name === ADD_TOOL) return { content: [{ type: 'text', text: `sum ${Number(args.a) + Number(args.b)}` }] }
    return { content: [{ type: 'text', text: `no tool ${request.params.name}` }], isError: true }
  })
  server.setRequestHandler('resources/list', () => ({ resources: [{ uri: APP_URI, name: 'test app', mimeType: APP_MIME }] }))
  server.setRequestHandler('resources/read', (request) => {
    if (request.params.uri !== APP_URI) throw new Error(`no resource ${request.params.uri}`)
    // Declared domains with a hostile entry: the sandbox policy must drop it.
    return { contents: [{ uri: APP_URI, mimeType: APP_MIME, text: APP_HTML, _meta: { ui: { csp: { connectDomains: ["https://api.example.org; script-src 'unsafe-eval'"] } } } }] }
  })
  return server
}

export interface AppsAgent {
  url: string
  /** Names of the tools called, in order. */
  calls: string[]
  close: () => Promise<void>
}

/** Serves the agent on 127.0.0.1 at a free port, path /mcp. */
export async function startAppsAgent (): Promise<AppsAgent> {
  const calls: string[] = []
  const handler = createMcpHandler(() => mcpServer(calls))
  const served = await serveMcpHandler(handler)
  return {
    url: served.url,
    calls,
    close: async () => {
      await served.close()
      await handler.close()
    }
  }
}
