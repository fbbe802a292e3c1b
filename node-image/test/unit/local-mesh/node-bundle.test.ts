import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { buildNodeBundle, bundleStaleReason, ensureNodeBundle, type BundleLayout } from '../../../src/local-mesh/node-bundle.ts'

/** A two-file program bundled the way the node is, so staleness can be seen without touching the node's sources. */
async function tinyTree (): Promise<BundleLayout> {
  const root = await mkdtemp(join(tmpdir(), 'dawn-bundle-'))
  await writeFile(join(root, 'main.ts'), "import { word } from './word.ts'\nconst n: number = 2\nprocess.stdout.write(`${word} ${n}`)\n")
  await writeFile(join(root, 'word.ts'), "export const word: string = 'one'\n")
  return { root, entry: join(root, 'main.ts'), out: join(root, 'dist', 'out.mjs') }
}

describe('the node bundle', () => {
  let layout: BundleLayout | undefined
  afterEach(async () => { if (layout !== undefined) await rm(layout.root, { recursive: true, force: true }) })

  it('is stale until built, fresh after, and stale again when any input changes', async () => {
    layout = await tinyTree()
    expect(await bundleStaleReason(layout)).toBe('no bundle built yet')
    await buildNodeBundle(layout)
    expect(await bundleStaleReason(layout)).toBeUndefined()
    expect(execFileSync(process.execPath, [layout.out]).toString()).toBe('one 2')

    await writeFile(join(layout.root, 'word.ts'), "export const word: string = 'two'\n")
    expect(await bundleStaleReason(layout)).toBe('word.ts changed')
    const logs: string[] = []
    await ensureNodeBundle(m => { logs.push(m) }, layout)
    expect(logs[0]).toBe('building the node bundle (word.ts changed)')
    expect(execFileSync(process.execPath, [layout.out]).toString()).toBe('two 2')
    expect(await bundleStaleReason(layout)).toBeUndefined()

    await rm(layout.out)
    expect(await bundleStaleReason(layout)).toBe('dist/out.mjs is missing')
  })

  it('builds the same bytes from the same inputs', async () => {
    layout = await tinyTree()
    await buildNodeBundle(layout)
    const first = await readFile(layout.out)
    await buildNodeBundle(layout)
    expect((await readFile(layout.out)).equals(first)).toBe(true)
  })
})
