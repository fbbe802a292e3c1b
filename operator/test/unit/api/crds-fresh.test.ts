import { describe, it, expect } from 'vitest'
import { readFile, readdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { GEN_CRDS_COMMAND, renderCrdFiles } from '../../../src/api/crds.ts'

const CRD_DIR = resolve(import.meta.dirname, '..', '..', '..', '..', 'crds')

describe('checked-in CRDs', () => {
  const files = renderCrdFiles()

  it.each([...files.keys()])('crds/%s matches the schemas in operator/src/api', async name => {
    const current = await readFile(join(CRD_DIR, name), 'utf8').catch(() => '(missing)')
    if (current !== files.get(name)) {
      expect.fail(`crds/${name} is stale (the API schemas changed); regenerate it with: ${GEN_CRDS_COMMAND}`)
    }
  })

  it('has no CRD files the generator does not produce', async () => {
    const present = (await readdir(CRD_DIR)).filter(f => f.endsWith('.yaml'))
    const stray = present.filter(f => !files.has(f))
    expect(stray, `remove stray file(s) from crds/ or add them to the generator (${GEN_CRDS_COMMAND})`).toEqual([])
  })
})
