// The conversation with the selected agent: each call as the person's bubble and the
// agent's reply, prompts as their messages, questions as inline forms; the typing
// indicator shows a running call's progress with a cancel button.
import { html, useEffect, useRef } from '../lib/ui.js'
import { clock } from '../lib/format.js'
import { useSelect } from '../state/store.js'
import { store } from '../state/app-state.js'
import { cancel, restoreHistory } from '../state/conversations.js'
import { ResultView, Markdown } from './result-view.js'
import { QuestionCard } from './question-card.js'
import { AppFrame, AppMessageEntry } from './app-frame.js'


function argsText (args) {
  const json = JSON.stringify(args ?? {})
  return json === '{}' ? '' : ` ${json}`
}

function CallEntry ({ agentId, entry }) {
  return html`
    <li class="bubble mine" data-entry=${entry.id}><span class="sr-only">You: </span><code>/${entry.tool}${argsText(entry.args)}</code><time class="meta">${clock(entry.at)}</time></li>
    ${entry.status === 'running' ? null : html`<li class=${`bubble theirs ${entry.status}`} data-entry-reply=${entry.id}>
      <span class="sr-only">${agentId}: </span>
      ${entry.status === 'cancelled' ? html`<p class="muted">Cancelled.</p>` : null}
      ${entry.error ? html`<p class="error-text"><strong>Error</strong>${entry.error.code ? html` <code>${entry.error.code}</code>` : null}: ${entry.error.message}</p>` : null}
      ${entry.result ? html`<${ResultView} agentId=${agentId} result=${entry.result} />` : null}
      ${entry.status === 'done' ? html`<${AppFrame} agentId=${agentId} entry=${entry} />` : null}
    </li>`}`
}

function PromptEntry ({ entry }) {
  return html`
    <li class="bubble mine"><span class="sr-only">You: </span>Prompt <code>${entry.prompt}</code>${argsText(entry.args)}</li>
    ${entry.error ? html`<li class="bubble theirs error"><p class="error-text">${entry.error.message}</p></li>` : null}
    ${(entry.result?.messages ?? []).map(m => html`<li class=${`bubble ${m.role === 'user' ? 'mine prompt' : 'theirs'}`}>
      <span class="role">${m.role}</span>${m.content?.type === 'text' ? html`<${Markdown} text=${m.content.text} />` : html`<${ResultView} result=${{ content: [m.content] }} />`}</li>`)}`
}

function Typing ({ agentId, entries }) {
  const busy = entries.filter(e => e.role === 'call' && e.status === 'running')
  return html`<div class="typing" role="status" aria-live="polite">
    ${busy.map(e => html`<div class="typing-row">
      <span class="dots" aria-hidden="true"><i></i><i></i><i></i></span>
      <span>${agentId} is working on ${e.tool}${e.progress ? ` — ${e.progress.progress}${e.progress.total ? `/${e.progress.total}` : ''}${e.progress.message ? ` ${e.progress.message}` : ''}` : '…'}</span>
      ${e.progress?.total ? html`<progress max=${e.progress.total} value=${e.progress.progress} aria-label=${`Progress of ${e.tool}`}></progress>` : null}
      <button type="button" class="secondary" onClick=${() => cancel(e.id)}>Cancel ${e.tool}</button>
    </div>`)}
  </div>`
}

export function Conversation ({ agent }) {
  const entries = useSelect(store, s => s.conversations[agent.agentId]) ?? []
  const listRef = useRef()
  const stick = useRef(true)
  useEffect(() => { void restoreHistory(agent.agentId) }, [agent.agentId])
  useEffect(() => {
    const el = listRef.current
    if (el !== undefined && stick.current) el.scrollTop = el.scrollHeight
  }, [entries])
  const onScroll = e => {
    const el = e.currentTarget
    stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40
  }
  return html`<section class="conversation" aria-labelledby="conv-title">
    <h2 id="conv-title" class="conv-title">${agent.name || agent.agentId}${agent.name && agent.name !== agent.agentId ? html`<span class="muted"> ${agent.agentId}</span>` : null}</h2>
    ${agent.description ? html`<p class="muted conv-desc">${agent.description}</p>` : null}
    <ol class="messages" ref=${listRef} onScroll=${onScroll} tabindex="0" aria-label=${`Conversation with ${agent.agentId}`}>
      ${entries.length === 0 ? html`<li class="empty muted">Pick a tool on the right, or type <code>/tool {"arg": "value"}</code> below.</li>` : null}
      ${entries.map(e => e.role === 'call'
        ? html`<${CallEntry} key=${e.id} agentId=${agent.agentId} entry=${e} />`
        : e.role === 'prompt'
          ? html`<${PromptEntry} key=${e.id} entry=${e} />`
          : e.role === 'app-message'
            ? html`<${AppMessageEntry} key=${e.id} agentId=${agent.agentId} entry=${e} />`
            : html`<li key=${e.id} class="bubble theirs question-entry"><${QuestionCard} agentId=${agent.agentId} entry=${e} /></li>`)}
    </ol>
    <${Typing} agentId=${agent.agentId} entries=${entries} />
  </section>`
}
