// Files in rooms: uploaded through this node's content layer (one CID per file), shared as
// {cid, name, size, type} in a message, and downloaded by anyone through their own node,
// which checks every block against the CID as it streams.
import { html, useEffect, useState } from '../lib/ui.js'
import { authHeaders, reportAuthRequired } from '../net/api.js'

const TYPE = /^[a-z]+\/[a-z0-9.+-]{1,100}$/
const PREVIEW = /^image\/(png|jpeg|gif|webp)$/
const MAX_PREVIEW = 10 * 1024 * 1024

export function sizeText (n) {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`
}

/** One file up, with progress; XHR because fetch reports no upload progress. */
function upload (file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', '/api/v1/content?pin=true')
    xhr.setRequestHeader('content-type', 'application/octet-stream')
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v)
    xhr.upload.onprogress = e => { if (e.lengthComputable) onProgress(e.loaded / e.total) }
    xhr.onload = () => {
      if (xhr.status === 401) reportAuthRequired()
      let body
      try { body = JSON.parse(xhr.responseText) } catch { body = undefined }
      if (xhr.status === 201 && typeof body?.cid === 'string') resolve(body)
      else reject(new Error(`${file.name} was not added: ${body?.message ?? `HTTP ${xhr.status}`}`))
    }
    xhr.onerror = () => reject(new Error(`${file.name} was not added: the node did not answer`))
    xhr.send(file)
  })
}

export async function uploadFiles (files, onProgress) {
  const out = []
  for (const [i, f] of files.entries()) {
    const added = await upload(f, p => onProgress({ name: f.name, done: (i + p) / files.length }))
    out.push({ cid: added.cid, name: f.name.slice(0, 255), size: f.size, type: TYPE.test(f.type) ? f.type : 'application/octet-stream' })
  }
  return out
}

export function downloadUrl (file) {
  return `/api/v1/content/${encodeURIComponent(file.cid)}?filename=${encodeURIComponent(file.name)}`
}

function Preview ({ file }) {
  const [url, setUrl] = useState()
  useEffect(() => {
    if (!PREVIEW.test(file.type) || file.size > MAX_PREVIEW) return
    let objectUrl
    let live = true
    fetch(`/api/v1/content/${encodeURIComponent(file.cid)}`, { headers: authHeaders() })
      .then(r => r.ok ? r.blob() : undefined)
      .then(b => { if (b !== undefined && live) { objectUrl = URL.createObjectURL(new Blob([b], { type: file.type })); setUrl(objectUrl) } })
      .catch(() => {})
    return () => { live = false; if (objectUrl !== undefined) URL.revokeObjectURL(objectUrl) }
  }, [file.cid])
  return url === undefined ? null : html`<img class="file-preview" src=${url} alt=${`preview of ${file.name}`} />`
}

export function FileChips ({ files }) {
  return html`<ul class="files">${files.map(f => html`<li class="file-chip">
    <${Preview} file=${f} />
    <a href=${downloadUrl(f)} download=${f.name}>${f.name}</a>
    <span class="muted small"> ${sizeText(f.size)} · ${f.type}</span>
    <span class="muted small cid" title="content id; your node checks every block against it">${f.cid.slice(0, 12)}…</span>
  </li>`)}</ul>`
}

export function FilePicker ({ onFiles, busy }) {
  return html`<span class="file-picker">
    <input id="file-input" class="sr-only" type="file" multiple onChange=${e => { const fs = [...e.currentTarget.files]; e.currentTarget.value = ''; if (fs.length > 0) onFiles(fs) }} />
    <label for="file-input" class="button secondary">Attach files</label>
    ${busy ? html`<progress max="1" value=${busy.done} aria-label=${`Uploading ${busy.name}`}></progress>` : null}
  </span>`
}
