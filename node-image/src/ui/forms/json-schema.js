// Turns a tool's input JSON Schema (2020-12) into form fields, and the form's text back
// into arguments, with the errors a person can fix before anything is sent. Pure: no DOM,
// so the unit tier tests it in Node (test/unit/ui/json-schema-form.test.ts). The full
// schema check before sending is the SDK's validator (views/tool-form.js).

const MAX_DEPTH = 8

/** Follows a local `$ref` (#/$defs/x, #/definitions/x); anything else is left as free JSON. */
function deref (schema, root, seen = new Set()) {
  if (schema === null || typeof schema !== 'object' || typeof schema.$ref !== 'string') return schema
  if (seen.has(schema.$ref) || !schema.$ref.startsWith('#/')) return { type: 'json' }
  seen.add(schema.$ref)
  let target = root
  for (const part of schema.$ref.slice(2).split('/')) target = target?.[part.replace(/~1/g, '/').replace(/~0/g, '~')]
  if (target === undefined) return { type: 'json' }
  const { $ref, ...rest } = schema
  void $ref
  return deref({ ...target, ...rest }, root, seen)
}

/** `type: ['string','null']` and `anyOf: [{…}, {type:'null'}]` are the optional form of one type. */
function nonNull (schema) {
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter(t => t !== 'null')
    return types.length === 1 ? { ...schema, type: types[0], nullable: true } : { ...schema, type: 'json' }
  }
  const alts = schema.anyOf ?? schema.oneOf
  if (Array.isArray(alts)) {
    const rest = alts.filter(a => a?.type !== 'null')
    if (rest.length === 1) return { ...schema, ...rest[0], anyOf: undefined, oneOf: undefined, nullable: rest.length < alts.length }
    if (alts.every(a => 'const' in (a ?? {}))) return { ...schema, type: 'string', enum: alts.map(a => a.const), enumTitles: alts.map(a => a.title ?? String(a.const)), anyOf: undefined, oneOf: undefined }
  }
  return schema
}

function kindOf (s, root) {
  if (Array.isArray(s.enum)) return 'enum'
  if (s.type === 'array' && s.items !== undefined && Array.isArray(nonNull(deref(s.items, root)).enum)) return 'multi'
  if ('const' in s) return 'const'
  switch (s.type) {
    case 'string': case 'number': case 'integer': case 'boolean': return s.type
    case 'array': return s.items !== undefined && typeof s.items === 'object' ? 'array' : 'json'
    case 'object': return s.properties !== undefined ? 'object' : 'json'
    default: return s.properties !== undefined ? 'object' : 'json'
  }
}

/** One field: its path, kind, label, constraints, and its children for objects and arrays. */
export function fieldOf (schema, root = schema, path = [], required = false, depth = 0, refs = new Set()) {
  const ref = schema?.$ref
  // A schema that refers back to itself ends as free JSON at its second appearance.
  const cyclic = typeof ref === 'string' && refs.has(ref)
  if (typeof ref === 'string') refs = new Set([...refs, ref])
  const s = cyclic ? { type: 'json' } : nonNull(deref(schema ?? {}, root))
  const name = path.length === 0 ? '' : String(path[path.length - 1])
  const kind = depth >= MAX_DEPTH ? 'json' : kindOf(s, root)
  const field = {
    path,
    name,
    kind,
    label: typeof s.title === 'string' && s.title !== '' ? s.title : name,
    description: typeof s.description === 'string' ? s.description : undefined,
    required,
    schema: s,
    root,
    depth
  }
  if (kind === 'object') {
    const req = new Set(Array.isArray(s.required) ? s.required : [])
    field.children = Object.entries(s.properties ?? {}).map(([key, sub]) => fieldOf(sub, root, [...path, key], req.has(key), depth + 1, refs))
  }
  field.refs = refs
  if (kind === 'array') field.item = fieldOf(s.items, root, [...path, 0], true, depth + 1, refs)
  if (kind === 'enum') field.options = optionsOf(s)
  if (kind === 'multi') field.options = optionsOf(nonNull(deref(s.items, root)))
  return field
}

/** Choices as the form shows them: the value's text and a label (`oneOf` titles, legacy `enumNames`). */
function optionsOf (s) {
  const titles = Array.isArray(s.enumTitles) ? s.enumTitles : Array.isArray(s.enumNames) ? s.enumNames : []
  return s.enum.map((v, i) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v)
    return { value: v, text, label: typeof titles[i] === 'string' ? titles[i] : text }
  })
}

/** The field of an array's item `i`, with its own path, for the form to render. */
export function itemField (array, i) {
  const item = fieldOf(array.schema.items, array.root, [...array.path, i], true, array.depth + 1, array.refs)
  return { ...item, label: `${array.label} ${i + 1}` }
}

/** The form's starting text for a field: defaults shown as the person would type them. */
export function initialValue (field) {
  const d = field.schema.default
  switch (field.kind) {
    case 'object': return Object.fromEntries(field.children.map(c => [c.name, initialValue(c)]))
    case 'array': return Array.isArray(d) ? d.map(v => textOf(field.item, v)) : []
    case 'multi': return Array.isArray(d) ? d.map(v => typeof v === 'string' ? v : JSON.stringify(v)) : []
    case 'boolean': return d === true
    case 'const': return field.schema.const
    default: return d === undefined ? '' : textOf(field, d)
  }
}

function textOf (field, v) {
  if (field.kind === 'object' || field.kind === 'array') return initialValue({ ...field, schema: { ...field.schema, default: v } })
  if (field.kind === 'boolean') return v === true
  if (field.kind === 'json') return JSON.stringify(v, null, 2)
  return typeof v === 'string' ? v : JSON.stringify(v)
}

const key = path => path.join('.')

/**
 * The arguments for the form's values, and the errors keyed by field path ('' for the
 * whole). An empty optional field is left out rather than sent as "".
 */
export function collect (field, value) {
  const errors = {}
  const out = read(field, value, errors)
  return { value: out === undefined && field.kind === 'object' ? {} : out, errors }
}

function read (field, value, errors) {
  const s = field.schema
  const fail = msg => { errors[key(field.path)] = msg }
  const empty = value === '' || value === undefined || value === null
  switch (field.kind) {
    case 'object': {
      const out = {}
      for (const c of field.children) {
        const v = read(c, value?.[c.name], errors)
        if (v !== undefined) out[c.name] = v
      }
      return out
    }
    case 'array': {
      const items = (value ?? []).map((v, i) => read(itemField(field, i), v, errors))
      if (field.required || items.length > 0) {
        if (typeof s.minItems === 'number' && items.length < s.minItems) fail(`needs at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`)
        if (typeof s.maxItems === 'number' && items.length > s.maxItems) fail(`at most ${s.maxItems} items`)
      }
      return field.required || items.length > 0 ? items : undefined
    }
    case 'multi': {
      const chosen = field.options.filter(o => (value ?? []).includes(o.text)).map(o => o.value)
      if (field.required || chosen.length > 0) {
        if (typeof s.minItems === 'number' && chosen.length < s.minItems) fail(`choose at least ${s.minItems}`)
        if (typeof s.maxItems === 'number' && chosen.length > s.maxItems) fail(`choose at most ${s.maxItems}`)
      }
      return field.required || chosen.length > 0 ? chosen : undefined
    }
    case 'boolean': return value === true ? true : (field.required || s.default !== undefined ? false : undefined)
    case 'const': return s.const
  }
  if (empty) {
    if (field.required) fail('required')
    return undefined
  }
  switch (field.kind) {
    case 'enum': {
      const match = field.options.find(o => o.text === value)
      if (match === undefined) fail(`choose one of: ${field.options.map(o => o.label).join(', ')}`)
      return match?.value
    }
    case 'number': case 'integer': {
      const n = Number(value)
      if (!Number.isFinite(n) || String(value).trim() === '') return fail('must be a number'), undefined
      if (field.kind === 'integer' && !Number.isInteger(n)) return fail('must be a whole number'), undefined
      if (typeof s.minimum === 'number' && n < s.minimum) fail(`must be at least ${s.minimum}`)
      if (typeof s.maximum === 'number' && n > s.maximum) fail(`must be at most ${s.maximum}`)
      if (typeof s.exclusiveMinimum === 'number' && n <= s.exclusiveMinimum) fail(`must be more than ${s.exclusiveMinimum}`)
      if (typeof s.exclusiveMaximum === 'number' && n >= s.exclusiveMaximum) fail(`must be less than ${s.exclusiveMaximum}`)
      return n
    }
    case 'string': {
      const len = [...value].length
      if (typeof s.minLength === 'number' && len < s.minLength) fail(`needs at least ${s.minLength} characters`)
      if (typeof s.maxLength === 'number' && len > s.maxLength) fail(`at most ${s.maxLength} characters`)
      if (typeof s.pattern === 'string') {
        let re
        try { re = new RegExp(s.pattern, 'u') } catch { re = undefined }
        if (re !== undefined && !re.test(value)) fail(`must match ${s.pattern}`)
      }
      if (s.format === 'email' && !/^[^\s@]+@[^\s@]+$/.test(value)) fail('must be an email address')
      if ((s.format === 'uri' || s.format === 'url') && !/^[a-z][a-z0-9+.-]*:/i.test(value)) fail('must be a URI')
      return value
    }
    default: {
      try { return JSON.parse(value) } catch (err) { fail(`not valid JSON: ${err.message}`); return undefined }
    }
  }
}

/** The input kind and attributes of a leaf field's control. */
export function controlOf (field) {
  const s = field.schema
  if (field.kind === 'number' || field.kind === 'integer') return { type: 'number', step: field.kind === 'integer' ? '1' : 'any', min: s.minimum, max: s.maximum }
  if (field.kind === 'string') {
    const type = s.format === 'email' ? 'email' : s.format === 'uri' || s.format === 'url' ? 'url' : s.format === 'date' ? 'date' : 'text'
    return { type, minLength: s.minLength, maxLength: s.maxLength }
  }
  return { type: 'text' }
}
