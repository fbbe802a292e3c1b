// A form generated from a JSON Schema (forms/json-schema.js): tool arguments, prompt
// arguments and elicitation answers all use it. Errors show beside their field and the
// first one takes focus; nothing is sent while any remains.
import { html, useState, useMemo, useRef } from '../lib/ui.js'
import { fieldOf, itemField, initialValue, collect, controlOf } from '../forms/json-schema.js'

let formSeq = 0

function setAt (obj, path, v) {
  if (path.length === 0) return v
  const [head, ...rest] = path
  const copy = Array.isArray(obj) ? [...obj] : { ...(obj ?? {}) }
  copy[head] = setAt(copy[head], rest, v)
  return copy
}

function getAt (obj, path) {
  return path.reduce((o, k) => o?.[k], obj)
}

function Field ({ field, values, errors, set, ids }) {
  const id = `${ids}-${field.path.join('-')}`
  const value = getAt(values, field.path)
  const error = errors[field.path.join('.')]
  const describedBy = [field.description ? `${id}-desc` : '', error ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined
  const label = html`<label for=${id}>${field.label}${field.required ? html`<span class="required" aria-hidden="true"> *</span><span class="sr-only"> (required)</span>` : null}</label>`
  const help = field.description ? html`<p class="help" id=${`${id}-desc`}>${field.description}</p>` : null
  const err = error ? html`<p class="field-error" id=${`${id}-err`}>${error}</p>` : null

  if (field.kind === 'object') {
    const inner = field.children.map(c => html`<${Field} key=${c.name} field=${c} values=${values} errors=${errors} set=${set} ids=${ids} />`)
    if (field.path.length === 0) return html`<div class="fields">${inner}</div>`
    return html`<fieldset class="group"><legend>${field.label}</legend>${help}${inner}</fieldset>`
  }
  if (field.kind === 'array') {
    const items = value ?? []
    return html`<fieldset class="group"><legend>${field.label}${field.required ? ' *' : ''}</legend>${help}
      ${items.map((_, i) => html`<div class="array-item" key=${i}>
        <${Field} field=${itemField(field, i)} values=${values} errors=${errors} set=${set} ids=${ids} />
        <button type="button" class="secondary" onClick=${() => set(field.path, items.filter((__, j) => j !== i))}>Remove ${field.label} ${i + 1}</button>
      </div>`)}
      <button type="button" class="secondary" onClick=${() => set(field.path, [...items, initialValue(field.item)])}>Add ${field.label}</button>
      ${err}
    </fieldset>`
  }
  if (field.kind === 'multi') {
    const chosen = value ?? []
    return html`<fieldset class="group" aria-describedby=${describedBy}><legend>${field.label}${field.required ? ' *' : ''}</legend>${help}
      ${field.options.map((o, i) => html`<div class="field checkbox"><input id=${`${id}-${i}`} type="checkbox" checked=${chosen.includes(o.text)}
        onChange=${e => set(field.path, e.currentTarget.checked ? [...chosen, o.text] : chosen.filter(x => x !== o.text))} /><label for=${`${id}-${i}`}>${o.label}</label></div>`)}
      ${err}</fieldset>`
  }
  if (field.kind === 'const') return html`<p class="help">${field.label}: ${JSON.stringify(field.schema.const)}</p>`
  if (field.kind === 'boolean') {
    return html`<div class="field checkbox">
      <input id=${id} type="checkbox" checked=${value === true} aria-describedby=${describedBy} onChange=${e => set(field.path, e.currentTarget.checked)} />
      ${label}${help}${err}</div>`
  }
  if (field.kind === 'enum') {
    return html`<div class="field">${label}
      <select id=${id} aria-invalid=${error ? 'true' : undefined} aria-describedby=${describedBy} aria-required=${field.required ? 'true' : undefined} value=${value} onChange=${e => set(field.path, e.currentTarget.value)}>
        ${field.required && value !== '' ? null : html`<option value="">(choose)</option>`}
        ${field.options.map(o => html`<option value=${o.text}>${o.label}</option>`)}
      </select>${help}${err}</div>`
  }
  if (field.kind === 'json') {
    return html`<div class="field">${label}
      <textarea id=${id} rows="4" spellcheck="false" placeholder="JSON" aria-invalid=${error ? 'true' : undefined} aria-describedby=${describedBy} aria-required=${field.required ? 'true' : undefined} value=${value} onInput=${e => set(field.path, e.currentTarget.value)}></textarea>${help}${err}</div>`
  }
  const c = controlOf(field)
  return html`<div class="field">${label}
    <input id=${id} type=${c.type} step=${c.step} min=${c.min} max=${c.max} aria-invalid=${error ? 'true' : undefined} aria-describedby=${describedBy} aria-required=${field.required ? 'true' : undefined}
      value=${value} onInput=${e => set(field.path, e.currentTarget.value)} />${help}${err}</div>`
}

/**
 * `check(value)` may add a schema-level error (the SDK validator); `onSubmit(value)` runs
 * only with no errors left.
 */
export function SchemaForm ({ schema, submitLabel, onSubmit, check, label, extraButtons }) {
  const ids = useMemo(() => `f${++formSeq}`, [])
  const root = useMemo(() => fieldOf(schema ?? { type: 'object' }), [schema])
  const [values, setValues] = useState(() => initialValue(root))
  const [errors, setErrors] = useState({})
  const formRef = useRef()
  const set = (path, v) => setValues(old => setAt(old, path, v))
  const submit = (e) => {
    e.preventDefault()
    const { value, errors: found } = collect(root, values)
    if (Object.keys(found).length === 0 && check !== undefined) {
      const whole = check(value)
      if (whole !== undefined) found[''] = whole
    }
    setErrors(found)
    if (Object.keys(found).length > 0) {
      queueMicrotask(() => formRef.current?.querySelector('[aria-invalid="true"]')?.focus())
      return
    }
    onSubmit(value)
  }
  return html`<form ref=${formRef} class="schema-form" aria-label=${label} noValidate onSubmit=${submit}>
    <${Field} field=${root} values=${values} errors=${errors} set=${set} ids=${ids} />
    ${errors[''] ? html`<p class="field-error" role="alert">${errors['']}</p>` : null}
    <div class="form-actions"><button type="submit">${submitLabel}</button>${extraButtons}</div>
  </form>`
}
