// Asks for the node's API token when a request was refused for want of it.
import { html, useState, useEffect, useRef } from '../lib/ui.js'
import { saveToken } from '../state/token.js'

export function TokenDialog ({ onDone }) {
  const [token, setToken] = useState('')
  const [remember, setRemember] = useState(false)
  const ref = useRef()
  useEffect(() => { ref.current?.showModal?.() }, [])
  const submit = e => {
    e.preventDefault()
    if (token.trim() === '') return
    saveToken(token.trim(), remember)
    ref.current?.close?.()
    onDone()
  }
  return html`<dialog ref=${ref} class="token-dialog" aria-labelledby="token-title">
    <form onSubmit=${submit}>
      <h2 id="token-title">This node needs its API token</h2>
      <p class="help">The token is in the file the node's <code>mcp.tokenFile</code> names. It stays in this tab unless you ask to be remembered.</p>
      <label for="token-input">API token</label>
      <input id="token-input" type="password" autocomplete="off" value=${token} onInput=${e => setToken(e.currentTarget.value)} />
      <div class="field checkbox"><input id="token-remember" type="checkbox" checked=${remember} onChange=${e => setRemember(e.currentTarget.checked)} /><label for="token-remember">Remember on this browser</label></div>
      <div class="form-actions"><button type="submit">Use token</button></div>
    </form>
  </dialog>`
}
