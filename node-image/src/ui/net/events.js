// The node's live event stream (GET /api/v1/events, text/event-stream), read with fetch so
// it can carry the token. Reconnects with backoff and Last-Event-ID; the node answers a
// gap it cannot fill with `reset`, after which the page reloads its snapshots.
import { authHeaders, reportAuthRequired } from './api.js'

const MAX_BACKOFF_MS = 10_000

/** Splits an SSE byte stream into events: {id, event, data}. */
export function createSseParser (onEvent) {
  let buffer = ''
  let id
  let event = 'message'
  let data = []
  return (chunk) => {
    buffer += chunk
    let nl
    while ((nl = buffer.search(/\r?\n/)) >= 0) {
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + (buffer[nl] === '\r' ? 2 : 1))
      if (line === '') {
        if (data.length > 0) onEvent({ id, event, data: data.join('\n') })
        event = 'message'
        data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'id') id = value
      else if (field === 'event') event = value
      else if (field === 'data') data.push(value)
    }
  }
}

/**
 * Follows the stream until `signal` aborts. `onEvent(type, data, id)` gets every event;
 * `onState('connecting'|'live'|'down')` the connection's state.
 */
export async function followEvents ({ onEvent, onState, signal }) {
  let lastId
  let failures = 0
  while (!signal.aborted) {
    onState(failures === 0 ? 'connecting' : 'down')
    try {
      const headers = { accept: 'text/event-stream', ...authHeaders() }
      if (lastId !== undefined) headers['last-event-id'] = lastId
      const res = await fetch('/api/v1/events', { headers, signal, cache: 'no-store' })
      if (res.status === 401) {
        reportAuthRequired()
        throw new Error('token required')
      }
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`)
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
      const parse = createSseParser(({ id, event, data }) => {
        if (id !== undefined) lastId = id
        let payload
        try { payload = JSON.parse(data) } catch { return }
        onEvent(event, payload, id)
      })
      failures = 0
      onState('live')
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        parse(value)
      }
    } catch {
      if (signal.aborted) return
    }
    failures++
    onState('down')
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(failures, 6)) * (0.5 + Math.random() / 2)
    await new Promise(resolve => {
      const t = setTimeout(resolve, delay)
      signal.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
    })
  }
}
