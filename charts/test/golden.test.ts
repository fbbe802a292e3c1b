// Golden renderings of charts/dawn, one per value combination (charts/test/golden/).
// Regenerate after an intended change with: UPDATE_GOLDEN=1 npm run test:unit -- charts/test
// CRDs are stubbed out (generated.test.ts checks them against the API types).
import { describe, it, expect } from 'vitest'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CASES, template } from './support.ts'

const GOLDEN = join(import.meta.dirname, 'golden')
const UPDATE = process.env.UPDATE_GOLDEN === '1'

/** Replaces each CRD document by one line naming it. */
function stubCrds (text: string): string {
  return text.split(/^---$/m).map(doc => {
    const name = /^kind: CustomResourceDefinition$/m.test(doc) ? /^ {2}name: (\S+)$/m.exec(doc)?.[1] : undefined
    if (name === undefined) return doc
    const source = /^# Source: .*$/m.exec(doc)?.[0] ?? ''
    return `\n${source}\n# CustomResourceDefinition ${name} (generated; checked by charts/test/generated.test.ts)\n`
  }).join('---')
}

describe('helm template charts/dawn (golden)', () => {
  it.each(Object.entries(CASES))('%s', async (name, args) => {
    const file = join(GOLDEN, `${name}.yaml`)
    const header = `# helm template dawn charts/dawn --namespace dawn-system ${args.map(a => a.replace(/^.*\/charts\//, 'charts/')).join(' ')}\n`.replace(' \n', '\n')
    const text = header + stubCrds(await template(args))
    if (UPDATE) {
      await mkdir(GOLDEN, { recursive: true })
      await writeFile(file, text)
      return
    }
    const golden = await readFile(file, 'utf8').catch(() => '(missing)')
    expect(text, `charts/test/golden/${name}.yaml differs; if the change is intended, regenerate with: UPDATE_GOLDEN=1 npm run test:unit -- charts/test`).toBe(golden)
  })
})
