// Turns a TypeBox (JSON Schema 2020-12) schema into the *structural* OpenAPI v3
// schema a CustomResourceDefinition requires. The API server rejects a CRD whose
// schema is not structural, and prunes what it does not know, so anything this
// cannot express faithfully is an error here rather than a surprise there.
// https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#specifying-a-structural-schema

/** A structural OpenAPI v3 schema node, as written into the CRD. */
export interface StructuralSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean'
  description?: string
  title?: string
  format?: string
  properties?: Record<string, StructuralSchema>
  required?: string[]
  additionalProperties?: StructuralSchema
  items?: StructuralSchema
  anyOf?: StructuralSchema[]
  enum?: unknown[]
  default?: unknown
  nullable?: boolean
  pattern?: string
  minLength?: number
  maxLength?: number
  minimum?: number
  maximum?: number
  exclusiveMinimum?: boolean
  exclusiveMaximum?: boolean
  multipleOf?: number
  minItems?: number
  maxItems?: number
  minProperties?: number
  maxProperties?: number
  'x-kubernetes-preserve-unknown-fields'?: true
  'x-kubernetes-embedded-resource'?: true
  'x-kubernetes-int-or-string'?: true
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map'
  'x-kubernetes-list-map-keys'?: string[]
  'x-kubernetes-map-type'?: 'atomic' | 'granular'
  'x-kubernetes-validations'?: Array<{ rule: string, message?: string, messageExpression?: string, reason?: string, fieldPath?: string, optionalOldSelf?: boolean }>
}

/** The schema cannot be written as a structural CRD schema; `path` names the node. */
export class NonStructuralSchemaError extends Error {
  readonly path: string
  constructor (path: string, problem: string) {
    super(`${path === '' ? '(root)' : path}: ${problem}`)
    this.name = 'NonStructuralSchemaError'
    this.path = path
  }
}

type Json = Record<string, unknown>

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean'])
/** Copied as they are: value validations OpenAPI v3 and the API server understand. */
const PASS_THROUGH = ['description', 'title', 'format', 'nullable', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum',
  'multipleOf', 'minItems', 'maxItems', 'minProperties', 'maxProperties'] as const
const KUBERNETES_EXTENSIONS = new Set([
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource', 'x-kubernetes-int-or-string',
  'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-validations'
])
/** Keywords handled explicitly below. */
const HANDLED = new Set(['type', 'properties', 'required', 'additionalProperties', 'patternProperties', 'items', 'anyOf',
  'const', 'enum', 'default', 'exclusiveMinimum', 'exclusiveMaximum', ...PASS_THROUGH, ...KUBERNETES_EXTENSIONS])
const VALIDATION_KEYS = new Set(['rule', 'message', 'messageExpression', 'reason', 'fieldPath', 'optionalOldSelf'])
/** The catch-all key TypeBox gives Type.Record(Type.String(), ...). */
const ANY_KEY = '^.*$'

/**
 * Converts a schema to its structural form. The input is not modified.
 * `root: true` applies the rules for a CRD's top level (metadata may only be `type: object`).
 */
export function toStructuralSchema (schema: unknown, opts: { root?: boolean } = {}): StructuralSchema {
  // A JSON round trip drops TypeBox's symbol-keyed bookkeeping and proves the schema is plain data.
  const plain = JSON.parse(JSON.stringify(schema)) as unknown
  return convert(plain, '', opts.root === true)
}

function convert (node: unknown, path: string, root: boolean): StructuralSchema {
  if (!isObject(node)) throw new NonStructuralSchemaError(path, 'a schema must be an object')
  for (const key of Object.keys(node)) {
    if (HANDLED.has(key)) continue
    if (key.startsWith('x-kubernetes-')) throw new NonStructuralSchemaError(path, `unknown Kubernetes extension "${key}"`)
    throw new NonStructuralSchemaError(path, `keyword "${key}" has no structural equivalent`)
  }
  const out: StructuralSchema = {}
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true
  const intOrString = node['x-kubernetes-int-or-string'] === true

  if (node.anyOf !== undefined) {
    if (intOrString) {
      out.anyOf = intOrStringBranches(node.anyOf, path)
    } else {
      Object.assign(out, literalUnion(node.anyOf, path))
    }
  } else if (intOrString) {
    throw new NonStructuralSchemaError(path, 'x-kubernetes-int-or-string needs anyOf: [{type: integer}, {type: string}]')
  }

  if (node.type !== undefined) {
    if (typeof node.type !== 'string' || !TYPES.has(node.type)) {
      throw new NonStructuralSchemaError(path, `type must be one of ${[...TYPES].join(', ')} (got ${JSON.stringify(node.type)})`)
    }
    if (out.type !== undefined && out.type !== node.type) throw new NonStructuralSchemaError(path, `type ${node.type} contradicts its literal values`)
    out.type = node.type as StructuralSchema['type']
  }

  if (node.const !== undefined) {
    out.enum = [node.const]
    out.type ??= jsonType(node.const, path)
  }
  if (node.enum !== undefined) {
    if (!Array.isArray(node.enum) || node.enum.length === 0) throw new NonStructuralSchemaError(path, 'enum must be a non-empty array')
    if (out.enum !== undefined) throw new NonStructuralSchemaError(path, 'both enum and const/literal union')
    out.enum = node.enum
    out.type ??= jsonType(node.enum[0], path)
  }

  for (const key of PASS_THROUGH) {
    if (node[key] !== undefined) (out as Json)[key] = node[key]
  }
  // JSON Schema 2020-12 spells exclusive bounds as numbers; OpenAPI v3.0 as booleans next to minimum/maximum.
  for (const [key, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    const value = node[key]
    if (value === undefined) continue
    if (typeof value !== 'number') throw new NonStructuralSchemaError(path, `${key} must be a number`)
    if (out[bound] !== undefined) throw new NonStructuralSchemaError(path, `both ${key} and ${bound}`)
    out[bound] = value
    out[key] = true
  }

  if (node.properties !== undefined) {
    if (!isObject(node.properties)) throw new NonStructuralSchemaError(path, 'properties must be an object')
    out.properties = {}
    for (const [name, child] of Object.entries(node.properties)) {
      const childPath = path === '' ? name : `${path}.${name}`
      out.properties[name] = root && name === 'metadata' ? rootMetadata(child, childPath) : convert(child, childPath, false)
    }
  }
  if (node.required !== undefined) {
    if (!Array.isArray(node.required) || !node.required.every(r => typeof r === 'string')) throw new NonStructuralSchemaError(path, 'required must list field names')
    for (const r of node.required) {
      if (out.properties?.[r] === undefined) throw new NonStructuralSchemaError(path, `required field "${r}" has no schema`)
    }
    const required = node.required.filter(r =>
      // The API server fills these in; listing them only breaks clients that send partial objects.
      !(root && ['apiVersion', 'kind', 'metadata'].includes(r)) &&
      // A defaulted field is never missing after defaulting, but the API server checks a
      // parent's `default: {}` against the schema before filling the children in.
      out.properties?.[r]?.default === undefined)
    if (required.length > 0) out.required = required
  }

  const additional = mapValueSchema(node, path)
  if (additional !== undefined) {
    if (out.properties !== undefined) throw new NonStructuralSchemaError(path, 'properties and additionalProperties cannot be combined in a CRD')
    // A preserved object keeps any value already; an empty value schema would be non-structural.
    if (!(preserve && isObject(additional) && Object.keys(additional).length === 0)) out.additionalProperties = convert(additional, `${path}[*]`, false)
  }

  if (node.items !== undefined) {
    if (Array.isArray(node.items)) throw new NonStructuralSchemaError(path, 'tuple items are not structural')
    out.items = convert(node.items, `${path}[]`, false)
  }

  // The API server checks a default (and runs CEL rules on it) before filling in the
  // defaults of its children, so `default: {}` is written out in full.
  if (node.default !== undefined) out.default = withChildDefaults(out, node.default)

  for (const key of KUBERNETES_EXTENSIONS) {
    if (node[key] === undefined) continue
    if (key === 'x-kubernetes-validations') out[key] = validations(node[key], path)
    else (out as Json)[key] = node[key]
  }

  if (out.type === undefined && !preserve && !intOrString) {
    throw new NonStructuralSchemaError(path, 'every field needs a type (or x-kubernetes-preserve-unknown-fields / x-kubernetes-int-or-string)')
  }
  if (out.type === 'array' && out.items === undefined) throw new NonStructuralSchemaError(path, 'an array needs an items schema')
  if (out['x-kubernetes-list-map-keys'] !== undefined && out['x-kubernetes-list-type'] !== 'map') {
    throw new NonStructuralSchemaError(path, 'x-kubernetes-list-map-keys needs x-kubernetes-list-type: map')
  }
  return out
}

function withChildDefaults (schema: StructuralSchema, value: unknown): unknown {
  if (!isObject(value) || schema.properties === undefined) return value
  const out: Json = { ...value }
  for (const [name, child] of Object.entries(schema.properties)) {
    // Children were converted first, so their own defaults are already complete.
    if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default)
    else if (out[name] !== undefined) out[name] = withChildDefaults(child, out[name])
  }
  return out
}

/** `additionalProperties` (a schema) or TypeBox's `patternProperties: {'^.*$': X}`; `false` is dropped (pruning does its job). */
function mapValueSchema (node: Json, path: string): unknown {
  const { additionalProperties, patternProperties } = node
  let value: unknown
  if (additionalProperties !== undefined && additionalProperties !== false) {
    if (additionalProperties === true) throw new NonStructuralSchemaError(path, 'additionalProperties: true is not structural; use x-kubernetes-preserve-unknown-fields')
    value = additionalProperties
  }
  if (patternProperties !== undefined) {
    if (!isObject(patternProperties)) throw new NonStructuralSchemaError(path, 'patternProperties must be an object')
    const keys = Object.keys(patternProperties)
    if (keys.length !== 1 || keys[0] !== ANY_KEY) {
      throw new NonStructuralSchemaError(path, `patternProperties other than {"${ANY_KEY}": ...} cannot be expressed (got ${keys.map(k => JSON.stringify(k)).join(', ')}); validate keys with CEL instead`)
    }
    if (value !== undefined) throw new NonStructuralSchemaError(path, 'both additionalProperties and patternProperties')
    value = patternProperties[ANY_KEY]
  }
  return value
}

/** Only `name` and `generateName` may be constrained in a CRD's metadata; we constrain neither. */
function rootMetadata (node: unknown, path: string): StructuralSchema {
  if (!isObject(node) || node.type !== 'object' || Object.keys(node).some(k => k !== 'type' && k !== 'description')) {
    throw new NonStructuralSchemaError(path, 'metadata must be just {type: object}; validate the name with a CEL rule on the root')
  }
  return { type: 'object' }
}

/** A union of literals becomes an enum, the only union a structural schema has besides int-or-string. */
function literalUnion (branches: unknown, path: string): StructuralSchema {
  if (!Array.isArray(branches) || branches.length === 0) throw new NonStructuralSchemaError(path, 'anyOf must be a non-empty array')
  const values: unknown[] = []
  let type: StructuralSchema['type']
  for (const branch of branches) {
    if (!isObject(branch) || branch.const === undefined || Object.keys(branch).some(k => k !== 'const' && k !== 'type')) {
      throw new NonStructuralSchemaError(path, 'anyOf is only structural as a union of literals (becomes an enum) or as x-kubernetes-int-or-string')
    }
    const branchType = jsonType(branch.const, path)
    if (type !== undefined && type !== branchType) throw new NonStructuralSchemaError(path, 'a union of literals must have one type')
    type = branchType
    values.push(branch.const)
  }
  return { type, enum: values }
}

function intOrStringBranches (branches: unknown, path: string): StructuralSchema[] {
  const types = Array.isArray(branches) ? branches.map(b => isObject(b) && Object.keys(b).length === 1 ? b.type : undefined) : []
  if (types.length !== 2 || !types.includes('integer') || !types.includes('string')) {
    throw new NonStructuralSchemaError(path, 'x-kubernetes-int-or-string must be exactly anyOf: [{type: integer}, {type: string}]; put pattern on the node itself')
  }
  return [{ type: 'integer' }, { type: 'string' }]
}

function validations (value: unknown, path: string): NonNullable<StructuralSchema['x-kubernetes-validations']> {
  if (!Array.isArray(value) || value.length === 0) throw new NonStructuralSchemaError(path, 'x-kubernetes-validations must be a non-empty array')
  return value.map((v, i) => {
    if (!isObject(v) || typeof v.rule !== 'string' || v.rule.trim() === '') throw new NonStructuralSchemaError(path, `x-kubernetes-validations[${i}] needs a rule`)
    // Users only see the message; a rule without one reports the CEL source.
    if (typeof v.message !== 'string' && typeof v.messageExpression !== 'string') {
      throw new NonStructuralSchemaError(path, `x-kubernetes-validations[${i}] (${v.rule}) needs a message that says what to fix`)
    }
    const unknown = Object.keys(v).filter(k => !VALIDATION_KEYS.has(k))
    if (unknown.length > 0) throw new NonStructuralSchemaError(path, `x-kubernetes-validations[${i}] has unknown key(s) ${unknown.join(', ')}`)
    return v as { rule: string }
  })
}

function jsonType (value: unknown, path: string): StructuralSchema['type'] {
  switch (typeof value) {
    case 'string': return 'string'
    case 'boolean': return 'boolean'
    case 'number': return Number.isInteger(value) ? 'integer' : 'number'
    default: throw new NonStructuralSchemaError(path, `literal ${JSON.stringify(value)} is not a string, number or boolean`)
  }
}

function isObject (value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
