import { describe, it, expect } from 'vitest'
// @ts-expect-error the page's modules are plain JavaScript, served as they are
import { fieldOf, initialValue, collect, itemField } from '../../../src/ui/forms/json-schema.js'

interface Field { kind: string, label: string, required: boolean, children?: Field[], options?: Array<{ label: string, text: string }> }
const form = fieldOf as (schema: unknown) => Field
const start = initialValue as (f: Field) => Record<string, unknown>
const read = collect as (f: Field, v: unknown) => { value: unknown, errors: Record<string, string> }

describe('forms from a tool\'s input schema', () => {
  const schema = {
    type: 'object',
    properties: {
      message: { type: 'string', title: 'Message', minLength: 2 },
      count: { type: 'integer', minimum: 1, maximum: 5, default: 2 },
      ratio: { type: 'number' },
      mode: { type: 'string', enum: ['fast', 'slow'] },
      hero: { type: 'string', oneOf: [{ const: 'h1', title: 'Superman' }, { const: 'h2', title: 'Wonder Woman' }] },
      loud: { type: 'boolean' },
      tags: { type: 'array', items: { type: 'string' }, minItems: 1 },
      colours: { type: 'array', items: { enum: ['red', 'blue'] } },
      where: { $ref: '#/$defs/place' },
      note: { type: ['string', 'null'] },
      anything: {}
    },
    required: ['message', 'mode', 'tags', 'where'],
    $defs: { place: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }
  }

  it('gives each property the control its type asks for, required ones marked', () => {
    const root = form(schema)
    expect(root.children!.map(c => [c.label, c.kind, c.required])).toEqual([
      ['Message', 'string', true], ['count', 'integer', false], ['ratio', 'number', false], ['mode', 'enum', true],
      ['hero', 'enum', false], ['loud', 'boolean', false], ['tags', 'array', true], ['colours', 'multi', false],
      ['where', 'object', true], ['note', 'string', false], ['anything', 'json', false]
    ])
    expect(root.children![4]!.options!.map(o => o.label)).toEqual(['Superman', 'Wonder Woman'])
    expect(root.children![8]!.children!.map(c => [c.label, c.required])).toEqual([['city', true]])
  })

  it('refuses what the schema refuses, field by field, before anything is sent', () => {
    const root = form(schema)
    const v = { ...start(root), message: 'x', count: '9', ratio: 'abc', mode: 'medium', tags: [], where: { city: '' }, anything: '{bad' }
    expect(read(root, v).errors).toEqual({
      message: 'needs at least 2 characters',
      count: 'must be at most 5',
      ratio: 'must be a number',
      mode: 'choose one of: fast, slow',
      tags: 'needs at least 1 item',
      'where.city': 'required',
      anything: expect.stringMatching(/^not valid JSON/)
    })
  })

  it('turns the form\'s text into typed arguments, leaving out empty optional fields', () => {
    const root = form(schema)
    const v = { ...start(root), message: 'hello', mode: 'slow', hero: 'h2', loud: true, tags: ['a', 'b'], colours: ['blue'], where: { city: 'Lisbon' }, anything: '{"k":[1]}' }
    expect(read(root, v)).toEqual({
      value: { message: 'hello', count: 2, mode: 'slow', hero: 'h2', loud: true, tags: ['a', 'b'], colours: ['blue'], where: { city: 'Lisbon' }, anything: { k: [1] } },
      errors: {}
    })
  })

  it('gives array items their own paths, so nested errors point at the right item', () => {
    const root = form({ type: 'object', properties: { rows: { type: 'array', items: { type: 'object', properties: { n: { type: 'number' } }, required: ['n'] } } } })
    const rows = root.children![0]!
    expect((itemField as (f: Field, i: number) => { path: unknown[] })(rows, 1).path).toEqual(['rows', 1])
    expect(read(root, { rows: [{ n: '1' }, { n: '' }] }).errors).toEqual({ 'rows.1.n': 'required' })
  })

  it('stops at a reference cycle instead of recursing forever', () => {
    const root = form({ type: 'object', properties: { node: { $ref: '#/$defs/n' } }, $defs: { n: { type: 'object', properties: { next: { $ref: '#/$defs/n' } } } } })
    expect(root.children![0]!.children![0]!.kind).toBe('json')
  })
})
