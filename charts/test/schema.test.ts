// values.schema.json: closed at every level, typed, and helm enforces it with a clear message.
import { describe, it, expect } from 'vitest'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CRDS_CHART, DAWN_CHART, templateResult } from './support.ts'

interface Schema { type?: string, additionalProperties?: boolean | Schema, properties?: Record<string, Schema>, items?: Schema, definitions?: Record<string, Schema>, anyOf?: Schema[], $ref?: string }

/** Paths of object schemas that accept keys they do not name (string maps excepted). */
function openObjects (s: Schema, path: string): string[] {
  const found: string[] = []
  if (s.type === 'object') {
    const ap = s.additionalProperties
    const stringMap = typeof ap === 'object' && ap.type === 'string' && s.properties === undefined
    if (ap !== false && !stringMap) found.push(path)
  }
  for (const [k, v] of Object.entries(s.properties ?? {})) found.push(...openObjects(v, `${path}.${k}`))
  for (const [k, v] of Object.entries(s.definitions ?? {})) found.push(...openObjects(v, `#/definitions/${k}`))
  if (s.items !== undefined) found.push(...openObjects(s.items, `${path}[]`))
  for (const [i, v] of (s.anyOf ?? []).entries()) found.push(...openObjects(v, `${path}|${i}`))
  return found
}

describe('values.schema.json', () => {
  it.each([DAWN_CHART, CRDS_CHART])('%s: every object is closed (additionalProperties false) or a map of strings', async dir => {
    const schema = JSON.parse(await readFile(join(dir, 'values.schema.json'), 'utf8')) as Schema
    expect(openObjects(schema, '$')).toEqual([])
  })

  it('rejects an unknown top-level key', async () => {
    const r = await templateResult(['--set', 'replica=3'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('values don\'t meet the specifications of the schema')
    expect(r.stderr).toContain('additional properties \'replica\' not allowed')
  })

  it('rejects an unknown nested key', async () => {
    const r = await templateResult(['--set', 'image.registry=example.com'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/at '\/image': additional properties 'registry' not allowed/)
  })

  it('rejects a wrong type', async () => {
    const r = await templateResult(['--set', 'replicas=two'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/at '\/replicas': got string, want integer/)
    const b = await templateResult(['--set-string', 'crds.install=yes'])
    expect(b.code).not.toBe(0)
    expect(b.stderr).toMatch(/at '\/crds\/install': got string, want boolean/)
  })

  it('rejects a value outside its enum', async () => {
    const r = await templateResult(['--set', 'logLevel=verbose'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/at '\/logLevel'/)
  })

  it('the CRD chart rejects unknown keys too', async () => {
    const r = await templateResult(['--set', 'foo=1'], CRDS_CHART)
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('additional properties \'foo\' not allowed')
  })

  it('refuses several replicas without leader election', async () => {
    const r = await templateResult(['--set', 'leaderElection.enabled=false'])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('replicas > 1 needs leaderElection.enabled')
    expect((await templateResult(['--set', 'leaderElection.enabled=false', '--set', 'replicas=1'])).code).toBe(0)
  })
})
