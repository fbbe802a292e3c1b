// One MCP result as a message: markdown text (sanitized), images, audio, resource links
// that open through the agent's session, structured content as a table or tree, and
// errors with their dawn/error code. Untrusted strings only ever go in as text nodes,
// except markdown, which goes through render/markdown.js.
import { html, useState } from '../lib/ui.js'
import { markdownHtml } from '../render/markdown.js'
import { readResource } from '../state/conversations.js'

const RASTER = /^image\/(png|jpeg|gif|webp|avif)$/
const AUDIO = /^audio\/(mpeg|mp3|wav|x-wav|ogg|webm|aac|flac|mp4)$/

export function Markdown ({ text }) {
  return html`<div class="md" dangerouslySetInnerHTML=${{ __html: markdownHtml(text) }}></div>`
}

function dataUrl (mime, b64) {
  return `data:${mime};base64,${b64}`
}

function Blob ({ mimeType, data, name }) {
  if (RASTER.test(mimeType ?? '')) return html`<img class="result-image" src=${dataUrl(mimeType, data)} alt=${name ?? `image (${mimeType})`} />`
  if (AUDIO.test(mimeType ?? '')) return html`<audio controls src=${dataUrl(mimeType, data)} aria-label=${name ?? `audio (${mimeType})`}></audio>`
  return html`<p class="muted">${name ?? 'binary content'} (${mimeType ?? 'unknown type'}, ${Math.round((data?.length ?? 0) * 3 / 4)} bytes)</p>`
}

function ResourceContents ({ contents }) {
  return html`${contents.map(c => typeof c.text === 'string'
    ? html`<figure class="resource"><figcaption>${c.uri}</figcaption><pre>${c.text}</pre></figure>`
    : html`<figure class="resource"><figcaption>${c.uri}</figcaption><${Blob} mimeType=${c.mimeType} data=${c.blob} name=${c.uri} /></figure>`)}`
}

function ResourceLink ({ agentId, link }) {
  const [state, setState] = useState({ status: 'closed' })
  const open = async () => {
    setState({ status: 'loading' })
    try {
      const r = await readResource(agentId, link.uri)
      setState({ status: 'open', contents: r.contents })
    } catch (err) {
      setState({ status: 'error', message: String(err.message ?? err) })
    }
  }
  return html`<div class="resource-link">
    <button type="button" class="link-button" onClick=${open} disabled=${state.status === 'loading'}>Open ${link.name ?? link.uri}</button>
    ${link.description ? html`<span class="muted"> ${link.description}</span>` : null}
    ${state.status === 'open' ? html`<${ResourceContents} contents=${state.contents} />` : null}
    ${state.status === 'error' ? html`<p class="error-text">${state.message}</p>` : null}
  </div>`
}

function isFlatObject (v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(x => x === null || typeof x !== 'object')
}

function cell (v) {
  return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v)
}

/** Arrays of flat objects and flat objects as tables; anything else as a tree. */
export function Structured ({ value, caption = 'Structured result' }) {
  if (Array.isArray(value) && value.length > 0 && value.every(isFlatObject)) {
    const cols = [...new Set(value.flatMap(Object.keys))]
    return html`<table class="data"><caption>${caption}</caption><thead><tr>${cols.map(c => html`<th scope="col">${c}</th>`)}</tr></thead>
      <tbody>${value.map(row => html`<tr>${cols.map(c => html`<td>${cell(row[c])}</td>`)}</tr>`)}</tbody></table>`
  }
  if (isFlatObject(value)) {
    return html`<table class="data"><caption>${caption}</caption><tbody>${Object.entries(value).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${cell(v)}</td></tr>`)}</tbody></table>`
  }
  return html`<div class="tree" aria-label=${caption}><${Tree} value=${value} /></div>`
}

function Tree ({ value, label }) {
  if (value === null || typeof value !== 'object') {
    return html`<div class="leaf">${label === undefined ? null : html`<span class="key">${label}: </span>`}<span>${JSON.stringify(value)}</span></div>`
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value)
  return html`<details open><summary>${label ?? (Array.isArray(value) ? `array (${value.length})` : 'object')}</summary>
    ${entries.map(([k, v]) => html`<${Tree} value=${v} label=${k} />`)}</details>`
}

function Block ({ agentId, block }) {
  switch (block.type) {
    case 'text': return html`<${Markdown} text=${block.text} />`
    case 'image': case 'audio': return html`<${Blob} mimeType=${block.mimeType} data=${block.data} />`
    case 'resource_link': return html`<${ResourceLink} agentId=${agentId} link=${block} />`
    case 'resource': return html`<${ResourceContents} contents=${[block.resource]} />`
    default: return html`<pre>${JSON.stringify(block, null, 2)}</pre>`
  }
}

export function ResultView ({ agentId, result }) {
  const code = result._meta?.['dawn/error']
  return html`<div class="result">
    ${result.isError === true ? html`<p class="error-text"><strong>Error</strong>${code === undefined ? null : html` <code>${String(code)}</code>`}</p>` : null}
    ${(result.content ?? []).map(b => html`<${Block} agentId=${agentId} block=${b} />`)}
    ${result.structuredContent === undefined ? null : html`<${Structured} value=${result.structuredContent} />`}
  </div>`
}
