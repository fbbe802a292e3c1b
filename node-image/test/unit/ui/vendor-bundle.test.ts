import { describe, it, expect } from 'vitest'
import { readFile } from 'node:fs/promises'
import { buildVendorFiles, VENDOR_DIR } from '../../../src/ui/vendor-build.ts'

describe('the page\'s vendor bundles', () => {
  it('are what a fresh build of the pinned packages gives (rebuild: sh scripts/node.sh scripts/ui-vendor.ts)', async () => {
    const built = await buildVendorFiles()
    expect([...built.keys()].sort()).toEqual(['mcp.js', 'ui-libs.js'])
    for (const [name, text] of built) {
      const committed = await readFile(new URL(name, VENDOR_DIR), 'utf8')
      expect(committed === text, `${name} is stale`).toBe(true)
    }
  }, 60_000)

  it('leave out the SDK\'s OAuth-only imports and never call eval', async () => {
    const mcp = await readFile(new URL('mcp.js', VENDOR_DIR), 'utf8')
    expect(mcp).not.toMatch(/from\s*"(jose|pkce-challenge|cross-spawn)"/)
    expect(mcp).toContain('pkce-challenge is not part of the chat page')
  })
})
