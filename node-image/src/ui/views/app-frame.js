// MCP Apps, host side: a call to a tool that declares a UI resource (`_meta.ui.resourceUri`)
// shows that app below its result. The app's HTML runs two frames down (the spec's double
// iframe): our frame loads the sandbox proxy (/ui/apps/sandbox.html, an opaque origin by its
// `sandbox` attribute and by its own CSP), which puts the HTML in a sandboxed srcdoc frame.
// The app never runs with this page's origin: no token, no DOM, no /api/v1. It talks to the
// page only through the ext-apps AppBridge, whose tool calls and reads go through the
// agent's own MCP session.
import { html, useEffect, useRef, useState } from '../lib/ui.js'
import { loadSdk } from '../net/mcp-sessions.js'
import { addEntry, session } from '../state/conversations.js'
import { currentTheme } from '../state/theme.js'
import { remember } from '../store/history-db.js'
import { ResultView } from './result-view.js'

const MIN_HEIGHT = 80
const MAX_HEIGHT = 640
const TEARDOWN_MS = 2_000
/** A `ui/message` larger than this is refused: the conversation holds it in memory and IndexedDB. */
const MAX_MESSAGE_BYTES = 64 * 1024
const MAX_MESSAGE_BLOCKS = 8

/** The tool's app, if the agent's listing says it has one (an invalid URI counts as none). */
async function appOf (agentId, toolName) {
  const [sdk, s] = await Promise.all([loadSdk(), session(agentId)])
  const tool = s.tools.find(t => t.name === toolName)
  let uri
  try { uri = tool === undefined ? undefined : sdk.getToolUiResourceUri(tool) } catch { uri = undefined }
  return uri === undefined ? undefined : { sdk, s, tool, uri }
}

/** The app's HTML and its declared CSP domains (on the content, else on the listed resource). */
async function readApp ({ sdk, s, uri }, signal) {
  const read = await s.readResource(uri, { signal })
  const content = (read.contents ?? []).find(c => c.uri === uri && c.mimeType === sdk.RESOURCE_MIME_TYPE && typeof c.text === 'string')
  if (content === undefined) throw new Error(`${uri} is not an MCP App (${sdk.RESOURCE_MIME_TYPE})`)
  const listed = s.resources.find(r => r.uri === uri)
  return { html: content.text, csp: content._meta?.ui?.csp ?? listed?._meta?.ui?.csp ?? {} }
}

function sandboxUrl (csp) {
  return `/ui/apps/sandbox.html?csp=${encodeURIComponent(JSON.stringify(csp))}`
}

/** The result as the agent sent it: Dawn's own `dawn/*` keys (route, nodes) stay with the page. */
function agentResult (result) {
  const meta = Object.fromEntries(Object.entries(result._meta ?? {}).filter(([k]) => !k.startsWith('dawn/')))
  const { _meta: _, ...rest } = result
  return Object.keys(meta).length === 0 ? rest : { ...rest, _meta: meta }
}

function clampHeight (h) {
  return Math.min(MAX_HEIGHT, Math.max(MIN_HEIGHT, Math.ceil(h)))
}

/** Only http(s), and only after the person says yes; never in this tab. */
function openLink (toolName, url) {
  let parsed
  try { parsed = new URL(url) } catch { return { isError: true } }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return { isError: true }
  if (!window.confirm(`The ${toolName} app wants to open ${parsed.href}. Open it in a new tab?`)) return { isError: true }
  window.open(parsed.href, '_blank', 'noopener,noreferrer')
  return {}
}

function appendMessage (agentId, toolName, params) {
  const content = Array.isArray(params.content) ? params.content : []
  if (content.length > MAX_MESSAGE_BLOCKS || JSON.stringify(content).length > MAX_MESSAGE_BYTES) {
    throw new Error(`a message holds at most ${MAX_MESSAGE_BLOCKS} blocks and ${MAX_MESSAGE_BYTES} bytes`)
  }
  // Kept as a result, so history search and media slimming treat it like any other reply.
  const message = { role: 'app-message', tool: toolName, result: { content } }
  const id = addEntry(agentId, message)
  void remember(agentId, { ...message, id, at: Date.now() })
  return {}
}

/** Builds the frame and the bridge; returns how to end them (the app is asked first). */
async function mountApp ({ app, agentId, entry, container, signal }) {
  const { html: appHtml, csp } = await readApp(app, signal)
  if (signal.aborted) return undefined
  const frame = document.createElement('iframe')
  // allow-scripts alone: the proxy (and the app inside it) get opaque origins.
  frame.setAttribute('sandbox', 'allow-scripts')
  frame.setAttribute('title', `App of ${entry.tool}`)
  frame.className = 'app-frame'
  frame.style.width = '100%'
  frame.style.border = '0'
  frame.style.height = `${MIN_HEIGHT * 3}px`
  container.appendChild(frame)
  const { AppBridge, PostMessageTransport } = app.sdk
  const bridge = new AppBridge(app.s.client, { name: 'dawn-chat', version: '1.0.0' }, {
    openLinks: {}, serverTools: {}, serverResources: {}, logging: {}, message: { text: {} }
  }, { hostContext: { theme: currentTheme(), displayMode: 'inline', availableDisplayModes: ['inline'], platform: 'web', toolInfo: { tool: app.tool } } })
  bridge.onsandboxready = () => { void bridge.sendSandboxResourceReady({ html: appHtml, csp }) }
  bridge.oninitialized = () => {
    void bridge.sendToolInput({ arguments: entry.args ?? {} }).then(() => bridge.sendToolResult(agentResult(entry.result)))
  }
  bridge.onmessage = async (params) => appendMessage(agentId, entry.tool, params)
  bridge.onopenlink = async ({ url }) => openLink(entry.tool, url)
  bridge.onsizechange = ({ height }) => {
    if (typeof height === 'number' && Number.isFinite(height)) {
      frame.style.height = `${clampHeight(height)}px`
    }
  }
  // Connected before the proxy loads, so its sandbox-proxy-ready is not missed.
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow))
  frame.src = sandboxUrl(csp)
  let ended = false
  return async () => {
    if (ended) return
    ended = true
    await bridge.teardownResource({}, { timeout: TEARDOWN_MS }).catch(() => {})
    await bridge.close().catch(() => {})
    frame.remove()
  }
}

/** Renders nothing unless the call's tool has an app. */
export function AppFrame ({ agentId, entry }) {
  const [state, setState] = useState({ status: 'checking' })
  const container = useRef()
  const end = useRef()
  useEffect(() => {
    const controller = new AbortController()
    const launch = app => {
      setState({ status: 'starting' })
      mountApp({ app, agentId, entry, container: container.current, signal: controller.signal }).then(stop => {
        if (stop === undefined) return
        end.current = stop
        if (controller.signal.aborted) void stop()
        else setState({ status: 'open' })
      }, err => { if (!controller.signal.aborted) setState({ status: 'error', message: String(err?.message ?? err) }) })
    }
    // No session (the agent is away) means no app to show, not an error on every call.
    appOf(agentId, entry.tool).catch(() => undefined).then(app => {
      if (controller.signal.aborted) return
      if (app === undefined) setState({ status: 'none' })
      // A call restored from history does not re-run its app (which may call tools) unless asked.
      else if (entry.restored === true) setState({ status: 'idle', start: () => launch(app) })
      else launch(app)
    })
    return () => {
      controller.abort()
      void end.current?.()
    }
  }, [agentId, entry.id])
  const close = async () => {
    await end.current?.()
    setState({ status: 'closed' })
  }
  return html`<div class="app-host">
    <div ref=${container}></div>
    ${state.status === 'idle' ? html`<button type="button" class="secondary" onClick=${state.start}>Open the ${entry.tool} app</button>` : null}
    ${state.status === 'open' ? html`<button type="button" class="secondary" onClick=${close}>Close the ${entry.tool} app</button>` : null}
    ${state.status === 'error' ? html`<p class="error-text">The ${entry.tool} app could not open: ${state.message}</p>` : null}
  </div>`
}

/** A message an app added to the conversation (`ui/message`), said on the person's behalf. */
export function AppMessageEntry ({ agentId, entry }) {
  return html`<li class="bubble mine app-message" data-entry=${entry.id}>
    <span class="meta">From the ${entry.tool} app</span>
    <${ResultView} agentId=${agentId} result=${{ content: entry.result?.content ?? [] }} />
  </li>`
}
