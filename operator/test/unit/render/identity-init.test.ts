// Runs the identity init container's script the way the kubelet would: the rendered env
// with $(VAR) expanded, a Secret volume of symlinks into ..data, and an empty directory.
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { spawnSync } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { V1Container } from '@kubernetes/client-node'
import { IDENTITY_INIT_SCRIPT } from '../../../src/render/identity-init.ts'
import { renderStatefulSet } from '../../../src/render/statefulset.ts'
import { IDENTITY_DIR, POOL_IDENTITY_DIR } from '../../../src/render/paths.ts'
import { network, pool } from './fixtures.ts'

const init = (): V1Container => {
  const sts = renderStatefulSet({ network: network(), pool: pool('a'), configChecksum: 'x' })
  const found = sts.spec?.template.spec?.initContainers?.find(c => c.name === 'identity-init')
  if (found === undefined) throw new Error('no identity-init container')
  return found
}

let dir = ''
let secretDir = ''
let copyDir = ''
const secret: Record<string, string> = {}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'identity-init-'))
  secretDir = join(dir, 'pool-identity')
  copyDir = join(dir, 'identity')
  await mkdir(join(secretDir, '..data'), { recursive: true })
  await mkdir(copyDir)
  for (const ordinal of [0, 1, 2]) {
    secret[`${ordinal}.key`] = `-----BEGIN PRIVATE KEY-----\nsecret-key-of-${ordinal}\n-----END PRIVATE KEY-----\n`
    secret[`${ordinal}.cert.json`] = `{"cert":"of-${ordinal}"}`
  }
  for (const [name, text] of Object.entries(secret)) {
    await writeFile(join(secretDir, '..data', name), text, { mode: 0o440 })
    await symlink(join('..data', name), join(secretDir, name))
  }
})

afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

/** The container's env as the kubelet hands it over, with the pod's paths moved under `dir`. */
function kubeletEnv (container: V1Container, ordinal: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const e of container.env ?? []) {
    const raw = e.valueFrom?.fieldRef !== undefined ? ordinal : e.value ?? ''
    env[e.name] = raw
      .replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole)
      .replace(POOL_IDENTITY_DIR, secretDir)
      .replace(IDENTITY_DIR, copyDir)
  }
  return env
}

function run (ordinal: string): { status: number | null, stdout: string, stderr: string } {
  const container = init()
  expect(container.command?.slice(0, 2)).toEqual(['/bin/sh', '-c'])
  const r = spawnSync('/bin/sh', ['-c', container.command?.[2] ?? ''], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...kubeletEnv(container, ordinal) }, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const mentionsKeyMaterial = (text: string): boolean => text.includes('secret-key-of-') || text.includes('"cert":')

describe('identity init script', () => {
  it('copies only this ordinal\'s key and certificate, as regular files of mode 0440', async () => {
    const r = run('1')
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' })
    expect((await readdir(copyDir)).sort()).toEqual(['node.cert.json', 'node.key'])
    expect(await readFile(join(copyDir, 'node.key'), 'utf8')).toBe(secret['1.key'])
    expect(await readFile(join(copyDir, 'node.cert.json'), 'utf8')).toBe(secret['1.cert.json'])
    for (const name of ['node.key', 'node.cert.json']) {
      expect((await lstat(join(copyDir, name))).isFile(), name).toBe(true)
      expect((await stat(join(copyDir, name))).mode & 0o777, name).toBe(0o440)
    }
  })

  it('replaces an earlier copy when the pod starts again', async () => {
    expect(run('1').status).toBe(0)
    await writeFile(join(secretDir, '..data', '1.cert.json'), '{"cert":"renewed"}')
    expect(run('1').status).toBe(0)
    expect(await readFile(join(copyDir, 'node.cert.json'), 'utf8')).toBe('{"cert":"renewed"}')
    expect((await readdir(copyDir)).sort()).toEqual(['node.cert.json', 'node.key'])
  })

  it('fails loudly, naming the file, when the ordinal has no identity yet', async () => {
    const r = run('7')
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('identity-init: ')
    expect(r.stderr).toContain('7.key is missing or empty')
    expect(await readdir(copyDir)).toEqual([])

    await rm(join(secretDir, '1.cert.json'))
    const noCert = run('1')
    expect(noCert.status).not.toBe(0)
    expect(noCert.stderr).toContain('1.cert.json is missing or empty')
    expect(await readdir(copyDir)).toEqual([])
  })

  it('refuses an ordinal that is not a number instead of reading another path', async () => {
    for (const ordinal of ['', '../pool-identity/0', '1 2']) {
      const r = run(ordinal)
      expect(r.status, ordinal).not.toBe(0)
      expect(r.stderr, ordinal).toContain('not a pod ordinal')
    }
    expect(await readdir(copyDir)).toEqual([])
  })

  it('never prints key material', async () => {
    // Ordinal 2 fails on its missing certificate while its key is there to be printed.
    await rm(join(secretDir, '2.cert.json'))
    for (const ordinal of ['0', '2', '7', 'x']) {
      const r = run(ordinal)
      expect(mentionsKeyMaterial(r.stdout + r.stderr), ordinal).toBe(false)
    }
    expect(IDENTITY_INIT_SCRIPT).not.toContain('set -x')
  })

  it('leaves nothing for the kubelet to expand: $(...) in a command is substituted before sh sees it', () => {
    expect(IDENTITY_INIT_SCRIPT).not.toContain('$(')
  })
})
