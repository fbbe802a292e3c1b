// The MCP Apps sandbox proxy, in an opaque origin (its CSP says `sandbox allow-scripts`).
// It waits for the host's `sandbox-resource-ready`, puts the app's HTML in a sandboxed
// srcdoc frame (which inherits this document's policy), then relays JSON-RPC both ways,
// only between its parent and that frame. A classic script: from an opaque origin a module
// would need CORS.
(function () {
  'use strict'
  const PROXY_READY = 'ui/notifications/sandbox-proxy-ready'
  const RESOURCE_READY = 'ui/notifications/sandbox-resource-ready'
  const host = window.parent
  let inner = null

  // Never allow-same-origin: the app gets an opaque origin of its own. The host's optional
  // `sandbox` override and permission requests are not honoured.
  function load (params) {
    if (inner !== null || params === null || typeof params !== 'object' || typeof params.html !== 'string') return
    inner = document.createElement('iframe')
    inner.setAttribute('sandbox', 'allow-scripts')
    inner.setAttribute('title', 'MCP App')
    inner.srcdoc = params.html
    document.body.appendChild(inner)
  }

  window.addEventListener('message', function (event) {
    const data = event.data
    if (event.source === host) {
      if (data !== null && typeof data === 'object' && data.method === RESOURCE_READY) load(data.params)
      else if (inner !== null && inner.contentWindow !== null) inner.contentWindow.postMessage(data, '*')
    } else if (inner !== null && event.source === inner.contentWindow) {
      host.postMessage(data, '*')
    }
  })

  // Opened on its own (no parent), there is no host to serve.
  if (host !== window) host.postMessage({ jsonrpc: '2.0', method: PROXY_READY, params: {} }, '*')
})()
