/**
 * The node bundle of another build, for the benches that compare this tree with it:
 * a git revision built in a throwaway worktree (with this checkout's node_modules), or
 * a bundle file as given.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, stat, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { NODE_BUNDLE_LAYOUT, NODE_BUNDLE_PATH } from '../src/local-mesh/node-bundle.ts'

/** The bundle of a revision, built in a throwaway worktree; or a bundle file as given. */
export async function bundleOf (against: string): Promise<{ bundle: string, cleanup: () => Promise<void> }> {
  const asPath = resolve(against)
  if (await stat(asPath).then(s => s.isFile(), () => false)) return { bundle: asPath, cleanup: async () => {} }
  const repo = NODE_BUNDLE_LAYOUT.root
  const dir = await mkdtemp(join(tmpdir(), 'dawn-rev-'))
  const tree = join(dir, 'tree')
  const cleanup = async (): Promise<void> => {
    try {
      execFileSync('git', ['-C', repo, 'worktree', 'remove', '--force', tree], { stdio: 'ignore' })
    } catch {
      // Never created, or already gone: the directory goes below either way.
    }
    await rm(dir, { recursive: true, force: true })
  }
  try {
    execFileSync('git', ['-C', repo, 'worktree', 'add', '--detach', tree, against], { stdio: 'ignore' })
    await symlink(join(repo, 'node_modules'), join(tree, 'node_modules'))
    process.stdout.write(`building the node bundle of ${against}...\n`)
    execFileSync(process.execPath, ['--disable-warning=ExperimentalWarning', join(tree, 'scripts', 'bundle-node.ts')], { cwd: tree, stdio: 'ignore' })
    return { bundle: join(tree, NODE_BUNDLE_PATH), cleanup }
  } catch (err) {
    await cleanup()
    throw new Error(`could not build the node bundle of ${against}: ${(err as Error).message}`, { cause: err })
  }
}
