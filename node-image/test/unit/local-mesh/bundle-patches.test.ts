import { afterEach, describe, expect, it } from 'vitest'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import * as esbuild from 'esbuild'
import { BUNDLE_PATCHES, BundlePatchError, patchPlugin, type BundlePatch } from '../../../src/local-mesh/bundle-patches.ts'

async function bundle (root: string, patches: BundlePatch[]): Promise<{ text: string, check: () => void }> {
  const { plugin, check } = patchPlugin(patches)
  const out = await esbuild.build({ entryPoints: [join(root, 'main.js')], bundle: true, write: false, format: 'esm', logLevel: 'silent', plugins: [plugin] })
  return { text: out.outputFiles[0]!.text, check }
}

describe('bundle patches', () => {
  let root = ''
  afterEach(async () => { await rm(root, { recursive: true, force: true }) })

  it('patches the files a patch names, and fails a build whose patch no longer matches', async () => {
    root = await mkdtemp(join(tmpdir(), 'dawn-patch-'))
    await writeFile(join(root, 'main.js'), "import { f } from './lib/dep.js'\nconsole.log(f())\n")
    await mkdir(join(root, 'lib'), { recursive: true })
    await writeFile(join(root, 'lib', 'dep.js'), 'export function f () { return "slow" }\n')
    const patch = { name: 'p', why: 'test', file: /[\\/]lib[\\/]dep\.js$/, find: 'return "slow"', replace: 'return "fast"' }
    const ok = await bundle(root, [patch])
    expect(ok.text).toContain('"fast"')
    expect(ok.text).not.toContain('"slow"')
    expect(() => { ok.check() }).not.toThrow()

    const stale = bundle(root, [{ ...patch, find: 'return "gone"' }])
    await expect(stale).rejects.toThrow(/bundle patch p matches 0 times/)
    const unmatched = await bundle(root, [{ ...patch, file: /[\\/]nowhere\.js$/ }])
    expect(() => { unmatched.check() }).toThrow(BundlePatchError)
  })

  it('the length-prefixed decoder patch still matches the installed @libp2p/utils exactly once', async () => {
    const patch = BUNDLE_PATCHES.find(p => p.name === 'length-prefixed-decoder-empty-buffer')
    if (patch === undefined) throw new Error('patch not shipped')
    const file = join(dirname(createRequire(import.meta.url).resolve('@libp2p/utils')), 'length-prefixed-decoder.js')
    expect(patch.file.test(file)).toBe(true)
    expect((await readFile(file, 'utf8')).split(patch.find).length - 1).toBe(1)
  })
})
