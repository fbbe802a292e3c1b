// Conversations with agents: each call, prompt and question the agent asks is an entry.
// Calls run through the page's own MCP session (net/mcp-sessions.js), so progress,
// cancellation, elicitation and sampling are the protocol's.
import { store } from './app-state.js'
import { sessionFor, dropSession } from '../net/mcp-sessions.js'
import { remember, history } from '../store/history-db.js'

let nextId = 1
const running = new Map() // entry id → AbortController
const waiting = new Map() // question id → resolve

function entries (agentId) {
  return store.get().conversations[agentId] ?? []
}

export function addEntry (agentId, entry) {
  const full = { id: `e${nextId++}`, at: Date.now(), ...entry }
  store.set(s => ({ conversations: { ...s.conversations, [agentId]: [...(s.conversations[agentId] ?? []), full] } }))
  return full.id
}

export function updateEntry (agentId, id, patch) {
  store.set(s => ({
    conversations: { ...s.conversations, [agentId]: (s.conversations[agentId] ?? []).map(e => e.id === id ? { ...e, ...patch } : e) }
  }))
}

function entry (agentId, id) {
  return entries(agentId).find(e => e.id === id)
}

/** How the server's questions reach the person: an entry the conversation renders as a form. */
function ask ({ kind, agentId, params }) {
  const id = addEntry(agentId, { role: 'question', kind, params, status: 'open' })
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject, agentId }))
}

export function answer (agentId, id, result, status) {
  const w = waiting.get(id)
  if (w === undefined) return
  waiting.delete(id)
  updateEntry(agentId, id, { status, answer: result })
  w.resolve(result)
}

/** The person would not answer: the agent gets an error rather than a made-up reply. */
export function refuse (agentId, id, message) {
  const w = waiting.get(id)
  if (w === undefined) return
  waiting.delete(id)
  updateEntry(agentId, id, { status: 'declined' })
  w.reject(new Error(message))
}

const restored = new Set()
/** Brings back what this browser kept of a conversation, once per agent per page load. */
export async function restoreHistory (agentId) {
  if (restored.has(agentId)) return
  restored.add(agentId)
  const kept = await history(agentId)
  if (kept.length === 0) return
  const old = kept.map(e => ({ ...e, id: `h${e.key}`, restored: true }))
  store.set(s => ({ conversations: { ...s.conversations, [agentId]: [...old, ...(s.conversations[agentId] ?? [])] } }))
}

export async function session (agentId) {
  return await sessionFor(agentId, ask)
}

function errorOf (err) {
  const code = err?.data?.['dawn/error'] ?? err?.code
  return { message: String(err?.message ?? err), code: code === undefined ? undefined : String(code) }
}

export async function callTool (agentId, tool, args) {
  const id = addEntry(agentId, { role: 'call', tool, args, status: 'running' })
  const controller = new AbortController()
  running.set(id, controller)
  try {
    const s = await session(agentId)
    const result = await s.callTool(tool, args, {
      signal: controller.signal,
      onprogress: p => updateEntry(agentId, id, { progress: { progress: p.progress, total: p.total, message: p.message } })
    })
    const meta = result._meta ?? {}
    if (typeof meta['dawn/route'] === 'string') {
      store.set(st => ({ routes: { ...st.routes, [agentId]: { route: meta['dawn/route'], hops: meta['dawn/hops'], replica: meta['dawn/replica'] } } }))
    }
    updateEntry(agentId, id, { status: result.isError === true ? 'error' : 'done', result, progress: undefined })
  } catch (err) {
    if (controller.signal.aborted) updateEntry(agentId, id, { status: 'cancelled', progress: undefined })
    else {
      if (/session not found/i.test(String(err?.message))) dropSession(agentId)
      updateEntry(agentId, id, { status: 'error', error: errorOf(err), progress: undefined })
    }
  } finally {
    running.delete(id)
    void remember(agentId, entry(agentId, id))
  }
}

export function cancel (id) {
  running.get(id)?.abort()
}

export function isRunning (id) {
  return running.has(id)
}

export async function getPrompt (agentId, name, args) {
  const id = addEntry(agentId, { role: 'prompt', prompt: name, args, status: 'running' })
  try {
    const s = await session(agentId)
    const result = await s.getPrompt(name, args)
    updateEntry(agentId, id, { status: 'done', result })
  } catch (err) {
    updateEntry(agentId, id, { status: 'error', error: errorOf(err) })
  }
  void remember(agentId, entry(agentId, id))
}

export async function readResource (agentId, uri) {
  const s = await session(agentId)
  return await s.readResource(uri)
}
