import { describe, it, expect } from 'vitest'
import Type from 'typebox'
import { toStructuralSchema, NonStructuralSchemaError } from '../../../src/api/crd-schema.ts'

const fails = (schema: unknown, pattern: RegExp): void => {
  let error: unknown
  try { toStructuralSchema(schema) } catch (e) { error = e }
  expect(error).toBeInstanceOf(NonStructuralSchemaError)
  expect((error as Error).message).toMatch(pattern)
}

describe('toStructuralSchema', () => {
  it('strips additionalProperties: false and keeps value validations', () => {
    const schema = Type.Object({
      name: Type.String({ minLength: 1, maxLength: 10, pattern: '^[a-z]+$', description: 'a name' }),
      count: Type.Integer({ minimum: 1, maximum: 5 }),
      ratio: Type.Optional(Type.Number({ exclusiveMinimum: 0 }))
    }, { additionalProperties: false })
    expect(toStructuralSchema(schema)).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 10, pattern: '^[a-z]+$', description: 'a name' },
        count: { type: 'integer', minimum: 1, maximum: 5 },
        ratio: { type: 'number', minimum: 0, exclusiveMinimum: true }
      },
      required: ['name', 'count']
    })
  })

  it('turns a union of string literals into an enum, and const into a one-value enum', () => {
    const schema = Type.Object({
      policy: Type.Union([Type.Literal('required'), Type.Literal('preferred')], { default: 'required', description: 'p' }),
      version: Type.Literal(1)
    })
    const out = toStructuralSchema(schema)
    expect(out.properties?.policy).toEqual({ type: 'string', enum: ['required', 'preferred'], default: 'required', description: 'p' })
    expect(out.properties?.version).toEqual({ type: 'number', enum: [1] })
  })

  it('turns Record<string, X> into additionalProperties: X', () => {
    const out = toStructuralSchema(Type.Record(Type.String(), Type.String({ maxLength: 3 })))
    expect(out).toEqual({ type: 'object', additionalProperties: { type: 'string', maxLength: 3 } })
  })

  it('keeps int-or-string with the pattern on the node itself', () => {
    const schema = Type.Unsafe({ anyOf: [{ type: 'integer' }, { type: 'string' }], pattern: '^[0-9]+$', 'x-kubernetes-int-or-string': true })
    expect(toStructuralSchema(schema)).toEqual({ anyOf: [{ type: 'integer' }, { type: 'string' }], pattern: '^[0-9]+$', 'x-kubernetes-int-or-string': true })
  })

  it('keeps x-kubernetes extensions, preserved objects without a value schema, and list types', () => {
    const schema = Type.Object({
      settings: Type.Record(Type.String(), Type.Unknown(), { 'x-kubernetes-preserve-unknown-fields': true }),
      items: Type.Array(Type.Object({ key: Type.String() }), { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['key'] })
    }, { 'x-kubernetes-validations': [{ rule: 'self.items.size() < 3', message: 'at most 2 items' }] })
    expect(toStructuralSchema(schema)).toEqual({
      type: 'object',
      properties: {
        settings: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        items: { type: 'array', items: { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['key'] }
      },
      required: ['settings', 'items'],
      'x-kubernetes-validations': [{ rule: 'self.items.size() < 3', message: 'at most 2 items' }]
    })
  })

  it('writes a parent default in full and does not require defaulted fields', () => {
    const schema = Type.Object({
      ports: Type.Object({ p2p: Type.Integer({ default: 4001 }), http: Type.Integer({ default: 8080 }), extra: Type.Optional(Type.String()) }, { default: {} })
    })
    const out = toStructuralSchema(schema)
    // The API server checks a default (and runs CEL on it) before defaulting its children.
    expect(out.properties?.ports?.default).toEqual({ p2p: 4001, http: 8080 })
    expect(out.properties?.ports?.required).toBeUndefined()
    expect(out.required).toBeUndefined()
  })

  it('at the root, allows metadata only as {type: object} and drops apiVersion/kind/metadata from required', () => {
    const schema = Type.Object({ apiVersion: Type.String(), kind: Type.String(), metadata: Type.Unsafe({ type: 'object' }), spec: Type.Object({}) })
    const out = toStructuralSchema(schema, { root: true })
    expect(out.properties?.metadata).toEqual({ type: 'object' })
    expect(out.required).toEqual(['spec'])
    let error: unknown
    try {
      toStructuralSchema(Type.Object({ metadata: Type.Object({ name: Type.String() }) }), { root: true })
    } catch (e) { error = e }
    expect((error as Error).message).toMatch(/metadata: metadata must be just \{type: object\}/)
  })

  it('fails loudly, naming the path, on anything non-structural', () => {
    fails(Type.Object({ a: Type.Unknown() }), /^a: every field needs a type/)
    fails(Type.Object({ a: Type.Union([Type.String(), Type.Integer()]) }), /^a: anyOf is only structural/)
    fails(Type.Object({ a: Type.Union([Type.Literal('x'), Type.Literal(1)]) }), /^a: a union of literals must have one type/)
    fails({ type: 'object', oneOf: [{ type: 'string' }] }, /keyword "oneOf" has no structural equivalent/)
    fails({ type: 'object', properties: { b: { type: 'string', $ref: '#/x' } } }, /^b: keyword "\$ref"/)
    fails(Type.Record(Type.String({ pattern: '^[a-z]+$' }), Type.String()), /patternProperties other than/)
    fails(Type.Tuple([Type.String(), Type.Integer()]), /tuple items|keyword/)
    fails({ type: 'array', items: { type: 'string' }, uniqueItems: true }, /keyword "uniqueItems"/)
    fails({ type: 'object', additionalProperties: true }, /additionalProperties: true is not structural/)
    fails({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } }, /cannot be combined/)
    fails({ type: 'object', 'x-kubernetes-validations': [{ rule: 'true' }] }, /needs a message that says what to fix/)
    fails({ type: 'object', 'x-kubernetes-frobnicate': true }, /unknown Kubernetes extension/)
    fails({ type: ['string', 'null'] }, /type must be one of/)
    fails({ type: 'array' }, /an array needs an items schema/)
    fails({ type: 'object', required: ['missing'] }, /required field "missing" has no schema/)
  })

  it('does not modify its input', () => {
    const schema = Type.Object({ a: Type.String() }, { additionalProperties: false })
    const before = JSON.stringify(schema)
    toStructuralSchema(schema)
    expect(JSON.stringify(schema)).toBe(before)
  })
})
