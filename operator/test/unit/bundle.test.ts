// The shipped operator is the esbuild bundle operator/dist/dawn-operator.mjs. bin/dawn-operator
// (what the tests and the bench start) and the image run that file with the same flags, and a
// bundle older than its inputs never runs: the bin rebuilds it first.
import { execFile } from 'node:child_process'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { BUNDLE_PATH, bundlePaths, ensureBundle, staleReason } from '../../scripts/bundle.ts'
import { OPERATOR_NODE_ARGS, OPERATOR_NODE_OPTIONS, imageSpecs } from '../../../images/spec.ts'

const run = promisify(execFile)
const BIN = join(bundlePaths.root, 'operator', 'bin', 'dawn-operator')

describe('the operator bundle', () => {
  it('bin/dawn-operator rebuilds a stale bundle before it runs, and leaves it fresh', async () => {
    await ensureBundle()
    expect(staleReason()).toBeUndefined()
    // Pretend an input changed since the build: its recorded hash no longer matches.
    const stamp = JSON.parse(readFileSync(bundlePaths.stamp, 'utf8')) as { inputs: Record<string, string> }
    const input = Object.keys(stamp.inputs).find(p => p.endsWith('operator/src/operator.ts'))
    expect(input).toBeDefined()
    stamp.inputs[input as string] = '0'.repeat(64)
    writeFileSync(bundlePaths.stamp, JSON.stringify(stamp))
    expect(staleReason()).toBe(`${input as string} changed since the bundle was built`)

    const { stdout, stderr } = await run(BIN, ['--help'], { cwd: '/', timeout: 60_000 })
    expect(stderr).toContain(`rebuilt ${BUNDLE_PATH} (${input as string} changed since the bundle was built)`)
    expect(stdout).toMatch(/^dawn-operator — /)
    expect(staleReason()).toBeUndefined()
  })

  it('a bundle edited after its build is stale', async () => {
    await ensureBundle()
    const original = readFileSync(bundlePaths.bundle)
    // By rename: another test may be starting the bundle meanwhile (images/test/bin-link.test.ts).
    const replace = (bytes: Buffer): void => {
      writeFileSync(`${bundlePaths.bundle}.test-tmp`, bytes)
      renameSync(`${bundlePaths.bundle}.test-tmp`, bundlePaths.bundle)
    }
    try {
      replace(Buffer.concat([original, Buffer.from('\n// edited\n')]))
      expect(staleReason()).toBe(`${BUNDLE_PATH} was changed after it was built`)
    } finally {
      replace(original)
    }
    expect(staleReason()).toBeUndefined()
  })

  it('uses neither fetch nor WebAssembly, which --lite-mode leaves out', async () => {
    await ensureBundle()
    const code = readFileSync(bundlePaths.bundle, 'utf8')
    expect(OPERATOR_NODE_ARGS).toContain('--lite-mode')
    expect(code).not.toMatch(/\bWebAssembly\b/)
    expect(code).not.toMatch(/(^|[^\w.])fetch\(|globalThis\.fetch/m)
  })

  it('the image runs the same file with the same V8 flags as bin/dawn-operator', () => {
    const spec = imageSpecs({ node: '24.0.0', kubo: 'v0' }).find(s => s.name.startsWith('docker.io/dawn/operator:'))
    expect(spec?.config.entrypoint).toEqual(['node', ...OPERATOR_NODE_ARGS, BUNDLE_PATH])
    expect(spec?.layers.flatMap(l => l.contents).filter(c => c.kind === 'operator-bundle' || c.kind === 'npm-deps' || c.kind === 'repo'))
      .toEqual([{ kind: 'operator-bundle', dir: '/app' }])
    const bin = readFileSync(BIN, 'utf8')
    expect(bin).toContain(`export NODE_OPTIONS="\${NODE_OPTIONS:-${OPERATOR_NODE_OPTIONS}}"`)
    expect(bin).toContain('bundle.ts" --ensure')
    expect(bin).toContain(`exec sh "$here/../../scripts/node.sh" ${OPERATOR_NODE_ARGS.join(' ')} "$here/../dist/dawn-operator.mjs" "$@"`)
    expect(spec?.config.env.NODE_OPTIONS).toBe(OPERATOR_NODE_OPTIONS)
  })
})
