// npm installs the workspaces' bin scripts as symlinks in node_modules/.bin; the scripts
// must find the repository from their own location, not the link's.
import { execFile } from 'node:child_process'
import { lstat } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { REPO_ROOT } from '../inputs.ts'

const run = promisify(execFile)

describe('npm bin links', () => {
  for (const [bin, usage] of [['dawn-node', /^dawn-node — /], ['dawn-operator', /^dawn-operator — /]] as const) {
    it(`node_modules/.bin/${bin} --help runs the CLI`, async () => {
      const link = join(REPO_ROOT, 'node_modules', '.bin', bin)
      expect((await lstat(link)).isSymbolicLink()).toBe(true)
      // From another directory, so nothing depends on the caller's cwd either.
      const { stdout } = await run(link, ['--help'], { cwd: '/', timeout: 30_000 })
      expect(stdout).toMatch(usage)
    })
  }
})
