// The selected agent's tools, prompts and resources, from its own MCP session. A tool
// opens a form generated from its input schema; a prompt, one from its arguments.
import { html, useState, useEffect } from '../lib/ui.js'
import { SchemaForm } from './schema-form.js'
import { session, callTool, getPrompt, readResource } from '../state/conversations.js'
import { schemaCheck } from '../net/mcp-sessions.js'
import { ResultView } from './result-view.js'

function ToolItem ({ agentId, tool, open, onToggle }) {
  const [check, setCheck] = useState()
  useEffect(() => {
    if (!open) return
    let live = true
    schemaCheck(tool.inputSchema ?? { type: 'object' }).then(c => { if (live) setCheck(() => c) }, () => {})
    return () => { live = false }
  }, [open, tool])
  const id = `tool-${agentId}-${tool.name}`
  return html`<li class="item">
    <button type="button" class="item-button" aria-expanded=${open} aria-controls=${`${id}-form`} onClick=${onToggle}>
      <span class="item-name">${tool.title ?? tool.name}</span>${tool.title ? html`<span class="muted"> ${tool.name}</span>` : null}
    </button>
    ${open
      ? html`<div id=${`${id}-form`} class="item-form">
          ${tool.description ? html`<p class="help">${tool.description}</p>` : null}
          <${SchemaForm} label=${`Arguments of ${tool.name}`} schema=${tool.inputSchema} submitLabel=${`Call ${tool.name}`} check=${check}
            onSubmit=${args => { void callTool(agentId, tool.name, args) }} />
        </div>`
      : null}
  </li>`
}

function promptSchema (prompt) {
  const args = prompt.arguments ?? []
  return {
    type: 'object',
    properties: Object.fromEntries(args.map(a => [a.name, { type: 'string', title: a.title ?? a.name, description: a.description }])),
    required: args.filter(a => a.required).map(a => a.name)
  }
}

function PromptItem ({ agentId, prompt, open, onToggle }) {
  const id = `prompt-${agentId}-${prompt.name}`
  return html`<li class="item">
    <button type="button" class="item-button" aria-expanded=${open} aria-controls=${`${id}-form`} onClick=${onToggle}>
      <span class="item-name">${prompt.title ?? prompt.name}</span>${prompt.title ? html`<span class="muted"> ${prompt.name}</span>` : null}
    </button>
    ${open
      ? html`<div id=${`${id}-form`} class="item-form">
          ${prompt.description ? html`<p class="help">${prompt.description}</p>` : null}
          <${SchemaForm} label=${`Arguments of prompt ${prompt.name}`} schema=${promptSchema(prompt)} submitLabel=${`Use prompt ${prompt.name}`}
            onSubmit=${args => { void getPrompt(agentId, prompt.name, args) }} />
        </div>`
      : null}
  </li>`
}

function ResourceItem ({ agentId, resource }) {
  const [state, setState] = useState()
  const read = async () => {
    try { setState({ result: await readResource(agentId, resource.uri) }) } catch (err) { setState({ error: String(err.message ?? err) }) }
  }
  return html`<li class="item">
    <button type="button" class="item-button" onClick=${read}><span class="item-name">${resource.title ?? resource.name ?? resource.uri}</span></button>
    <p class="muted small">${resource.uri}</p>
    ${state?.error ? html`<p class="error-text">${state.error}</p>` : null}
    ${state?.result ? html`<${ResultView} agentId=${agentId} result=${{ content: state.result.contents.map(c => ({ type: 'resource', resource: c })) }} />` : null}
  </li>`
}

const TABS = ['Tools', 'Prompts', 'Resources']

export function SidePanel ({ agent }) {
  const [s, setS] = useState({ status: 'loading' })
  const [tab, setTab] = useState('Tools')
  const [open, setOpen] = useState()
  const toolsKey = agent.tools.map(t => t.name).join(',')
  useEffect(() => {
    let live = true
    setS(old => old.agentId === agent.agentId ? old : { status: 'loading' })
    session(agent.agentId).then(async x => {
      // The session listed on connect; a registry change for this agent since then lists again.
      if (x.toolsKey !== undefined && x.toolsKey !== toolsKey) await x.relist()
      x.toolsKey = toolsKey
      if (live) setS({ status: 'ready', agentId: agent.agentId, tools: x.tools, prompts: x.prompts, resources: x.resources })
    }, err => { if (live) setS({ status: 'error', message: String(err.message ?? err) }) })
    return () => { live = false }
  }, [agent.agentId, toolsKey])

  const onKey = e => {
    const i = TABS.indexOf(tab)
    const next = e.key === 'ArrowRight' ? TABS[(i + 1) % TABS.length] : e.key === 'ArrowLeft' ? TABS[(i + TABS.length - 1) % TABS.length] : undefined
    if (next === undefined) return
    e.preventDefault()
    setTab(next)
    document.getElementById(`tab-${next}`)?.focus()
  }
  const items = s.status !== 'ready' ? [] : tab === 'Tools' ? s.tools : tab === 'Prompts' ? s.prompts : s.resources
  return html`<section class="side" aria-label=${`What ${agent.agentId} offers`}>
    <div role="tablist" aria-label="Tools, prompts and resources" onKeyDown=${onKey}>
      ${TABS.map(t => html`<button type="button" role="tab" id=${`tab-${t}`} aria-selected=${t === tab} aria-controls="side-tabpanel" tabindex=${t === tab ? 0 : -1} onClick=${() => setTab(t)}>
        ${t}${s.status === 'ready' ? html` <span class="count">${(t === 'Tools' ? s.tools : t === 'Prompts' ? s.prompts : s.resources).length}</span>` : null}</button>`)}
    </div>
    <div role="tabpanel" id="side-tabpanel" aria-labelledby=${`tab-${tab}`}>
      ${s.status === 'loading' ? html`<p class="muted">Connecting to ${agent.agentId}…</p>` : null}
      ${s.status === 'error' ? html`<p class="error-text" role="alert">Could not open ${agent.agentId}: ${s.message}</p>` : null}
      ${s.status === 'ready' && items.length === 0 ? html`<p class="muted">No ${tab.toLowerCase()}.</p>` : null}
      <ul class="items">
        ${tab === 'Tools' ? items.map(t => html`<${ToolItem} key=${t.name} agentId=${agent.agentId} tool=${t} open=${open === `t:${t.name}`} onToggle=${() => setOpen(open === `t:${t.name}` ? undefined : `t:${t.name}`)} />`) : null}
        ${tab === 'Prompts' ? items.map(p => html`<${PromptItem} key=${p.name} agentId=${agent.agentId} prompt=${p} open=${open === `p:${p.name}`} onToggle=${() => setOpen(open === `p:${p.name}` ? undefined : `p:${p.name}`)} />`) : null}
        ${tab === 'Resources' ? items.map(r => html`<${ResourceItem} key=${r.uri} agentId=${agent.agentId} resource=${r} />`) : null}
      </ul>
    </div>
  </section>`
}
