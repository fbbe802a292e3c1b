// The composer: `/<tool> {json}` calls a tool of the selected agent. Enter sends,
// Shift+Enter starts a new line.
import { html, useState } from '../lib/ui.js'
import { callTool } from '../state/conversations.js'

/** `/echo {"message":"hi"}` → {tool, args}; an error message for anything else. */
export function parseCommand (text) {
  const m = /^\/([^\s{]+)\s*([\s\S]*)$/.exec(text.trim())
  if (m === null) return { error: 'Start with /<tool>, for example /echo {"message": "hello"}' }
  const rest = m[2].trim()
  if (rest === '') return { tool: m[1], args: {} }
  let args
  try { args = JSON.parse(rest) } catch (err) { return { error: `The arguments are not JSON: ${err.message}` } }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return { error: 'The arguments must be a JSON object' }
  return { tool: m[1], args }
}

export function Composer ({ agent }) {
  const [text, setText] = useState('')
  const [error, setError] = useState()
  const send = e => {
    e?.preventDefault()
    const cmd = parseCommand(text)
    if (cmd.error !== undefined) return setError(cmd.error)
    if (!agent.tools.some(t => t.name === cmd.tool)) return setError(`${agent.agentId} has no tool ${cmd.tool}`)
    setError(undefined)
    setText('')
    void callTool(agent.agentId, cmd.tool, cmd.args)
  }
  const onKey = e => {
    if (e.key === 'Enter' && !e.shiftKey) send(e)
  }
  return html`<form class="composer" onSubmit=${send} aria-label="Composer">
    <label for="composer-input" class="sr-only">Message to ${agent.agentId}</label>
    <textarea id="composer-input" rows="1" placeholder=${`/tool {"arg": "value"} to ${agent.agentId}`} value=${text}
      aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? 'composer-error' : undefined}
      onInput=${e => setText(e.currentTarget.value)} onKeyDown=${onKey}></textarea>
    <button type="submit">Send</button>
    ${error ? html`<p id="composer-error" class="field-error" role="alert">${error}</p>` : null}
  </form>`
}
