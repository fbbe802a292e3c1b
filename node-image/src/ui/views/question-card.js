// What an agent asks the person during a call: an elicitation form (or a URL to visit,
// shown as text) or a sampling request the person answers in the model's place.
import { html, useState } from '../lib/ui.js'
import { SchemaForm } from './schema-form.js'
import { answer, refuse } from '../state/conversations.js'
import { Markdown } from './result-view.js'

function Elicitation ({ agentId, entry }) {
  const p = entry.params
  if (p.mode === 'url') {
    return html`<div class="question" role="group" aria-label="The agent asks you to visit a page">
      <p>${p.message}</p>
      <p><code>${p.url}</code></p>
      <div class="form-actions">
        <button type="button" onClick=${() => { window.open(p.url, '_blank', 'noopener,noreferrer'); answer(agentId, entry.id, { action: 'accept' }, 'answered') }}>Open page</button>
        <button type="button" class="secondary" onClick=${() => answer(agentId, entry.id, { action: 'decline' }, 'declined')}>Decline</button>
      </div></div>`
  }
  return html`<div class="question" role="group" aria-label="The agent asks you">
    <p class="question-title">${p.message}</p>
    <${SchemaForm} label="Answer the agent" schema=${p.requestedSchema} submitLabel="Send answer"
      onSubmit=${content => answer(agentId, entry.id, { action: 'accept', content }, 'answered')}
      extraButtons=${html`
        <button type="button" class="secondary" onClick=${() => answer(agentId, entry.id, { action: 'decline' }, 'declined')}>Decline</button>
        <button type="button" class="secondary" onClick=${() => answer(agentId, entry.id, { action: 'cancel' }, 'declined')}>Cancel</button>`} />
  </div>`
}

function messageText (m) {
  const blocks = Array.isArray(m.content) ? m.content : [m.content]
  return blocks.map(b => b?.type === 'text' ? b.text : `[${b?.type ?? 'content'}]`).join('\n')
}

function Sampling ({ agentId, entry }) {
  const p = entry.params
  const [text, setText] = useState('')
  const id = `sample-${entry.id}`
  const send = e => {
    e.preventDefault()
    if (text.trim() === '') return
    answer(agentId, entry.id, { role: 'assistant', content: { type: 'text', text }, model: 'human', stopReason: 'endTurn' }, 'answered')
  }
  const decline = () => refuse(agentId, entry.id, 'the person declined to answer in the model\'s place')
  return html`<div class="question" role="group" aria-label="The agent asks you to answer as its model">
    <p class="question-title">The agent asks for a model reply. You answer in its place.</p>
    ${p.systemPrompt ? html`<p class="muted">System: ${p.systemPrompt}</p>` : null}
    <ol class="sample-messages">${(p.messages ?? []).map(m => html`<li><strong>${m.role}:</strong> <${Markdown} text=${messageText(m)} /></li>`)}</ol>
    <form onSubmit=${send} aria-label="Your reply to the agent">
      <label for=${id}>Your reply</label>
      <textarea id=${id} rows="3" value=${text} onInput=${e => setText(e.currentTarget.value)}></textarea>
      <div class="form-actions"><button type="submit">Send reply</button><button type="button" class="secondary" onClick=${decline}>Decline</button></div>
    </form></div>`
}

export function QuestionCard ({ agentId, entry }) {
  if (entry.status !== 'open') {
    const what = entry.kind === 'sampling' ? 'model reply' : 'answer'
    return html`<p class="muted">${entry.status === 'answered' ? `You sent an ${what}.` : `You declined (${entry.kind}).`}</p>`
  }
  return entry.kind === 'sampling' ? html`<${Sampling} agentId=${agentId} entry=${entry} />` : html`<${Elicitation} agentId=${agentId} entry=${entry} />`
}
